"""Every method's predictions on every test set, measured by the one evaluator.

:class:`Evaluations` holds, for each (method, test set), the predicted points, the error
of every image and whether its predicted country is right; metrics come from
:func:`geosurvey.metrics.summarize` and their intervals from the block bootstrap of
:mod:`geosurvey.stats`. Results break down by *region*: ``Global``, or any value of a
group column of the test set's metadata (its ``continent``, or a chapter's ``scene``),
always by the *true* location.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import metrics, stats, timings
from .geo import haversine

GROUP_COLUMNS = ("continent", "scene")


@dataclass
class TestSet:
    """A test split's rows and its spatial blocks (for the bootstrap)."""

    meta: pd.DataFrame
    block: np.ndarray
    weights: dict = field(
        default_factory=dict
    )  # region -> bootstrap weights, made on demand

    @classmethod
    def of(cls, meta: pd.DataFrame) -> "TestSet":
        """Blocks from the metadata's ``block`` column where it has one (the held-out
        disc of a new-places location), else the S2 cells of :func:`stats.blocks`."""
        meta = meta.reset_index(drop=True)
        if "block" in meta:
            block = np.unique(meta["block"].astype(str), return_inverse=True)[1]
            return cls(meta, block.reshape(-1))
        return cls(meta, stats.blocks(meta["lat"].to_numpy(), meta["lon"].to_numpy()))

    def n_blocks(self, region: str) -> int:
        """How many blocks hold the rows of ``region``."""
        return len(np.unique(self.block[self.mask(region)]))

    def mask(self, region: str) -> np.ndarray:
        """Rows of ``region`` (``Global``: all); an empty mask where no group has that
        value."""
        if region == "Global":
            return np.ones(len(self.meta), bool)
        hit = np.zeros(len(self.meta), bool)
        for col in GROUP_COLUMNS:
            if col in self.meta:
                hit |= self.meta[col].to_numpy() == region
        return hit

    def bootstrap(self, region: str) -> np.ndarray:
        """Block-bootstrap weights of the rows of ``region`` (the same for every
        method)."""
        if region not in self.weights:
            blocks = np.unique(self.block[self.mask(region)], return_inverse=True)[1]
            self.weights[region] = stats.block_weights(blocks.reshape(-1))
        return self.weights[region]


@dataclass
class Evaluated:
    pred_lat: np.ndarray
    pred_lon: np.ndarray
    d: np.ndarray
    hits: np.ndarray | None
    info: dict = field(default_factory=dict)


class Evaluations:
    """Predictions of methods on test sets; ``sets`` maps a split key to its
    metadata."""

    def __init__(self, sets: dict):
        self.sets = {k: TestSet.of(meta) for k, meta in sets.items()}
        self.done: dict[tuple, Evaluated] = {}

    def add(
        self, method: str, split: str, pred_lat, pred_lon, *, pred_country=None, **info
    ) -> dict:
        """Evaluate ``method``'s predictions on test set ``split``; returns its Global
        metrics.

        Without ``pred_country`` the predicted points are geocoded with the gazetteer
        that labelled the data, so every method gets a country accuracy.
        """
        meta = self.sets[split].meta
        plat, plon = np.asarray(pred_lat, np.float64), np.asarray(pred_lon, np.float64)
        if len(plat) != len(meta):
            raise ValueError(
                f"{method}: {len(plat)} predictions for the {len(meta)} rows of {split}"
            )
        hits = None
        if "country" in meta:
            if pred_country is None:
                from .data.places import countries

                pred_country = countries(plat, plon)
            hits = np.asarray(pred_country, dtype=object) == meta["country"].to_numpy(
                dtype=object
            )
        d = haversine(plat, plon, meta["lat"].to_numpy(), meta["lon"].to_numpy())
        self.done[(method, split)] = Evaluated(plat, plon, d, hits, info)
        return self.metrics(method, split)

    def has(self, method: str, split: str) -> bool:
        return (method, split) in self.done

    def methods(self, split: str) -> list:
        return [m for m, s in self.done if s == split]

    def errors(self, method: str, split: str) -> np.ndarray:
        return self.done[(method, split)].d

    def predicted(self, method: str, split: str):
        e = self.done[(method, split)]
        return e.pred_lat, e.pred_lon

    def metrics(self, method: str, split: str, region: str = "Global") -> dict:
        """Every metric of ``method`` on ``split`` in ``region`` (empty when it has no
        rows)."""
        e, mask = self.done[(method, split)], self.sets[split].mask(region)
        if not mask.any():
            return {}
        return metrics.summarize(e.d[mask], None if e.hits is None else e.hits[mask])

    def samples(self, method: str, split: str, region: str = "Global") -> dict:
        """Block-bootstrap replicates of every metric (paired across methods on
        ``split``)."""
        e, ts = self.done[(method, split)], self.sets[split]
        mask = ts.mask(region)
        hits = None if e.hits is None else e.hits[mask]
        with timings.span("bootstrap"):
            return stats.weighted_metrics(
                e.d[mask], ts.bootstrap(region), metrics.THRESHOLDS_KM, hits
            )

    def intervals(self, method: str, split: str, region: str = "Global") -> dict:
        return {
            k: stats.interval(v) for k, v in self.samples(method, split, region).items()
        }

    def table(
        self, split: str, methods=None, *, region: str = "Global", columns=None
    ) -> pd.DataFrame:
        """One row per method: its metrics on ``split`` in ``region`` and what it
        recorded."""
        rows = {}
        for m in methods or self.methods(split):
            if self.has(m, split) and self.sets[split].mask(region).any():
                rows[m] = {
                    **self.metrics(m, split, region),
                    **self.done[(m, split)].info,
                }
        df = pd.DataFrame.from_dict(rows, orient="index")
        return df if columns is None else df[[c for c in columns if c in df]]

    def interval_table(
        self,
        split: str,
        methods=None,
        *,
        region: str = "Global",
        columns=("acc@25km", "acc@750km", "acc@2500km", "median_km"),
    ):
        """Each metric as ``value [low, high]`` with its 95 % block-bootstrap
        interval."""
        out = {}
        for m in methods or self.methods(split):
            point, ci = self.metrics(m, split, region), self.intervals(m, split, region)
            out[m] = {c: metrics.with_interval(point[c], ci[c], c) for c in columns}
        return pd.DataFrame.from_dict(out, orient="index")
