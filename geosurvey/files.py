"""Atomic writes: a reader sees the old file (or no folder) or the whole new one, never
half.

Every file or folder the library writes that another run may read (results, checkpoints,
cache entries) goes through here. Two processes finishing the same entry at once both
succeed and leave one complete copy: the loser of the race throws its own copy away.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_path(path):
    """Yield a temporary file path beside ``path``; it replaces ``path`` when the block
    succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(
            tmp, 0o666 & ~_UMASK
        )  # mkstemp makes files private; outputs get the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def torch_save(obj, path) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


@contextmanager
def atomic_folder(target):
    """Yield a temporary folder that becomes ``target`` when the block succeeds.

    If ``target`` appeared meanwhile (another process built the same entry), ours is
    discarded: entries are keyed by their inputs, so both copies are the same.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        os.rename(
            tmp, target
        )  # fails if target exists and is not empty: never merges two copies
    except OSError:
        if not target.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        shutil.rmtree(tmp, ignore_errors=True)
