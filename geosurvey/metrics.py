"""The one evaluator of the book, and the results files every chapter writes.

Convention (stated in chapter 1): haversine distance with R = 6371.0088 km; a prediction is a hit
at threshold t when its distance is <= t; thresholds 1/25/200/750/2500 km ("street", "city",
"region", "country", "continent"); plus median and mean error, mean GeoScore
(5000 exp(-d / 1492.7)) and, where labels exist, country accuracy. Per-region breakdowns
(Global / Europe / North America as in seed 002) use the region of the *true* location.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .geo import geoscore, haversine

THRESHOLDS_KM = (1, 25, 200, 750, 2500)
REGIONS = ("Global", "Europe", "North America")


def evaluate(pred_lat, pred_lon, true_lat, true_lon, pred_country=None, true_country=None) -> dict:
    """Accuracy (%) within each threshold, median/mean km, GeoScore, country accuracy (%)."""
    return summarize(haversine(pred_lat, pred_lon, true_lat, true_lon), pred_country, true_country)


def summarize(d, pred_country=None, true_country=None) -> dict:
    """The metrics of :func:`evaluate` from an array of error distances in km."""
    d = np.asarray(d, dtype=np.float64)
    if d.size == 0:
        raise ValueError("cannot evaluate an empty set of predictions")
    if not np.all(np.isfinite(d)):
        raise ValueError(f"{int((~np.isfinite(d)).sum())} predictions are NaN or infinite")
    out = {f"acc@{t}km": float(100.0 * np.mean(d <= t)) for t in THRESHOLDS_KM}
    out.update(median_km=float(np.median(d)), mean_km=float(d.mean()), geoscore=float(geoscore(d).mean()), n=int(d.size))
    if pred_country is not None and true_country is not None:
        pc, tc = np.asarray(pred_country, dtype=object), np.asarray(true_country, dtype=object)
        out["country_acc"] = float(100.0 * np.mean(pc == tc))
    return out


def evaluate_regions(pred_lat, pred_lon, meta: pd.DataFrame, regions=REGIONS, pred_country=None) -> dict:
    """``{region: metrics}`` where a region filters test rows by ``meta['continent']``."""
    out = {}
    for region in regions:
        mask = np.ones(len(meta), bool) if region == "Global" else (meta["continent"].to_numpy() == region)
        if not mask.any():
            continue
        pc = None if pred_country is None else np.asarray(pred_country, dtype=object)[mask]
        tc = meta["country"].to_numpy()[mask] if ("country" in meta and pc is not None) else None
        out[region] = evaluate(np.asarray(pred_lat)[mask], np.asarray(pred_lon)[mask],
                               meta["lat"].to_numpy()[mask], meta["lon"].to_numpy()[mask], pc, tc)
    return out


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` so that readers see either the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Results:
    """Collects ``method -> {region: metrics}`` for one chapter and writes ``results/<chapter>.json``.

    >>> res = Results("data_and_metrics", profile="ci", seed=0)
    >>> res.add("prior", pred_lat, pred_lon, test_meta)       # doctest: +SKIP
    >>> res.table()                                           # doctest: +SKIP
    """

    def __init__(self, chapter: str, profile: str, seed: int, root="results"):
        self.chapter, self.profile, self.seed = chapter, profile, seed
        self.path = Path(root) / f"{chapter}.json"
        self.methods: dict[str, dict] = {}
        self.extra: dict[str, dict] = {}
        self.started = time.perf_counter()

    def add(self, method: str, pred_lat, pred_lon, meta: pd.DataFrame, pred_country=None, regions=REGIONS, **info):
        """Evaluate one method on ``meta`` (lat, lon, continent[, country]) and record it.

        Without ``pred_country``, the predicted points are geocoded with the same offline gazetteer
        that labelled the data, so every method gets a country accuracy.
        """
        if pred_country is None and "country" in meta:
            from .data.places import countries

            pred_country = countries(pred_lat, pred_lon)
        self.methods[method] = evaluate_regions(pred_lat, pred_lon, meta, regions, pred_country)
        if info:
            self.extra[method] = info
        return self.methods[method]["Global"]

    def table(self, region: str = "Global", columns=None) -> pd.DataFrame:
        rows = {m: r[region] for m, r in self.methods.items() if region in r}
        df = pd.DataFrame.from_dict(rows, orient="index")
        for m, info in self.extra.items():
            for k, v in info.items():
                if m in df.index:
                    df.loc[m, k] = v
        return df if columns is None else df[[c for c in columns if c in df]]

    def regions_table(self, columns, regions=REGIONS, axis: int = 1) -> pd.DataFrame:
        """The rounded ``columns`` of every region side by side (``axis=1``) or stacked (``axis=0``)."""
        return pd.concat({r: format_table(self.table(r, columns)) for r in regions}, axis=axis)

    def save(self, n_test: int, **meta) -> Path:
        payload = {
            "chapter": self.chapter, "profile": self.profile, "seed": self.seed, "n_test": int(n_test),
            "wall_time_s": round(time.perf_counter() - self.started, 1),
            "machine": platform.machine(), "evaluator": evaluator_description(),
            "methods": self.methods, "method_info": self.extra, **meta,
        }
        atomic_write_text(self.path, json.dumps(payload, indent=2, sort_keys=False, default=float))
        return self.path


def evaluator_description() -> str:
    return ("haversine, R=6371.0088 km, hit if d <= t, t in 1/25/200/750/2500 km, "
            "GeoScore=5000*exp(-d/1492.7), regions by true location")


def load_results(chapter: str, root="results") -> dict:
    path = Path(root) / f"{chapter}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: execute the '{chapter}' chapter first (make book)")
    return json.loads(path.read_text())


def format_table(df: pd.DataFrame) -> pd.DataFrame:
    """Rounded copy for display: accuracies and scores to 1 decimal, distances to whole km."""
    out = df.copy()
    for c in out.columns:
        if c.startswith("acc@") or c in ("country_acc",):
            out[c] = out[c].astype(float).round(1)
        elif c in ("median_km", "mean_km", "geoscore"):
            out[c] = out[c].astype(float).round(0).astype(int)
    return out
