"""Readers for paper-scale photo datasets under a user's ``data_root`` (training) or
``eval_root`` (a test set). The layout is recognised from what the folder holds
(:func:`data_root_layout`, :func:`eval_root_layout`):

* OpenStreetView-5M: ``train.csv`` / ``test.csv`` (id, latitude, longitude, country,
  ...) with images at ``images/<split>/<id>.jpg`` or one folder deeper (the release
  unpacks its zip shards ``00`` ... ``97`` into sub-folders).
* MP-16 (GeoEstimation): ``mp16_places365.csv`` (``IMG_ID`` like
  ``e1/55/4763369508.jpg``, ``LAT``, ``LON``) with the images either as that folder tree
  under ``images/`` or as MessagePack shards ``shard_<N>.msg`` (in ``images/``,
  ``images/mp16/`` or the folder itself). It has no test split: the test set is the
  ``eval_root``, or else a seeded 10 % hold-out.
* Test sets: im2gps3k as OpenStreetView-5M ships it (``info.json`` + ``images/``),
  yfcc4k (``info.txt``, a tab-separated YFCC100M dump, + ``images/``), or one metadata
  CSV with ``IMG_ID, LAT, LON, ...`` (im2gps / im2gps3k as GeoEstimation distributed it)
  + its images.
* Any folder of images plus a CSV naming each file and its coordinates
  (:func:`read_folder`).

Tables go through the strict reader (:mod:`geosurvey.data.tables`): the whole file is
checked for malformed lines and repeated ids, the rows used are drawn first and only
they are converted. With ``only_present``, only rows whose image is there are used (for
a partial download). Images are checked once when the set is read, decoded as training
will decode them (the same decoder at the same ``min_side``: :class:`Check`): a missing,
empty, truncated, corrupt or non-image file is *skipped*, reported in the set's
``skipped`` list with its reason and replaced by the next row of the seeded draw while
the table has rows left, so a few bad files never cost a run; more than ``tolerance``
of the images drawn (default 1 %) is an error listing them and naming the flags that go
on, so many never go unnoticed. A country label that differs from the country its
coordinates lie in (GeoNames reverse geocoding) is kept, counted and listed in the set's
``label_conflicts``.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..geo import validate_coordinates
from . import shards, tables
from .places import continents, countries
from .sets import PhotoSet
from .tables import TableError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")
TOLERANCE = 0.01
OSV5M_SHARDS = {
    "train": 98,
    "test": 5,
}  # zip shards (image sub-folders 00, 01, ...) of each split
MP16_CSV = "mp16_places365.csv"
HOLDOUT = 0.1  # share of MP-16 held out for testing when no eval_root is given


class TooManyBadImages(ValueError):
    """More of a dataset's images are unusable than the tolerance allows."""


class UnknownLayout(FileNotFoundError):
    """A folder that holds none of the dataset layouts the readers know; says what was
    looked for."""


def require_root(data_root) -> Path:
    """``data_root`` as a Path, or a clear error when it is unset or absent."""
    if data_root in (None, ""):
        raise FileNotFoundError(
            "no data_root given: set DATA_ROOT=/path/to/dataset "
            "(the 'ci' profile needs none)"
        )
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"data_root {root} does not exist or is not a folder")
    return root


# --- where the images are -------------------------------------------------------------


class FolderImages:
    """Image files below ``folder``, found by the table's key: a file stem
    (``by="stem"``: OpenStreetView-5M's ``<id>.jpg``, directly or in shard sub-folders)
    or a path relative to the folder (``by="path"``: MP-16's ``e1/55/4763369508.jpg``).
    The folder is walked only when a key's file is not where it is first looked for; the
    listing is kept as compact arrow text."""

    def __init__(self, folder: Path, by: str = "stem", shard_count: int | None = None):
        self.folder, self.by, self.shard_count = Path(folder), by, shard_count
        self._listing = None

    def _list(self):
        """``(keys, paths)``: every image file below the folder, as arrow arrays, one
        walk."""
        if self._listing is None:
            keys, paths = [], []
            for dirpath, _, names in os.walk(self.folder):
                names = [f for f in names if f.lower().endswith(IMAGE_SUFFIXES)]
                rel = os.path.relpath(dirpath, self.folder)
                keys.append(
                    pa.array(
                        [
                            os.path.splitext(f)[0]
                            if self.by == "stem"
                            else os.path.normpath(os.path.join(rel, f))
                            for f in names
                        ],
                        pa.string(),
                    )
                )
                paths.append(
                    pa.array([os.path.join(dirpath, f) for f in names], pa.string())
                )
            self._listing = (
                pa.concat_arrays(keys or [pa.array([], pa.string())]),
                pa.concat_arrays(paths or [pa.array([], pa.string())]),
            )
        return self._listing

    def present(self, keys) -> np.ndarray:
        """Whether each key's image exists."""
        return pc.is_in(keys, value_set=self._list()[0]).to_numpy(zero_copy_only=False)

    def locate(self, keys: list) -> dict:
        """``{"path": [...]}`` for each key (where a missing file would be, if it is
        missing)."""
        if self.by == "path":
            return {"path": [str(self.folder / k) for k in keys]}
        direct = [str(self.folder / f"{k}.jpg") for k in keys]
        if all(os.path.exists(p) for p in direct):
            return {"path": direct}
        listed, paths = self._list()
        found = pc.take(
            paths, pc.index_in(pa.array(keys, pa.string()), value_set=listed)
        ).to_pylist()
        return {"path": [f or d for f, d in zip(found, direct)]}

    def missing_parts(self) -> str:
        """The shard sub-folders of a release that are not there, in words (or "")."""
        if self.shard_count is None:
            return ""
        absent = [
            i
            for i in range(self.shard_count)
            if not (self.folder / f"{i:02d}").is_dir()
        ]
        return (
            f"; shard folders missing: {_ranges(absent)} "
            f"(of 00-{self.shard_count - 1:02d})"
            if absent
            else ""
        )


def _ranges(numbers: list) -> str:
    """Sorted integers as two-digit runs: [1, 3, 4, 5] -> "01, 03-05"."""
    runs = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(f"{a:02d}" if a == b else f"{a:02d}-{b:02d}" for a, b in runs)


class ShardImages:
    """Images stored as records of MessagePack shards (:mod:`geosurvey.data.shards`), by
    id."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.table = shards.index(folder).drop_duplicates(
            "id"
        )  # an image stored twice: its first record

    def present(self, keys) -> np.ndarray:
        return pc.is_in(
            keys, value_set=pa.array(self.table["id"], pa.string())
        ).to_numpy(zero_copy_only=False)

    def locate(self, keys: list) -> dict:
        """``path``, ``offset`` and ``size`` of each key's record; offset -1 where no
        shard has it."""
        pos = pd.Index(self.table["id"]).get_indexer(keys)
        rows = self.table.iloc[np.maximum(pos, 0)]
        missing = pos < 0
        return {
            "path": np.where(
                missing, str(self.folder), rows["path"].to_numpy(dtype=object)
            ),
            "offset": np.where(missing, -1, rows["offset"].to_numpy()),
            "size": np.where(missing, 0, rows["size"].to_numpy()),
        }

    def missing_parts(self) -> str:
        return ""


# --- from table rows to a photo set ---------------------------------------------------


def _present_rows(
    table: tables.Table, images, rows: np.ndarray, folder_words: str
) -> np.ndarray:
    """The ``rows`` whose image exists, saying how many were dropped and which shards
    are missing."""
    keep = images.present(table.column("id"))[rows]
    if not keep.any():
        raise FileNotFoundError(
            f"{table.path}: none of its {len(rows):,} rows has its image in "
            f"{folder_words}"
        )
    if not keep.all():
        print(
            f"{table.path.name}: {int((~keep).sum()):,} of {len(rows):,} rows have no "
            f"image in {folder_words} and are left out "
            f"(only_present){images.missing_parts()}"
        )
    return rows[keep]


@dataclass(frozen=True)
class Check:
    """How a reader checks the images it draws: decoded no larger than ``max_side``, at
    the ``min_side`` training will decode them at (the input size; None: as
    :meth:`~geosurvey.data.sets.ImageSet.load` does), with at most ``tolerance`` of the
    images drawn unusable."""

    tolerance: float = TOLERANCE
    max_side: int = 1024
    min_side: int | None = None


def _problems(photos: PhotoSet, min_side: int | None) -> list:
    """Why each image of ``photos`` cannot be used (None where it decodes), in
    threads."""
    workers = min(16, (os.cpu_count() or 2) * 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda i: photos.problem(i, min_side), range(len(photos))))


def _tolerate(skipped: list, drawn: int, source: Path, tolerance: float) -> None:
    """An error listing the unusable images when they are more than ``tolerance`` of
    the ``drawn`` ones, naming the two ways on."""
    if len(skipped) <= tolerance * drawn:
        return
    listed = "; ".join(f"{s['path']}: {s['reason']}" for s in skipped[:5])
    raise TooManyBadImages(
        f"{source}: {len(skipped)} of {drawn} images ({100 * len(skipped) / drawn:.1f}"
        f" %) drawn cannot be used, more than the tolerance of {100 * tolerance:.1f} "
        f"%: {listed}" + (" ..." if len(skipped) > 5 else "") + "; to go on without "
        "them, raise the tolerance (--bad-image-tolerance) or, for a partial download, "
        "use only the rows whose image is there (--only-present)"
    )


def _draw(rows_at, pool: int, want: int, check: Check) -> tuple:
    """``(good rows, skipped, drawn)``: the first ``want`` rows of ``rows_at(start,
    stop)`` whose image can be used, a bad one replaced by the next row of the pool
    (``pool`` rows in all) while the pool lasts."""
    kept, skipped, drawn, good = [], [], 0, 0
    while good < want and drawn < pool:
        df = rows_at(drawn, drawn + want - good).reset_index(drop=True)
        drawn += len(df)
        problems = _problems(PhotoSet(df, max_side=check.max_side), check.min_side)
        ok = np.array([p is None for p in problems], dtype=bool)
        skipped += [
            {"id": str(i), "path": p, "reason": r}
            for i, p, r in zip(df["id"], df["path"], problems)
            if r is not None
        ]
        kept.append(df.loc[ok])
        good += int(ok.sum())
    return pd.concat(kept, ignore_index=True), skipped, drawn


def _with_countries(df: pd.DataFrame, source: Path) -> tuple:
    """``(df, conflicts)``: countries by reverse geocoding where the table has none (no
    column: all; blank values: those), and the rows whose given country differs from
    the one their coordinates lie in, reported and kept as given."""
    located = countries(df["lat"], df["lon"])
    if "country" not in df:
        return df.assign(country=located), []
    blank = pd.isna(df["country"]).to_numpy()
    if blank.any():
        df.loc[blank, "country"] = located[blank]
        print(
            f"{source.name}: {int(blank.sum()):,} of {len(df):,} rows have no country: "
            "filled by reverse geocoding their coordinates (GeoNames places)"
        )
    differ = np.flatnonzero(df["country"].to_numpy(dtype=object) != located)
    conflicts = [
        {
            "id": str(df.at[i, "id"]),
            "country": df.at[i, "country"],
            "located": located[i],
        }
        for i in differ
    ]
    if conflicts:
        shown = ", ".join(
            f"{c['id']} labelled {c['country']} lies in {c['located']}"
            for c in conflicts[:3]
        )
        print(
            f"{source.name}: {len(conflicts):,} of {len(df):,} country labels differ "
            f"from the country their coordinates lie in (GeoNames reverse geocoding), "
            f"e.g. {shown}; kept as given and listed in the results"
        )
    return df, conflicts


def _finish(rows_at, pool: int, want: int, source: Path, name: str, check: Check):
    """The photo set of the first ``want`` usable rows of ``rows_at`` (:func:`_draw`),
    with countries and continents, and what was skipped and found mislabelled."""
    df, skipped, drawn = _draw(rows_at, pool, want, check)
    _tolerate(skipped, drawn, source, check.tolerance)
    meta, conflicts = _with_countries(df, source)
    photos = PhotoSet(
        meta.assign(continent=continents(meta["country"])),
        name=name,
        max_side=check.max_side,
    )
    photos.skipped, photos.label_conflicts = skipped, conflicts
    return photos


def _whole(df: pd.DataFrame, source: Path, name: str, check: Check) -> PhotoSet:
    """Every row of ``df`` that can be used (a test set: nothing to draw from)."""
    return _finish(lambda a, b: df.iloc[a:b], len(df), len(df), source, name, check)


def _photo_set(table: tables.Table, images, rows, *, name, sample, seed, check):
    """At most ``sample`` usable rows of ``rows``, in the order of a shuffle seeded
    with ``seed``: converted, located and checked, an unusable one replaced by the next
    row of the shuffle."""
    order = rows[tables.draw_order(len(rows), sample, seed)]

    def rows_at(start, stop):
        df = table.frame(order[start:stop], country="country")
        return df.assign(**images.locate(df["id"].tolist()))

    want = len(order) if sample is None else min(sample, len(order))
    return _finish(rows_at, len(order), want, table.path, name, check)


def read_osv5m(
    data_root,
    split: str = "test",
    *,
    max_side: int = 1024,
    min_side: int | None = None,
    tolerance: float = TOLERANCE,
    sample: int | None = None,
    seed: int = 0,
    only_present: bool = False,
) -> PhotoSet:
    """One split of an OpenStreetView-5M folder; ``sample``: at most this many rows,
    drawn by a shuffle seeded with ``seed`` (only they are checked and used);
    ``only_present``: draw them from the rows whose image is there."""
    root = require_root(data_root)
    table = tables.scan(
        root / f"{split}.csv",
        {"id": "id", "latitude": "lat", "longitude": "lon"},
        id_column="id",
        columns=["country"],
    )
    images = FolderImages(root / "images" / split, shard_count=OSV5M_SHARDS.get(split))
    rows = np.arange(len(table))
    if only_present:
        rows = _present_rows(table, images, rows, f"images/{split}")
    check = Check(tolerance, max_side, min_side)
    return _photo_set(
        table,
        images,
        rows,
        name=f"osv5m-{split}",
        sample=sample,
        seed=seed,
        check=check,
    )


def mp16_images(root: Path):
    """MP-16's images under ``root``: :class:`ShardImages` where shards are, else the
    folder tree."""
    for folder in (root / "images", root / "images" / "mp16", root):
        if folder.is_dir() and shards.shard_files(folder):
            return ShardImages(folder)
    if (root / "images").is_dir():
        return FolderImages(root / "images", by="path")
    raise UnknownLayout(
        f"{root}: no MP-16 images: looked for MessagePack shards (shard_<N>.msg) in "
        "images/, images/mp16/ and the folder itself, and for the IMG_ID folder tree "
        "under images/"
    )


def read_mp16(
    data_root,
    part: str = "all",
    *,
    max_side: int = 1024,
    min_side: int | None = None,
    tolerance: float = TOLERANCE,
    sample: int | None = None,
    seed: int = 0,
    only_present: bool = False,
) -> PhotoSet:
    """MP-16 as GeoEstimation lays it out (module doc). ``part``: ``"all"`` rows, or
    ``"train"`` / ``"test"``: the rows outside / inside a hold-out of :data:`HOLDOUT` of
    them drawn with ``seed`` (after ``only_present`` has removed the rows without an
    image); ``sample`` as in :func:`read_osv5m`."""
    if part not in ("all", "train", "test"):
        raise ValueError(f"part must be 'all', 'train' or 'test', not {part!r}")
    root = require_root(data_root)
    table = tables.scan(
        root / MP16_CSV,
        {"IMG_ID": "id", "LAT": "lat", "LON": "lon"},
        id_column="id",
        columns=[],
    )
    images = mp16_images(root)
    rows = np.arange(len(table))
    if only_present:
        where = "its shards" if isinstance(images, ShardImages) else "images/"
        rows = _present_rows(table, images, rows, where)
    if part != "all":
        order = rows[np.random.default_rng(seed).permutation(len(rows))]
        n_test = max(1, round(HOLDOUT * len(rows)))
        rows = order[:n_test] if part == "test" else order[n_test:]
    check = Check(tolerance, max_side, min_side)
    return _photo_set(
        table, images, rows, name=f"mp16-{part}", sample=sample, seed=seed, check=check
    )


# --- test sets ------------------------------------------------------------------------


def _image_folder(folder) -> Path:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    return folder


def read_im2gps(
    metadata_csv,
    image_dir,
    *,
    max_side: int = 1024,
    min_side: int | None = None,
    tolerance: float = TOLERANCE,
) -> PhotoSet:
    """An im2gps / im2gps3k / yfcc4k test set as a CSV: ``IMG_ID, LAT, LON`` (plus, when
    present, the published scene labels ``S3_Label``, ``S16_Label``, ``S365_Label``)."""
    table = tables.scan(
        metadata_csv, {"IMG_ID": "id", "LAT": "lat", "LON": "lon"}, id_column="id"
    )
    df = table.frame()
    folder = _image_folder(image_dir)
    df["path"] = [
        str(folder / i) if Path(i).suffix else str(folder / f"{i}.jpg")
        for i in df["id"].astype(str)
    ]
    return _whole(df, table.path, table.path.stem, Check(tolerance, max_side, min_side))


def _numbers_at(values, source: str, labels: list) -> np.ndarray:
    """Text as numbers, or an error naming the first value that is not one (by its
    label)."""
    out = pd.to_numeric(
        pd.Series(values, dtype=object).astype(str).str.strip(), errors="coerce"
    ).to_numpy(np.float64)
    if np.isnan(out).any():
        i = int(np.flatnonzero(np.isnan(out))[0])
        raise TableError(f"{source}: {labels[i]}: {values[i]!r} is not a number")
    return out


def _located(
    source: Path, ids: list, lat: list, lon: list, labels: list, folder: Path
) -> pd.DataFrame:
    """id, validated coordinates and image path of each entry of a JSON or text
    listing."""
    lat, lon = validate_coordinates(
        _numbers_at(lat, f"{source} latitude", labels),
        _numbers_at(lon, f"{source} longitude", labels),
        str(source),
        row_labels=labels,
    )
    return pd.DataFrame(
        {"id": ids, "lat": lat, "lon": lon, "path": [str(folder / i) for i in ids]}
    )


def read_info_json(
    root,
    *,
    max_side: int = 1024,
    min_side: int | None = None,
    tolerance: float = TOLERANCE,
) -> PhotoSet:
    """im2gps3k as OpenStreetView-5M ships it: ``info.json`` maps each file in
    ``images/`` to a list of strings whose fourth- and third-last read ``latitude:
    <deg>``, ``longitude: <deg>``; files with an empty list have no coordinates and are
    left out, with a count printed."""
    path, folder = Path(root) / "info.json", _image_folder(Path(root) / "images")
    entries = json.loads(path.read_text(encoding="utf-8"))
    known = {k: v for k, v in sorted(entries.items()) if v}
    bad = [
        k
        for k, v in known.items()
        if len(v) < 4
        or not (
            str(v[-4]).startswith("latitude: ") and str(v[-3]).startswith("longitude: ")
        )
    ]
    if bad:
        raise TableError(
            f"{path}: entry {bad[0]!r} ({len(bad)} such): expected "
            "'latitude: <deg>', 'longitude: <deg>' as its fourth- and third-last "
            f"values; found {known[bad[0]][-4:]}"
        )
    if len(known) < len(entries):
        print(
            f"{path}: {len(entries) - len(known)} of {len(entries)} images have no "
            "coordinates and are left out"
        )
    ids = list(known)
    df = _located(
        path,
        ids,
        [known[k][-4].split(": ", 1)[1] for k in ids],
        [known[k][-3].split(": ", 1)[1] for k in ids],
        [f"entry {k!r}" for k in ids],
        folder,
    )
    return _whole(df, path, "im2gps3k", Check(tolerance, max_side, min_side))


def read_info_txt(
    root,
    *,
    max_side: int = 1024,
    min_side: int | None = None,
    tolerance: float = TOLERANCE,
) -> PhotoSet:
    """yfcc4k as OpenStreetView-5M ships it: ``info.txt``, tab-separated YFCC100M dump
    lines whose fields 2, 13 and 14 (1-based) hold the photo id, longitude and latitude;
    images at ``images/<photo id>.jpg``."""
    path, folder = Path(root) / "info.txt", _image_folder(Path(root) / "images")
    ids, lat, lon, labels = [], [], [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            fields = line.rstrip("\r\n").split("\t")
            if not line.strip():
                continue
            if len(fields) < 14:
                raise TableError(
                    f"{path}: line {n} has {len(fields)} tab-separated fields; "
                    "a YFCC100M line has at least 14 (photo id in field 2, longitude "
                    "and latitude in fields 13 and 14)"
                )
            ids.append(f"{fields[1]}.jpg")
            lon.append(fields[12])
            lat.append(fields[13])
            labels.append(f"line {n}")
    if not ids:
        raise TableError(
            f"{path}: the file is empty; expected one YFCC100M line per image"
        )
    if len(set(ids)) < len(ids):
        raise TableError(
            f"{path}: {len(ids) - len(set(ids))} photo ids are repeated; "
            "ids must be unique"
        )
    return _whole(
        _located(path, ids, lat, lon, labels, folder),
        path,
        "yfcc4k",
        Check(tolerance, max_side, min_side),
    )


def read_folder(
    metadata_csv,
    image_dir=None,
    path_col: str = "path",
    lat_col: str = "lat",
    lon_col: str = "lon",
    country_col: str = "country",
    *,
    max_side: int = 1024,
    min_side: int | None = None,
    tolerance: float = TOLERANCE,
) -> PhotoSet:
    """A CSV with an image path column (relative to ``image_dir`` or the CSV's folder),
    coordinates and, optionally, countries (ISO-2, ISO-3 or English names; blank ones
    are looked up)."""
    rename = {path_col: "path", lat_col: "lat", lon_col: "lon"}
    if country_col in tables.header(metadata_csv):
        rename[country_col] = "country"
    table = tables.scan(metadata_csv, rename, id_column="path")
    df = table.frame(country="country")
    base = Path(image_dir) if image_dir is not None else table.path.parent
    df["id"] = df["path"]
    df["path"] = [
        str(p) if os.path.isabs(p) else str(base / p) for p in df["path"].astype(str)
    ]
    return _whole(df, table.path, table.path.stem, Check(tolerance, max_side, min_side))


def _csv_test_set(root: Path, **check) -> PhotoSet:
    csvs = sorted(root.glob("*.csv"))
    if len(csvs) != 1:
        raise FileNotFoundError(
            f"eval_root {root} must hold exactly one metadata CSV; "
            f"found {[c.name for c in csvs]}"
        )
    subfolders = [d for d in root.iterdir() if d.is_dir()]
    images = (
        root / "images"
        if (root / "images").is_dir()
        else subfolders[0]
        if len(subfolders) == 1
        else root
    )
    return read_im2gps(csvs[0], images, **check)


EVAL_LAYOUTS = {  # what is looked for in an eval_root, in this order, and its reader
    "info.json": (
        "im2gps3k as OpenStreetView-5M ships it: info.json + images/",
        read_info_json,
    ),
    "info.txt": ("yfcc4k: info.txt (YFCC100M dump) + images/", read_info_txt),
    "*.csv": ("one metadata CSV (IMG_ID, LAT, LON) + its images", _csv_test_set),
}


def eval_root_layout(root: Path) -> str:
    """The key of :data:`EVAL_LAYOUTS` that ``root`` holds, or an error saying what was
    looked for."""
    for pattern in EVAL_LAYOUTS:
        if any(root.glob(pattern)):
            return pattern
    looked = "; ".join(words for words, _ in EVAL_LAYOUTS.values())
    raise UnknownLayout(
        f"eval_root {root} holds no test set layout known here; looked for {looked}"
    )


def read_eval_root(
    eval_root,
    *,
    max_side: int = 1024,
    min_side: int | None = None,
    tolerance: float = TOLERANCE,
) -> PhotoSet:
    """The test set in ``eval_root``, in whichever layout of :data:`EVAL_LAYOUTS` it
    holds."""
    root = require_root(eval_root)
    return EVAL_LAYOUTS[eval_root_layout(root)][1](
        root, max_side=max_side, min_side=min_side, tolerance=tolerance
    )


# --- training roots -------------------------------------------------------------------


def data_root_layout(root: Path) -> str:
    """``"osv5m"`` or ``"mp16"`` from the files ``root`` holds, or an error saying what
    was looked for."""
    found = [
        name
        for name, marker in (("osv5m", "train.csv"), ("mp16", MP16_CSV))
        if (root / marker).is_file()
    ]
    if len(found) == 1:
        return found[0]
    what = (
        "both train.csv and " + MP16_CSV
        if found
        else "neither train.csv nor " + MP16_CSV
    )
    raise UnknownLayout(
        f"data_root {root} holds {what}; expected one: train.csv and test.csv "
        "(OpenStreetView-5M, images under images/train and images/test) or "
        f"{MP16_CSV} (MP-16, images under images/ as the IMG_ID folder tree or as "
        "shard_<N>.msg MessagePack shards)"
    )


def read_data_root(
    data_root,
    *,
    n_train: int,
    n_test: int,
    seed: int = 0,
    tolerance: float = TOLERANCE,
    only_present: bool = False,
    eval_root=None,
    max_side: int = 1024,
    min_side: int | None = None,
) -> dict:
    """``{"train", "test"[, "eval"]}`` photo sets of a training root: ``train`` holds at
    most ``n_train`` rows (training and validation, to be divided by the caller),
    ``test`` at most ``n_test``. OpenStreetView-5M tests on ``test.csv`` and evaluates
    an ``eval_root`` beside it; MP-16, which has no test split, tests on the
    ``eval_root`` or, without one, on a seeded hold-out of :data:`HOLDOUT` of its rows;
    which, is printed."""
    root = require_root(data_root)
    checks = {"tolerance": tolerance, "max_side": max_side, "min_side": min_side}
    common = {"seed": seed, "only_present": only_present, **checks}
    if data_root_layout(root) == "osv5m":
        out = {
            "train": read_osv5m(root, "train", sample=n_train, **common),
            "test": read_osv5m(root, "test", sample=n_test, **common),
        }
        if eval_root:
            out["eval"] = read_eval_root(eval_root, **checks)
        return out
    if eval_root:
        print(f"MP-16 has no test split: testing on the eval_root {eval_root}")
        return {
            "train": read_mp16(root, "all", sample=n_train, **common),
            "test": read_eval_root(eval_root, **checks),
        }
    print(
        "MP-16 has no test split and no eval_root is given: testing on a hold-out of "
        f"{HOLDOUT:.0%} of {MP16_CSV} drawn with seed {seed}"
    )
    return {
        "train": read_mp16(root, "train", sample=n_train, **common),
        "test": read_mp16(root, "test", sample=n_test, **common),
    }


__all__ = [
    "read_osv5m",
    "read_mp16",
    "read_im2gps",
    "read_info_json",
    "read_info_txt",
    "read_folder",
    "read_eval_root",
    "read_data_root",
    "data_root_layout",
    "eval_root_layout",
    "require_root",
    "TableError",
    "TooManyBadImages",
    "UnknownLayout",
]
