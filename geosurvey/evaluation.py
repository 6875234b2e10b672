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
from scipy.sparse.csgraph import connected_components

from . import metrics, stats, timings
from .geo import geoscore, haversine, spherical_mean

GROUP_COLUMNS = ("continent", "scene")


@dataclass
class TestSet:
    """A test split's rows and its spatial blocks (for the bootstrap and the tests).

    ``block`` holds fixed blocks (the held-out discs of new places) or, where it is
    None, blocks are the S2 cells of whichever level a claim asks for."""

    meta: pd.DataFrame
    block: np.ndarray | None = None
    weights: dict = field(default_factory=dict)  # (region, level) -> weights

    @classmethod
    def of(cls, meta: pd.DataFrame, merge_km: float = 0.0) -> "TestSet":
        """Blocks from the metadata's ``block`` column where it has one (the held-out
        disc of a new-places location; discs whose centres lie within ``merge_km`` of
        each other share ground and are merged into one block), else none fixed."""
        meta = meta.reset_index(drop=True)
        if "block" not in meta:
            return cls(meta)
        block = np.unique(meta["block"].astype(str), return_inverse=True)[1]
        return cls(meta, merge_close(meta, block.reshape(-1), merge_km))

    def blocks(self, region: str, level: int | None = None) -> np.ndarray:
        """Block index (0..k-1) of every row of ``region``: the fixed blocks, else the
        S2 cells of ``level`` (the finest of :data:`stats.BLOCK_LEVELS` by default)."""
        mask = self.mask(region)
        if self.block is not None:
            block = self.block[mask]
        else:
            meta = self.meta[mask]
            level = stats.BLOCK_LEVELS[0] if level is None else level
            block = stats.blocks(meta["lat"].to_numpy(), meta["lon"].to_numpy(), level)
        return np.unique(block, return_inverse=True)[1].reshape(-1)

    def n_blocks(self, region: str, level: int | None = None) -> int:
        """How many blocks hold the rows of ``region``."""
        return int(self.blocks(region, level).max(initial=-1)) + 1

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

    def bootstrap(self, region: str, level: int | None = None) -> np.ndarray:
        """Block-bootstrap weights of the rows of ``region`` (the same for every
        method)."""
        if (region, level) not in self.weights:
            self.weights[region, level] = stats.block_weights(
                self.blocks(region, level)
            )
        return self.weights[region, level]


def merge_close(meta: pd.DataFrame, block: np.ndarray, within_km: float) -> np.ndarray:
    """``block`` with blocks whose centres (the spherical mean of their rows) lie
    within ``within_km`` of each other merged into one, through chains of close blocks
    (single linkage)."""
    if not len(block):
        return block
    lat, lon = meta["lat"].to_numpy(), meta["lon"].to_numpy()
    centres = [
        spherical_mean(lat[block == b], lon[block == b]) for b in range(block.max() + 1)
    ]
    clat, clon = (np.array(c, np.float64) for c in zip(*centres))
    close = haversine(clat[:, None], clon[:, None], clat[None], clon[None]) <= within_km
    return connected_components(close, directed=False)[1][block]


@dataclass
class Evaluated:
    pred_lat: np.ndarray
    pred_lon: np.ndarray
    d: np.ndarray
    hits: np.ndarray | None
    info: dict = field(default_factory=dict)
    replicates: dict = field(default_factory=dict)  # bootstrap, by (region, level)


class Evaluations:
    """Predictions of methods on test sets; ``sets`` maps a split key to its
    metadata."""

    def __init__(self, sets: dict, merge_km: float = 0.0):
        self.merge_km = merge_km
        self.sets = {k: TestSet.of(meta, merge_km) for k, meta in sets.items()}
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

    def add_set(self, split: str, meta: pd.DataFrame) -> None:
        """A further test set (a subset of a regime's test split), blocked alike."""
        self.sets[split] = TestSet.of(meta, self.merge_km)
        for (_, s), e in self.done.items():
            if s == split:  # its replicates were drawn on the former set's blocks
                e.replicates.clear()

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

    def samples(
        self, method: str, split: str, region: str = "Global", level: int | None = None
    ) -> dict:
        """Block-bootstrap replicates of every metric (paired across methods on
        ``split``), with blocks of ``level`` where the split has no fixed blocks."""
        e, ts = self.done[(method, split)], self.sets[split]
        key = (region, level)
        if key not in e.replicates:
            mask = ts.mask(region)
            hits = None if e.hits is None else e.hits[mask]
            with timings.span("bootstrap"):
                e.replicates[key] = stats.weighted_metrics(
                    e.d[mask], ts.bootstrap(region, level), metrics.THRESHOLDS_KM, hits
                )
        return e.replicates[key]

    def per_image(self, method: str, split: str, metric: str, region: str = "Global"):
        """Each image's share of ``metric`` where the metric is a mean over images
        (a hit, a GeoScore, an error in km), else None (a median or quartile)."""
        e = self.done[(method, split)]
        mask = self.sets[split].mask(region)
        d = e.d[mask]
        if metric.startswith("acc@"):
            return 100.0 * (d <= float(metric[4:-2]))
        if metric == "country_acc":
            return None if e.hits is None else 100.0 * e.hits[mask]
        return {"geoscore": geoscore(d), "mean_km": d}.get(metric)

    def intervals(self, method: str, split: str, region: str = "Global") -> dict:
        return {
            k: stats.interval(v) for k, v in self.samples(method, split, region).items()
        }

    def table(
        self, split: str, methods=None, *, region="Global", columns=None, interval=()
    ) -> pd.DataFrame:
        """One row per method: its metrics on ``split`` in ``region``, what it recorded;
        the metric(s) ``interval`` names as ``value [low to high]``, a 95 % interval."""
        rows = {}
        for m in methods or self.methods(split):
            if self.has(m, split) and self.sets[split].mask(region).any():
                rows[m] = {
                    **self.metrics(m, split, region),
                    **self.done[(m, split)].info,
                }
                for c in [interval] if isinstance(interval, str) else interval:
                    ci = stats.interval(self.samples(m, split, region)[c])
                    rows[m][c] = metrics.with_interval(rows[m][c], ci, c)
        df = pd.DataFrame.from_dict(rows, orient="index")
        return df if columns is None else df[[c for c in columns if c in df]]

    def by_block(self, split: str, methods, metric: str = "geoscore") -> pd.DataFrame:
        """One row per fixed block of ``split`` (a held-out disc): its continent, its
        images and each method's ``metric`` on them."""
        ts = self.sets[split]
        rows = {}
        for b in np.unique(ts.block):
            rows_b = ts.block == b
            meta = ts.meta[rows_b]
            where = meta["continent"].mode().iat[0] if "continent" in meta else "block"
            name = f"{where} {b + 1}"
            row = {"images": int(rows_b.sum())}
            for m in methods:
                d = self.done[(m, split)].d[rows_b]
                hits = self.done[(m, split)].hits
                row[m] = metrics.summarize(d, None if hits is None else hits[rows_b])[
                    metric
                ]
            rows[name] = row
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("block")
