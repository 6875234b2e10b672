"""The one evaluator of the book.

Convention (stated in chapter 1): haversine distance with R = 6371.0088 km; a prediction
is a hit at threshold t when its distance is <= t; thresholds 1/25/200/750/2500 km
("street", "city", "region", "country", "continent"); plus median and mean error, mean
GeoScore (5000 exp(-d / 1492.7)) and, where labels exist, country accuracy. The median
(and the quartiles) is the *lower* median: the smallest error that at least half of the
errors do not exceed (numpy's ``inverted_cdf``), one of the errors, never the mean of
the two middle ones (``np.median``): it is the statistic the block bootstrap resamples
(:func:`geosurvey.stats.weighted_quantiles`), so that an interval is about its own
point.
With an even number of errors it is the smaller middle one. Per-region
breakdowns (Global / Europe / North America as in Wu) use the region of the
*true* location. Intervals and verdicts are :mod:`geosurvey.stats` and
:mod:`geosurvey.claims`.
"""

from __future__ import annotations

import numpy as np

from .geo import geoscore, haversine

THRESHOLDS_KM = (1, 25, 200, 750, 2500)
REGIONS = ("Global", "Europe", "North America")
DESCRIPTION = (
    "haversine, R=6371.0088 km, hit if d <= t, t in 1/25/200/750/2500 km, "
    "GeoScore=5000*exp(-d/1492.7), regions by true location, 95 % block bootstrap "
    "(S2 level-5 cells, 1000 replicates; seeds pooled where several exist), "
    "Holm's correction per chapter"
)


def evaluate(
    pred_lat, pred_lon, true_lat, true_lon, pred_country=None, true_country=None
) -> dict:
    """Accuracy (%) within each threshold, median/mean km, GeoScore, country accuracy
    (%)."""
    hits = None  # country hits, where both countries are known
    if pred_country is not None and true_country is not None:
        hits = np.asarray(pred_country, object) == np.asarray(true_country, object)
    return summarize(haversine(pred_lat, pred_lon, true_lat, true_lon), hits)


def summarize(d, country_hits=None) -> dict:
    """The metrics of :func:`evaluate` from error distances in km (and country hits, if
    known)."""
    d = np.asarray(d, dtype=np.float64)
    if d.size == 0:
        raise ValueError("cannot evaluate an empty set of predictions")
    if not np.all(np.isfinite(d)):
        raise ValueError(
            f"{int((~np.isfinite(d)).sum())} predictions are NaN or infinite"
        )
    out = {f"acc@{t}km": float(100.0 * np.mean(d <= t)) for t in THRESHOLDS_KM}
    # the quantiles of the bootstrap (stats.weighted_quantiles): the smallest error
    # whose share reaches q, so an interval is about its own point
    q1, median, q3 = np.percentile(d, [25, 50, 75], method="inverted_cdf")
    out.update(
        median_km=float(median),
        mean_km=float(d.mean()),
        q1_km=float(q1),
        q3_km=float(q3),
        geoscore=float(geoscore(d).mean()),
    )
    if country_hits is not None:
        out["country_acc"] = float(
            100.0 * np.mean(np.asarray(country_hits, dtype=bool))
        )
    out["n"] = int(d.size)
    return out


def number(value: float, metric: str, sign: bool = False) -> str:
    """``value`` at the precision of ``metric`` (whole km and GeoScore, else one
    decimal), signed where ``sign`` (a difference), never "-0"."""
    digits = 0 if metric.endswith("_km") or metric == "geoscore" else 1
    return f"{round(value, digits) + 0.0:{'+' if sign else ''},.{digits}f}"


def with_interval(value, ci, metric: str, sign: bool = False, unit: str = "") -> str:
    """``value<unit> [low to high]`` at :func:`number`'s precision ("to": a comma
    marks 1,000s)."""
    low, high = (number(x, metric, sign) for x in ci)
    return f"{number(value, metric, sign)}{unit} [{low} to {high}]"
