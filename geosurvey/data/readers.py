"""Readers for paper-scale photo datasets under a user's ``data_root``.

* OpenStreetView-5M: ``<root>/<split>.csv`` (id, latitude, longitude, country, ...) with images
  at ``<root>/images/<split>/<id>.jpg`` or one folder deeper (the release unpacks zip shards
  into sub-folders).
* im2gps / im2gps3k / yfcc4k-style metadata: a CSV with ``IMG_ID, LAT, LON, ...`` and a folder of
  images named by ``IMG_ID``.
* Any folder of images plus a CSV naming each file and its coordinates.

Tables go through the strict reader (:mod:`geosurvey.data.tables`). Images are checked once when
the set is read: a missing, truncated, corrupt or non-image file is *skipped* and reported in the
set's ``skipped`` list with its reason, so a few bad files never cost a run; more than
``tolerance`` of the set (default 1 %) is an error listing them, so many never go unnoticed.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from .images import ImageDecodeError, read_image
from .places import continents, countries
from .sets import PhotoSet
from .tables import TableError, normalise_countries, read_table

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")
TOLERANCE = 0.01


class TooManyBadImages(ValueError):
    """More of a dataset's images are unusable than the tolerance allows."""


def require_root(data_root) -> Path:
    """``data_root`` as a Path, or a clear error when it is unset or absent."""
    if data_root in (None, ""):
        raise FileNotFoundError("no data_root given: set DATA_ROOT=/path/to/dataset (the 'ci' profile needs none)")
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"data_root {root} does not exist or is not a folder")
    return root


def _problem(path) -> str | None:
    """Why an image cannot be used (missing, corrupt, not an image), or None when it decodes."""
    if not os.path.exists(path):
        return "file not found"
    try:
        read_image(path, max_side=64)  # JPEG draft mode: a full check at a fraction of the cost
    except ImageDecodeError as exc:
        return str(exc).split(": ", 1)[-1]
    return None


def _finish(df: pd.DataFrame, source: Path, name: str, max_side: int, tolerance: float) -> PhotoSet:
    with ThreadPoolExecutor(max_workers=min(16, (os.cpu_count() or 2) * 2)) as pool:
        problems = list(pool.map(_problem, df["path"]))
    bad = np.array([p is not None for p in problems], dtype=bool)
    skipped = [{"id": str(i), "path": p, "reason": r}
               for i, p, r in zip(df["id"], df["path"], problems) if r is not None]
    if bad.mean() > tolerance:
        listed = "; ".join(f"{s['path']}: {s['reason']}" for s in skipped[:5])
        raise TooManyBadImages(f"{source}: {int(bad.sum())} of {len(df)} images ({100 * bad.mean():.1f} %) cannot be "
                               f"used, more than the tolerance of {100 * tolerance:.1f} %: {listed}"
                               + (" ..." if len(skipped) > 5 else ""))
    df = df.loc[~bad].reset_index(drop=True)
    if "country" not in df or (df["country"].astype(str).str.strip() == "").any():
        df["country"] = countries(df["lat"], df["lon"])
    df["continent"] = continents(df["country"])
    photos = PhotoSet(df, name=name, max_side=max_side)
    photos.skipped = skipped
    return photos


def _index_images(folder: Path) -> dict:
    """stem -> path for every image below ``folder`` (one walk, for sharded layouts)."""
    out = {}
    for dirpath, _, names in os.walk(folder):
        for f in names:
            if f.lower().endswith(IMAGE_SUFFIXES):
                out.setdefault(os.path.splitext(f)[0], os.path.join(dirpath, f))
    return out


def read_osv5m(data_root, split: str = "test", max_side: int = 1024, tolerance: float = TOLERANCE,
               sample: int | None = None, seed: int = 0) -> PhotoSet:
    """One split of an OpenStreetView-5M folder; ``sample``: at most this many rows, drawn by a
    shuffle seeded with ``seed`` (only they are checked and used)."""
    root = require_root(data_root)
    csv = root / f"{split}.csv"
    df = read_table(csv, {"id": "id", "latitude": "lat", "longitude": "lon"}, id_column="id", country="country")
    if sample is not None and sample < len(df):
        df = df.iloc[np.random.default_rng(seed).permutation(len(df))[:sample]].reset_index(drop=True)
    folder = root / "images" / split
    direct = [folder / f"{i}.jpg" for i in df["id"]]
    if all(p.exists() for p in direct):
        df["path"] = [str(p) for p in direct]
    else:
        index = _index_images(folder)
        df["path"] = [index.get(str(i), str(folder / f"{i}.jpg")) for i in df["id"]]
    return _finish(df, csv, f"osv5m-{split}", max_side, tolerance)


def read_im2gps(metadata_csv, image_dir, max_side: int = 1024, tolerance: float = TOLERANCE) -> PhotoSet:
    """An im2gps / im2gps3k / yfcc4k test set: ``IMG_ID, LAT, LON`` (plus, when present, the
    published scene labels ``S3_Label``, ``S16_Label``, ``S365_Label``)."""
    csv = Path(metadata_csv)
    df = read_table(csv, {"IMG_ID": "id", "LAT": "lat", "LON": "lon"}, id_column="id")
    folder = Path(image_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    df["path"] = [str(folder / str(i)) if Path(str(i)).suffix else str(folder / f"{i}.jpg") for i in df["id"]]
    return _finish(df, csv, csv.stem, max_side, tolerance)


def read_folder(metadata_csv, image_dir=None, path_col: str = "path", lat_col: str = "lat", lon_col: str = "lon",
                country_col: str = "country", max_side: int = 1024, tolerance: float = TOLERANCE) -> PhotoSet:
    """A CSV with an image path column (relative to ``image_dir`` or the CSV's folder), coordinates
    and, optionally, countries (ISO-2, ISO-3 or English names)."""
    csv = Path(metadata_csv)
    rename = {path_col: "path", lat_col: "lat", lon_col: "lon"}
    df = read_table(csv, rename, id_column="path")
    if country_col in df:
        df["country"] = normalise_countries(df[country_col], csv)
    base = Path(image_dir) if image_dir is not None else csv.parent
    df["id"] = df["path"]
    df["path"] = [str(p) if os.path.isabs(p) else str(base / p) for p in df["path"].astype(str)]
    return _finish(df, csv, csv.stem, max_side, tolerance)


def read_eval_root(eval_root, max_side: int = 1024, tolerance: float = TOLERANCE) -> PhotoSet:
    """An im2gps-style test set in one folder: its single metadata CSV (``IMG_ID, LAT, LON, ...``)
    and the images, in ``images/``, in the only sub-folder, or beside the CSV."""
    root = require_root(eval_root)
    csvs = sorted(root.glob("*.csv"))
    if len(csvs) != 1:
        raise FileNotFoundError(f"eval_root {root} must hold exactly one metadata CSV; found {[c.name for c in csvs]}")
    subfolders = [d for d in root.iterdir() if d.is_dir()]
    images = root / "images" if (root / "images").is_dir() else subfolders[0] if len(subfolders) == 1 else root
    return read_im2gps(csvs[0], images, max_side, tolerance)


__all__ = ["read_osv5m", "read_im2gps", "read_folder", "read_eval_root", "require_root", "TableError", "TooManyBadImages"]
