"""The evaluation conventions of the peers' code, beside the book's own.

The book evaluates one way (:mod:`geosurvey.metrics`: haversine on R = 6371.0088 km, a
hit when d <= t, the mean of each image's GeoScore, countries from the GeoNames
gazetteer). Published code differs in small ways that move published numbers:

* OpenStreetView-5M (``metrics/distance_based.py``, ``metrics/utils.py``): R = 6371 km,
  a hit when d < t; country accuracy by reverse geocoding the prediction (GeoNames
  places, as the book does) against ``unique_country``, over the rows whose true country
  is known.
* PIGEON: R = 6378.137 km (the equatorial radius), each image's GeoScore rounded to a
  whole point before averaging, countries by polygon containment (here: Natural Earth
  admin-0, rasterised, :func:`geosurvey.data.places.polygon_countries`; a prediction at
  sea has no country).
* GeoEstimation: R = 6371 km, a hit when d <= t; it reports no country accuracy.

:func:`evaluate` scores predictions under one convention with the keys of
:func:`geosurvey.metrics.evaluate` (:func:`summarize` from distances);
:func:`conventions_table` puts every convention side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import metrics
from .geo import EARTH_RADIUS_KM, geoscore, haversine


@dataclass(frozen=True)
class Convention:
    """How one codebase turns predictions into its published numbers."""

    name: str
    radius_km: float  # Earth radius of its haversine distance
    strict: bool  # a hit at threshold t when d < t (else d <= t)
    # each image's GeoScore rounded to a whole point before averaging
    round_geoscore: bool
    # how a point's country is found: "reverse_geocoding" (GeoNames), "polygons", None
    country: str | None
    # country accuracy over rows whose true country is known
    known_countries_only: bool = False

    def describe(self) -> str:
        hit = "d < t" if self.strict else "d <= t"
        score = "rounded per image" if self.round_geoscore else "unrounded"
        return (
            f"R = {self.radius_km:g} km, {hit}, GeoScore {score}, "
            f"country by {self.country or 'none'}"
        )


CONVENTIONS = {
    "geosurvey": Convention(
        "geosurvey",
        EARTH_RADIUS_KM,
        strict=False,
        round_geoscore=False,
        country="reverse_geocoding",
    ),
    "osv5m": Convention(
        "osv5m",
        6371.0,
        strict=True,
        round_geoscore=False,
        country="reverse_geocoding",
        known_countries_only=True,
    ),
    "pigeon": Convention(
        "pigeon", 6378.137, strict=False, round_geoscore=True, country="polygons"
    ),
    "geoestimation": Convention(
        "geoestimation", 6371.0, strict=False, round_geoscore=False, country=None
    ),
}


def get(convention) -> Convention:
    """A :class:`Convention` by name (or itself)."""
    if isinstance(convention, Convention):
        return convention
    if convention not in CONVENTIONS:
        raise ValueError(
            f"unknown convention {convention!r}; choose from {sorted(CONVENTIONS)}"
        )
    return CONVENTIONS[convention]


def countries_by(method: str, lat, lon) -> np.ndarray:
    """Each point's ISO 3166 alpha-2 country by ``method`` (None where it finds
    none)."""
    from .data import places

    if method == "reverse_geocoding":
        return places.countries(lat, lon)
    if method == "polygons":
        return places.polygon_countries(lat, lon)
    raise ValueError(
        f"unknown country method {method!r}; use 'reverse_geocoding' or 'polygons'"
    )


def _country_accuracy(
    c: Convention, pred_lat, pred_lon, true_lat, true_lon, true_country
) -> float:
    """% of predictions in the true country; blank true countries are left out
    (``known_countries_only``) or looked up from the true location by the same method.
    """
    truth = np.asarray(true_country, dtype=object)
    known = ~pd.isna(truth) & (truth != "")
    if c.known_countries_only:
        pred = countries_by(
            c.country, np.asarray(pred_lat)[known], np.asarray(pred_lon)[known]
        )
        return (
            float(100.0 * np.mean(pred == truth[known]))
            if known.any()
            else float("nan")
        )
    truth = truth.copy()
    truth[~known] = countries_by(
        c.country, np.asarray(true_lat)[~known], np.asarray(true_lon)[~known]
    )
    pred = countries_by(c.country, pred_lat, pred_lon)
    return float(100.0 * np.mean((pred == truth) & ~pd.isna(pred)))


def summarize(d, convention="geosurvey") -> dict:
    """The metrics of :func:`geosurvey.metrics.summarize` from distances ``d`` (km, on
    the convention's sphere), with its hit rule and GeoScore rounding."""
    c = get(convention)
    out = metrics.summarize(d)
    if c.strict:
        out.update(
            {
                f"acc@{t}km": float(100.0 * np.mean(np.asarray(d) < t))
                for t in metrics.THRESHOLDS_KM
            }
        )
    if c.round_geoscore:
        out["geoscore"] = float(np.mean(np.rint(geoscore(d))))
    return out


def evaluate(
    pred_lat, pred_lon, true_lat, true_lon, *, convention="geosurvey", true_country=None
) -> dict:
    """The metrics of :func:`geosurvey.metrics.evaluate` (same keys) under
    ``convention``; with ``true_country`` (ISO alpha-2, None or "" where unknown),
    country accuracy by its method."""
    c = get(convention)
    out = summarize(
        haversine(pred_lat, pred_lon, true_lat, true_lon)
        * (c.radius_km / EARTH_RADIUS_KM),
        c,
    )
    if true_country is not None and c.country is not None:
        n = out.pop("n")
        out["country_acc"] = _country_accuracy(
            c, pred_lat, pred_lon, true_lat, true_lon, true_country
        )
        out["n"] = n
    return out


def conventions_table(
    pred_lat, pred_lon, true_lat, true_lon, true_country=None
) -> pd.DataFrame:
    """One row per convention of :data:`CONVENTIONS`: what it is, and the metrics it
    gives."""
    rows = {
        name: {
            "convention": c.describe(),
            **evaluate(
                pred_lat,
                pred_lon,
                true_lat,
                true_lon,
                convention=c,
                true_country=true_country,
            ),
        }
        for name, c in CONVENTIONS.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index")
