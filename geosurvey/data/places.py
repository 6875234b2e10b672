"""Offline place labels: country and admin-1 from GeoNames, continent from Natural Earth.

``reverse_geocoder`` holds the GeoNames places of more than 1,000 people; a point is labelled with
the country and first-level division of its nearest place, which is how photo datasets derive such
labels. Continents come from the CONTINENT field of Natural Earth's admin-0 countries.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

# GeoNames codes for overseas parts that Natural Earth folds into another country
_EXTRA_CONTINENTS = {
    "GI": "Europe", "SJ": "Europe", "AX": "Europe", "RE": "Africa", "YT": "Africa", "GF": "South America",
    "MQ": "North America", "GP": "North America", "BQ": "North America", "PM": "North America",
    "MF": "North America", "BL": "North America", "SX": "North America", "CW": "North America",
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
    with shapefile.Reader(str(natural_earth_file("cultural", "ne_50m_admin_0_countries.shp"))) as sf:
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
    return pd.DataFrame({"country": [r["cc"] for r in rows], "admin1": [r["admin1"] for r in rows],
                         "place": [r["name"] for r in rows]})


def countries(lat, lon) -> np.ndarray:
    return geocode(lat, lon)["country"].to_numpy(dtype=object)


def continents(country_codes) -> np.ndarray:
    table = continent_table()
    return np.array([table.get(c, "Unknown") for c in country_codes], dtype=object)


def with_admin(meta: pd.DataFrame) -> pd.DataFrame:
    """``meta`` with ``country`` and ``admin1`` columns, geocoding the points that lack them."""
    if "admin1" in meta and "country" in meta:
        return meta
    labels = geocode(meta["lat"], meta["lon"])
    return meta.assign(**{c: labels[c].to_numpy() for c in ("country", "admin1") if c not in meta})


def admin1_accuracy(pred_lat, pred_lon, meta: pd.DataFrame) -> float:
    """% of predictions in the true first-level region (PIGEON reports it beside country accuracy)."""
    meta = with_admin(meta)
    pred = geocode(pred_lat, pred_lon)
    same = (pred["country"].to_numpy() == meta["country"].to_numpy()) & (pred["admin1"].to_numpy() == meta["admin1"].to_numpy())
    return float(100.0 * same.mean())
