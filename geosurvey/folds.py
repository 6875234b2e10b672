"""New ground in K folds: spatial K-fold cross-validation on GeoTiles.

Every test disc of a :class:`~geosurvey.data.designs.Design` belongs to one of its K
folds. A fold's test tiles lie inside its own discs; its models train on the
seen-places training tiles outside those discs and their buffers, so each disc is
answered by a model that never imaged its ground, and K models give K times the
independent blocks of one. Nothing a fold's model chooses looks at new ground: the
k-NN floors answer with the k fixed for new ground (:func:`baselines.answering_k`),
and a trained model keeps its last epoch (its recipe's epochs, fixed before any run).
The test set is :data:`~geosurvey.regimes.FOLDS`; a chapter's claims about new places
are judged there too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from . import display, features, geo, plans, retrieval, stats
from .baselines import FROZEN, ORACLE, PRIOR, RAW, answering_k, prior_point, vectors
from .data import designs, geotiles
from .data.sets import TileSet
from .regimes import FOLDS, NEW

# what a fold's trained model is selected by: its last epoch (fixed in advance)
LAST_EPOCH = {FOLDS.key: "epoch"}


@dataclass(frozen=True)
class Folds:
    """A design's test discs (``lat``, ``lon``, ``fold``) and the test tiles drawn in
    them (each row with its ``fold`` and its disc, the ``block``)."""

    design: designs.Design
    discs: pd.DataFrame
    tests: TileSet

    @property
    def fold(self) -> np.ndarray:
        return self.tests.meta["fold"].to_numpy()

    def outside(self, lat, lon, fold: int) -> np.ndarray:
        """Which of the locations a model of ``fold`` may train on: those farther
        than a disc's radius and buffer from every disc of the fold."""
        mine = self.discs[self.discs["fold"] == fold]
        d = geo.haversine(
            np.asarray(lat)[:, None],
            np.asarray(lon)[:, None],
            mine["lat"].to_numpy(),
            mine["lon"].to_numpy(),
        )
        return (d > self.design.radius_km + self.design.buffer_km).all(1)


def of_run(ch, design: designs.Design = designs.FOLDS) -> Folds:
    """The book's folds for ``ch``'s GeoTiles run: ``design``'s discs at the run's
    seed and as many test tiles as the seen-places test split, rendered like it."""

    def make():
        discs = designs.fold_discs(geotiles.labelled_locations(), design, ch.cfg.seed)
        spec, n = ch.cfg.geotiles_spec(), len(ch.splits["test"])
        return Folds(design, discs, geotiles.load_fold_tests(spec, discs, n))

    return ch.memo(f"folds:{design.name}", make)


def context(ch, folds: Folds, fold: int):
    """The context fold ``fold``'s models train in: ``ch``'s training images outside
    the fold's discs and buffers, and no validation split."""
    train = ch.splits["train"]
    rows = np.flatnonzero(folds.outside(train.lat, train.lon, fold))
    return ch.carve(rows, f"{folds.design.name}:{fold}")


def contexts(ctx, which: str) -> list:
    """The contexts of the book's folds ``which`` ("all", or one fold's number) for the
    run ``ctx`` (what ``geosurvey fit JOB --fold`` trains in)."""
    if not isinstance(ctx.splits["train"], TileSet):
        raise ValueError("--fold: the folds of new ground exist on GeoTiles only")
    run = of_run(ctx)
    ks = range(run.design.folds) if which == "all" else [int(which)]
    if not set(ks) <= set(range(run.design.folds)):
        raise ValueError(f"--fold {which}: the folds are 0 to {run.design.folds - 1}")
    return [context(ctx, run, k) for k in ks]


def trained(ctx, job: str):
    """``job`` trained (or loaded) in the fold context ``ctx`` (:func:`context`), as
    its ``fold_plan`` says."""
    spec = ctx.registry.jobs[job]
    if spec.fold_plan is None:
        can = [j for j, s in ctx.registry.jobs.items() if s.fold_plan is not None]
        raise ValueError(f"{job} does not train in folds; these do: {', '.join(can)}")
    return plans.run(ctx.cfg, spec.fold_plan(ctx))


def init(ctx, job: str) -> plans.Init:
    """Start from ``job`` as trained in the fold context ``ctx`` (its last epoch): how
    a fold's second stage starts from that fold's first."""
    key = plans.digest(ctx.cfg, ctx.registry.jobs[job].fold_plan(ctx))
    return plans.Init(key, lambda: trained(ctx, job).states[FOLDS.key])


def start(ch, folds: Folds) -> None:
    """Add the folds' test set, its regime and each test image's distance to the
    nearest training image of its fold (what the claims' reach reads), once."""
    if FOLDS.test in ch.evaluations.sets:
        return
    ch.evaluations.add_set(FOLDS.test, folds.tests.meta)
    reach = np.zeros(len(folds.tests))
    for f in range(folds.design.folds):
        rows, train = folds.fold == f, context(ch, folds, f).splits["train"]
        t = folds.tests.subset(np.flatnonzero(rows))
        reach[rows], _ = geo.nearest(t.lat, t.lon, train.lat, train.lon)
    ch.claims.regimes += (FOLDS,)
    ch.claims.reach[FOLDS.test] = reach


def add(ch, folds: Folds, answer: Callable) -> None:
    """Evaluate methods on the folds: ``answer(ctx, rows)`` gives ``{method: (lat,
    lon)}`` for the test tiles ``rows`` (indices into ``folds.tests``) from fold
    context ``ctx``, so that one model trained per fold may answer as several
    methods."""
    start(ch, folds)
    out = {}
    for f in range(folds.design.folds):
        rows = np.flatnonzero(folds.fold == f)
        for method, (lat, lon) in answer(context(ch, folds, f), rows).items():
            got = out.setdefault(method, np.zeros((2, len(folds.tests))))
            got[:, rows] = lat, lon
    for method, (lat, lon) in out.items():
        ch.evaluations.add(method, FOLDS.test, lat, lon)
        score = pd.Series(geo.geoscore(ch.evaluations.errors(method, FOLDS.test)))
        ch.record.setdefault("folds", {})[method] = {
            f"geoscore by {by}": {
                str(k): round(v, 1) for k, v in score.groupby(key).mean().items()
            }
            for by, key in (("fold", folds.fold), ("block", folds.tests.meta["block"]))
        }


def by_fold(ch, methods) -> pd.DataFrame:
    """Each method's GeoScore on each fold's test tiles, beside how many test tiles
    each fold has."""
    scores = {m: ch.record["folds"][m]["geoscore by fold"] for m in methods}
    out = pd.DataFrame(scores).rename_axis(index="fold", columns="GeoScore")
    counts = pd.Series(ch.evaluations.sets[FOLDS.test].meta["fold"]).value_counts()
    return out.round().astype(int).assign(images=counts.rename(str)[out.index])


def higher_on(per: pd.DataFrame, a: str, b: str) -> str:
    """On how many folds of ``per`` (a :func:`by_fold` table, rounded as shown) method
    ``a`` scores higher than ``b``, with the lower and level ones: ``"4 of 8 folds (3
    lower, 1 level)"``."""
    up, down = int((per[a] > per[b]).sum()), int((per[a] < per[b]).sum())
    level = len(per) - up - down
    rest = [f"{down} lower"] + [f"{level} level"] * bool(level)
    return f"{up} of {len(per)} folds ({', '.join(rest)})"


def counts(ch) -> dict:
    """The blocks of the new-places test (``new_blocks``) and of the folds'
    (``fold_blocks``), and the smallest p-value a test on the new-places blocks can
    reach (``new_p_floor``): what the chapters' prose says of the two."""
    sets = ch.evaluations.sets
    n = [sets[t].n_blocks("Global") if t in sets else 0 for t in (NEW.test, FOLDS.test)]
    return {"new_blocks": n[0], "new_p_floor": stats.p_floor(n[0]), "fold_blocks": n[1]}


def show(ch, methods=(), names=None) -> None:
    """Every method's measures on the folds' test set, then ``methods``' GeoScore fold
    by fold (:func:`by_fold`), under ``names`` where given; nothing without folds."""
    if FOLDS.test in ch.evaluations.sets:
        columns = ["acc@750km", "acc@2500km", "median_km", "geoscore"]
        table = ch.evaluations.table(FOLDS.test, columns=columns)
        display.show(table.rename(index=names or {}))
        if methods:
            display.show(by_fold(ch, methods).rename(columns=names or {}))


def add_floors(ch, folds: Folds) -> None:
    """The prior, the k-NN floors (with the k fixed for new ground) and the oracle on
    the folds."""
    queries = {
        RAW: features.tiny_images(folds.tests, ch.settings("data_and_metrics").tiny_px),
        FROZEN: features.frozen_features(ch.cfg, folds.tests),
    }

    def answer(ctx, rows):
        train, t = ctx.splits["train"], folds.tests.subset(rows)
        out = {PRIOR: tuple(np.full(len(rows), v) for v in prior_point(ctx))}
        for method, kind in ((RAW, "raw"), (FROZEN, "frozen")):
            k = answering_k(ctx, FOLDS)  # new ground: the k fixed in advance
            base = vectors(ctx, kind)["train"]
            index = retrieval.GeoIndex(base, train.lat, train.lon)
            out[method] = retrieval.knn_predict(index, queries[method][rows], k)
        _, idx = geo.nearest(t.lat, t.lon, train.lat, train.lon)
        out[ORACLE] = train.lat[idx], train.lon[idx]
        return out

    add(ch, folds, answer)
