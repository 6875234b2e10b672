"""Where a run's time goes: named spans of wall time, each counted once.

``with timings.span("job planet-middle"):`` adds the seconds spent inside it to that
name, less the time spent in spans opened within it, which are counted under their
own names joined by ``/`` (``job planet-middle/validation``). Where
``$GEOSURVEY_TIMINGS`` names a folder, each outermost span that ends rewrites
``<folder>/<process id>.json`` with the totals so far; ``tools/profile.py`` reads them
beside the notebook's own cell times. Unset, nothing is written.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

from .files import write_text

ENV = "GEOSURVEY_TIMINGS"
SECONDS: dict = defaultdict(float)
_OPEN: list = []  # [name, start, seconds of the spans inside it] of each open span


@contextmanager
def span(name: str):
    path = "/".join([*(s[0] for s in _OPEN[-1:]), name])
    _OPEN.append([path, time.perf_counter(), 0.0])
    try:
        yield
    finally:
        path, start, inner = _OPEN.pop()
        total = time.perf_counter() - start
        SECONDS[path] += total - inner
        if _OPEN:
            _OPEN[-1][2] += total
        else:
            _save()


def _save() -> None:
    folder = os.environ.get(ENV)
    if folder:
        totals = {k: round(v, 3) for k, v in SECONDS.items()}
        write_text(Path(folder) / f"{os.getpid()}.json", json.dumps(totals, indent=1))
