"""A small on-disk cache for expensive intermediate results, keyed by their inputs.

Entries live under ``$GEOSURVEY_CACHE`` (default ``data/cache`` in the repository) in
folders named ``<kind>-<hash of the parameters>``, written atomically
(:mod:`geosurvey.files`). Chapters share entries: the tiles and frozen features that
chapter 1 computes are read back by later chapters.

A key must change whenever anything that determines the entry changes, and must be the
same in every process. So :func:`key` hashes arrays by their bytes, objects by a repr
that carries their parameters, and refuses a repr that only names a memory address (it
would differ every run).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np

ROOT_ENV = "GEOSURVEY_CACHE"
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")


def cache_root() -> Path:
    default = Path(__file__).resolve().parent.parent / "data" / "cache"
    return Path(os.environ.get(ROOT_ENV, default))


def fingerprint(array) -> str:
    """Digest of an array's dtype, shape and bytes (16 hex digits)."""
    a = np.ascontiguousarray(np.asarray(array))
    if a.dtype == object:
        return hashlib.sha1(json.dumps(a.tolist(), default=str).encode()).hexdigest()[
            :16
        ]
    h = hashlib.sha1(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.view(np.uint8).reshape(-1) if a.size else b"")
    return h.hexdigest()[:16]


def described(value) -> str:
    """``repr(value)``, refused when it names a memory address (it would differ every
    run)."""
    text = repr(value)
    if _ADDRESS.search(text):
        raise TypeError(
            f"cannot key {text}: its repr names a memory address, not its parameters"
        )
    return text


def _canonical(value):
    if isinstance(value, np.ndarray):
        return {"array": fingerprint(value)}
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    return str(value) if isinstance(value, Path) else described(value)


def key(params: dict) -> str:
    """Stable 12-hex-digit hash of the parameters (see the module doc for what is
    allowed)."""
    blob = json.dumps(params, sort_keys=True, default=_canonical).encode()
    return hashlib.sha1(blob).hexdigest()[:12]


def entry(kind: str, params: dict) -> Path:
    return cache_root() / f"{kind}-{key(params)}"
