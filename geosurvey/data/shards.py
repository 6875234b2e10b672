"""MessagePack image shards, as GeoEstimation stores MP-16: files ``shard_<N>.msg``,
each a stream of records ``{"id": "e1/55/4763369508.jpg", "image": <JPEG bytes>}``.

A shard has no table of contents, so :func:`index` reads every shard once, noting each
record's id, byte offset and size (``msgpack.Unpacker.tell()`` after each record), and
caches that index on disk keyed by the shards' names, sizes and modification times: a
changed or added shard is indexed again. :func:`read_image_bytes` then seeks to one
record and reads exactly its bytes, so DataLoader workers read records in any order.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .. import cache, files
from .images import ImageDecodeError

SHARD_NAME = re.compile(r"shard_(\d+)\.msg")
ID_KEY, IMAGE_KEY = (
    b"id",
    b"image",
)  # record keys (read as raw bytes: old writers stored text as bytes)


def shard_files(folder) -> list:
    """``shard_<N>.msg`` files in ``folder``, by N."""
    found = [
        (int(m.group(1)), p)
        for p in Path(folder).iterdir()
        if (m := SHARD_NAME.fullmatch(p.name))
    ]
    return [p for _, p in sorted(found)]


def _records(shard: Path):
    """``(id, offset, size)`` of every record of one shard, in file order."""
    import msgpack

    with open(shard, "rb") as f:
        unpacker = msgpack.Unpacker(f, raw=True, max_buffer_size=1 << 30)
        start = unpacker.tell()
        try:
            for record in unpacker:
                end = unpacker.tell()
                if isinstance(record, dict) and ID_KEY in record:
                    key = record[ID_KEY]
                    key = key.decode() if isinstance(key, bytes) else str(key)
                    yield key, start, end - start
                start = end
        except (ValueError, msgpack.UnpackException) as exc:
            raise ImageDecodeError(
                shard, f"not a stream of MessagePack records at byte {start} ({exc})"
            ) from exc


def _build(shards: list) -> pd.DataFrame:
    parts = []
    for i, shard in enumerate(shards):
        rows = list(_records(shard))
        ids, offsets, sizes = zip(*rows) if rows else ((), (), ())
        parts.append(
            pd.DataFrame(
                {
                    "id": pd.Series(ids, dtype=str),
                    "shard": np.full(len(rows), i, np.int32),
                    "offset": np.asarray(offsets, np.int64),
                    "size": np.asarray(sizes, np.int64),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def index(folder) -> pd.DataFrame:
    """One row per record of the shards in ``folder``: ``id``, ``path`` (the shard),
    ``offset`` and ``size`` in bytes; built once and cached (see the module doc)."""
    shards = shard_files(folder)
    if not shards:
        raise FileNotFoundError(f"{folder}: no MessagePack shards (shard_<N>.msg)")
    stats = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in shards]
    entry = cache.entry(
        "msgpack-index", {"folder": str(Path(folder).resolve()), "shards": stats}
    )
    if not entry.exists():
        with files.atomic_folder(entry) as tmp:
            _build(shards).to_parquet(tmp / "index.parquet", index=False)
    table = pd.read_parquet(entry / "index.parquet")
    names = np.array([str(p) for p in shards], dtype=object)
    return table.assign(path=names[table.pop("shard").to_numpy()])[
        ["id", "path", "offset", "size"]
    ]


def read_image_bytes(shard, offset: int, size: int) -> bytes:
    """The encoded image of the record at ``offset`` (``size`` bytes) of ``shard``;
    offset -1 stands for an id that no shard in the folder ``shard`` holds."""
    import msgpack

    if offset < 0:
        raise ImageDecodeError(
            shard, "no record with this id in its MessagePack shards"
        )
    where = f"{shard} at byte {offset}"
    try:
        with open(shard, "rb") as f:
            f.seek(offset)
            record = msgpack.unpackb(f.read(size), raw=True)
        return record[IMAGE_KEY]
    except FileNotFoundError:
        raise ImageDecodeError(where, "shard not found") from None
    except (OSError, ValueError, KeyError, TypeError, msgpack.UnpackException) as exc:
        raise ImageDecodeError(
            where, f"no readable record with an image ({exc!r})"
        ) from exc
