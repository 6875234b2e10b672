"""A small on-disk cache for expensive intermediate results, keyed by their inputs.

Entries live under ``$GEOSURVEY_CACHE`` (default ``data/cache`` in the repository) in folders named
``<kind>-<hash of the parameters>``; each folder is written to a temporary name and renamed, so a
run stopped half-way never leaves an entry that looks complete. Chapters share entries: the
tiles and frozen features that chapter 1 computes are read back by later chapters.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

ROOT_ENV = "GEOSURVEY_CACHE"


def cache_root() -> Path:
    default = Path(__file__).resolve().parent.parent / "data" / "cache"
    return Path(os.environ.get(ROOT_ENV, default))


def key(params: dict) -> str:
    """Stable 12-hex-digit hash of JSON-serialisable parameters."""
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha1(blob).hexdigest()[:12]


def entry(kind: str, params: dict) -> Path:
    return cache_root() / f"{kind}-{key(params)}"


class Writer:
    """Context manager giving a temporary folder that becomes ``target`` only on success."""

    def __init__(self, target: Path):
        self.target = Path(target)

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(dir=self.target.parent, prefix=f".{self.target.name}."))
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        if self.target.exists():  # another process finished first: keep theirs
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            os.replace(self.tmp, self.target)
        return False
