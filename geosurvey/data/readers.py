"""Readers for paper-scale photo datasets under a user's ``data_root``.

* OpenStreetView-5M: ``<root>/<split>.csv`` (id, latitude, longitude, country, ...) with images
  at ``<root>/images/<split>/<id>.jpg`` or one folder deeper (the release unpacks zip shards
  into sub-folders).
* im2gps / im2gps3k / yfcc4k-style metadata: a CSV with ``IMG_ID, LAT, LON, ...`` and a folder of
  images named by ``IMG_ID``.
* Any folder of images plus a CSV naming each file and its coordinates.

Each returns a :class:`~geosurvey.data.sets.PhotoSet`; rows are checked (missing columns, NaN or
out-of-range coordinates, missing files) and errors name the file and the rows.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..geo import validate_coordinates
from .places import continents, countries
from .sets import PhotoSet

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")


def require_root(data_root) -> Path:
    """``data_root`` as a Path, or a clear error when it is unset or absent."""
    if data_root in (None, ""):
        raise FileNotFoundError("no data_root given: set DATA_ROOT=/path/to/dataset (the 'ci' profile needs none)")
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"data_root {root} does not exist or is not a folder")
    return root


def read_csv_checked(path, required: dict) -> pd.DataFrame:
    """Read a CSV, fail naming the file and any missing column, rename ``required`` old -> new."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"metadata file {path} not found")
    df = pd.read_csv(path)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise KeyError(f"{path}: missing column(s) {missing}; found {list(df.columns)}")
    return df.rename(columns=required)


def _finish(df: pd.DataFrame, source: Path, name: str, max_side: int) -> PhotoSet:
    # row labels as a reader sees them in a spreadsheet: header is line 1
    lat, lon = validate_coordinates(df["lat"], df["lon"], str(source), row_labels=[f"line {i + 2}" for i in range(len(df))])
    df = df.assign(lat=lat, lon=lon)
    exists = np.array([os.path.exists(p) for p in df["path"]])
    if not exists.all():
        missing = df.loc[~exists, "path"].head(5).tolist()
        raise FileNotFoundError(f"{source}: {int((~exists).sum())} image file(s) not found, e.g. {missing}")
    if "country" not in df or df["country"].isna().any():
        df["country"] = countries(lat, lon)
    df["continent"] = continents(df["country"])
    return PhotoSet(df, name=name, max_side=max_side)


def _index_images(folder: Path) -> dict:
    """stem -> path for every image below ``folder`` (one walk, for sharded layouts)."""
    out = {}
    for dirpath, _, files in os.walk(folder):
        for f in files:
            if f.lower().endswith(IMAGE_SUFFIXES):
                out.setdefault(os.path.splitext(f)[0], os.path.join(dirpath, f))
    return out


def read_osv5m(data_root, split: str = "test", max_side: int = 1024, limit: int | None = None) -> PhotoSet:
    root = require_root(data_root)
    csv = root / f"{split}.csv"
    df = read_csv_checked(csv, {"id": "id", "latitude": "lat", "longitude": "lon"})
    if limit is not None:
        df = df.iloc[:limit]
    folder = root / "images" / split
    direct = [folder / f"{i}.jpg" for i in df["id"]]
    if all(p.exists() for p in direct):
        df["path"] = [str(p) for p in direct]
    else:
        index = _index_images(folder)
        df["path"] = [index.get(str(i), str(folder / f"{i}.jpg")) for i in df["id"]]
    return _finish(df, csv, f"osv5m-{split}", max_side)


def read_im2gps(metadata_csv, image_dir, max_side: int = 1024) -> PhotoSet:
    csv = Path(metadata_csv)
    df = read_csv_checked(csv, {"IMG_ID": "id", "LAT": "lat", "LON": "lon"})
    folder = Path(image_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    df["path"] = [str(folder / str(i)) if Path(str(i)).suffix else str(folder / f"{i}.jpg") for i in df["id"]]
    return _finish(df, csv, csv.stem, max_side)


def read_folder(metadata_csv, image_dir=None, path_col: str = "path", lat_col: str = "lat", lon_col: str = "lon",
                max_side: int = 1024) -> PhotoSet:
    """A CSV with an image path column (relative to ``image_dir`` or the CSV's folder) and coordinates."""
    csv = Path(metadata_csv)
    df = read_csv_checked(csv, {path_col: "path", lat_col: "lat", lon_col: "lon"})
    base = Path(image_dir) if image_dir is not None else csv.parent
    df["path"] = [str(p) if os.path.isabs(p) else str(base / p) for p in df["path"].astype(str)]
    return _finish(df, csv, csv.stem, max_side)
