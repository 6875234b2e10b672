"""Tools that build, check and measure the book; they stand beside the library and
are run from the repository's root (``python -m tools.book``, ``python -m
tools.checkbook``, ``python -m tools.bench``; the Makefile's ``book``, ``check-book``
and ``bench`` targets)."""
