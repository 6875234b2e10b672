"""Prose computed from the run: every number or verdict a chapter's text states comes from here.

Chapters ``glue`` values (myst-nb) and cite them in markdown as ``{glue:text}`name:.1f``` (numbers)
or ``{glue:md}`name``` (sentences), or print whole sentences from a code cell with :func:`say`.
A re-run with another seed or profile therefore cannot leave stale text behind.
"""

from __future__ import annotations

import numbers


def glue(name: str, value, display: bool = False):
    """Record ``value`` under ``name`` for the text; strings are glued as Markdown."""
    from IPython.display import Markdown
    from myst_nb import glue as _glue

    if isinstance(value, str):
        value = Markdown(value)
    elif isinstance(value, numbers.Number) and not isinstance(value, bool):
        value = float(value) if not isinstance(value, numbers.Integral) else int(value)
    _glue(name, value, display=display)
    return value


def safe(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in str(text)).strip("_")


def say(text: str) -> None:
    """Show generated Markdown (a sentence or paragraph built from this run's numbers)."""
    from IPython.display import Markdown, display

    display(Markdown(text))


def claims_markdown(claims) -> str:
    """A bullet list of claims with their verdicts and intervals."""
    return "\n".join(f"* {c.claim}{f' ({c.source})' if c.source else ''}: {c.sentence()}" for c in claims)
