"""Chapter 3, PIGEON: its settings, its semantic cells and the models it trains.

Every PIGEON model uses chapter 2's training recipe and backbone, so its numbers compare
with PlaNet's; the S2 one-hot classifier of its sweep *is* chapter 2's middle
classifier.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.special import log_softmax

from .. import (
    baselines,
    cells,
    folds,
    geo,
    geography,
    inputs,
    losses,
    models,
    plans,
    regimes,
    retrieval,
)
from ..cells import semantic
from ..claims import Claim, on_new_ground
from ..data.geotiles import load_views
from ..data.places import with_admin
from ..metrics import evaluate
from ..retrieval import refine
from .base import ChapterSpec, Job, Settings, knob
from .planet import cell_classifier, partitions

NAME = "pigeon"

SMOOTHINGS = (0.25, 0.5, 1.0)
# the methods the chapter's claims compare (MAIN: the chapter's PIGEON, from its sweep)
MAIN, S2_MAIN = "semantic, validated smoothing", "S2, validated smoothing"
FUSED, AUX = "semantic, views fused", "semantic + auxiliary heads"
AGAIN = "{} three times, fused"  # FUSED's control: one condition, rendered three times
INTRA, REFINED = "semantic, intra-cell retrieval", "semantic, cluster refinement"


@dataclass(frozen=True)
class PigeonSettings(Settings):
    RECIPE_FROM = "planet"  # every model trains with chapter 2's recipe

    smoothing: tuple = knob(
        SMOOTHINGS,
        "haversine smoothing tau, as multiples of each partition's cell spacing",
    )
    semantic_min_ratio: float = knob(
        0.5,
        "semantic cells: merge target n_min = this x tau_max (PIGEON: 1000 to 2000)",
    )
    aux_weight: float = knob(0.3, "weight of each auxiliary loss (the cell loss's: 1)")
    aux_smoothing: float = knob(0.5, "smoothing (x spacing) of the auxiliary model")
    photos_per_cluster: int = knob(10, "training images per cluster in refinement")
    refine_top_k: tuple = knob(
        (1, 3, 5, 10),
        "numbers of top cells refinement may search, chosen on validation",
    )


def multitask(
    ctx, name, recipe, settings, partition, aux: dict, *, main_loss, weight
) -> plans.Plan:
    """A cell classifier with auxiliary heads (PIGEON): ``aux`` maps a task name to
    ``(values per training image, number of classes or 1 for a standardised value)``."""
    x = ctx.inputs["train"]
    labels = partition.assign(x.lat, x.lon)
    keep = labels != cells.DROPPED
    columns = [labels, x.lat, x.lon] + [
        np.asarray(v, np.float64) for v, _ in aux.values()
    ]
    targets = np.stack(columns, 1)[keep].astype(np.float32)
    sizes = {"cells": len(partition), **{k: n for k, (_, n) in aux.items()}}
    loss = losses.WithAuxiliary(
        main_loss, tuple((k, n) for k, (_, n) in aux.items()), weight
    )

    def predict(m, split):
        logits = inputs.outputs(
            m, ctx.inputs[split], ctx.cfg, fn=lambda net, b: net(b)["cells"]
        )
        return cells.decode(logits, partition)

    return plans.supervised(
        ctx,
        name,
        recipe,
        settings,
        build=lambda: models.network(ctx.cfg, models.MultiHead, sizes),
        loss=loss,
        x_train=x.subset(keep),
        targets=targets,
        evaluate=lambda: plans.val_scores(ctx, predict),
        data={"cells": partition.fingerprint()},
    )


def semantic_cells(ctx):
    """PIGEON-style semantic cells of the training points, at the S2 middle partition's
    tau_max."""

    def make():
        train, s = ctx.splits["train"], ctx.settings(NAME)
        tau_max, drop_bound = ctx.settings("planet").taus(len(train))["middle"]
        admin = with_admin(train.meta)
        return semantic(
            train.lat,
            train.lon,
            admin["country"],
            admin["admin1"],
            tau_max=tau_max,
            n_min=int(tau_max * s.semantic_min_ratio),
            drop_below=drop_bound + 1,  # as chapter 2's cells drop theirs
        )

    return ctx.memo("pigeon:semantic", make)


def cell_sets(ctx, regime=None) -> dict:
    """``{"S2": the middle adaptive partition, "semantic": semantic cells}`` of the
    training locations (those ``regime``'s models train on, when given)."""
    ctx = ctx if regime is None else ctx.at(regime)
    return {"S2": partitions(ctx)[0]["middle"], "semantic": semantic_cells(ctx)}


def spacing_km(partition) -> float:
    """Median distance from a cell's member mean to the nearest other cell's."""
    return float(np.median(geo.nearest_other(*partition.centers("mean"))[0]))


def smoothing_loss(partition, factor: float):
    lat, lon = partition.centers("mean")
    return losses.HaversineSmoothing(lat, lon, round(factor * spacing_km(partition)))


def _classifier(cells_name: str, factor, fold: bool = False):
    """The plan of one setting of the sweep; in a fold (``fold``), trained for the
    recipe's epochs with the last kept."""
    tag = "onehot" if factor is None else f"smooth{factor:g}"

    def plan(ctx):
        part = cell_sets(ctx)[cells_name]
        loss = None if factor is None else smoothing_loss(part, factor)
        recipe = ctx.recipe(NAME)
        return cell_classifier(
            ctx,
            f"pigeon-{cells_name.lower()}-{tag}" + "-fold" * fold,
            recipe,
            ctx.settings(NAME),
            part,
            loss=loss,
            monitors=folds.LAST_EPOCH if fold else None,
        )

    return plan


def add_fold_cells(ch, folds_of_run, methods: dict, factor: float) -> None:
    """Train the classifiers over the cells of ``methods`` (``{"S2"|"semantic":
    method}``) with haversine smoothing ``factor`` once per fold (on that fold's
    training images and cells, for the recipe's epochs, keeping the last) and evaluate
    each as its method on the folds' test tiles (:mod:`geosurvey.folds`)."""
    x = inputs.of_images(ch.cfg, folds_of_run.tests)

    def answer(ctx, rows):
        out = {}
        for name, method in methods.items():
            job = folds.trained(ctx, job_name(name, factor))
            logits = inputs.outputs(job.net(regimes.FOLDS.key), x.subset(rows), ctx.cfg)
            out[method] = cells.decode(logits, cell_sets(ctx)[name])
        return out

    folds.add(ch, folds_of_run, answer)


def geography_tables(ctx) -> dict:
    """Climate, land cover, elevation and distance to the coast at every split's
    locations."""
    return ctx.memo(
        "pigeon:geography",
        lambda: {k: geography.describe(v.lat, v.lon) for k, v in ctx.splits.items()},
    )


def _auxiliary(ctx):
    s = ctx.settings(NAME)
    part = semantic_cells(ctx)
    aux = geography.auxiliary_targets(geography_tables(ctx)["train"])
    return multitask(
        ctx,
        "pigeon-auxiliary",
        ctx.recipe(NAME),
        s,
        part,
        aux,
        main_loss=smoothing_loss(part, s.aux_smoothing),
        weight=s.aux_weight,
    )


def job_name(cells_name: str, factor) -> str:
    """The job of one setting of the smoothing sweep (S2 one-hot is chapter 2's
    classifier)."""
    if cells_name == "S2" and factor is None:
        return "planet-middle"
    target = "onehot" if factor is None else f"smooth{factor:g}"
    return f"pigeon-{cells_name.lower()}-{target}"


CELLS = {"S2": "the middle S2 cells", "semantic": "semantic cells"}
JOBS = (
    *(
        Job(
            job_name(cells, f),
            NAME,
            f"classifier over {CELLS[cells]}, haversine smoothing {f:g} x spacing",
            _classifier(cells, f),
            fold_plan=_classifier(cells, f, fold=True),
        )
        for cells in CELLS
        for f in SMOOTHINGS
    ),
    Job(
        "pigeon-semantic-onehot",
        NAME,
        "classifier over semantic cells, one-hot labels",
        _classifier("semantic", None),
    ),
    Job(
        "pigeon-auxiliary",
        NAME,
        "semantic-cell classifier with climate, land cover, elevation and coast heads",
        _auxiliary,
    ),
)


def validated(trained: dict, regimes) -> dict:
    """``{regime key: setting}``: the setting of a sweep (``trained``: ``{setting:
    Trained}``) whose best epoch scored highest on that regime's validation split (the
    seen-places one for a regime without its own, the eval set)."""

    def score(setting, regime):
        best = trained[setting].history.best
        return best.get(regime.key, best["seen"])["score"]

    return {r.key: max(trained, key=lambda f: score(f, r)) for r in regimes}


def view_log_probs(ctx, trained, regime, conditions=None) -> np.ndarray:
    """(views, images, cells) log-probabilities of every rendering of ``regime``'s test
    places under each condition (GeoTiles' views of one place); ``conditions`` names
    the condition of each view (default: one of each), so ``("relief",) * 3`` gives
    three fresh renderings under one condition."""
    test = ctx.splits[regime.test]
    spec = ctx.cfg.geotiles_spec()
    views = load_views(
        replace(spec, conditions=tuple(conditions or spec.conditions)), test
    )
    logits = ctx.outputs(trained, regime, x=inputs.of_images(ctx.cfg, views))
    return log_softmax(logits.astype(np.float64), axis=1).reshape(
        -1, len(test), logits.shape[1]
    )


def features(ctx, trained, regime, split: str) -> np.ndarray:
    """Pooled features of ``trained``'s network (``regime``'s weights) for ``split``."""
    return ctx.outputs(trained, regime, split=split, fn=lambda m, b: m.features(b))


def clusters_of(ctx, trained, regime):
    """PIGEON's location clusters inside each semantic cell of ``regime``'s training
    split, embedded by ``regime``'s weights (as its queries will be)."""
    base = regime.train(ctx.splits)
    train = ctx.splits[base]
    return retrieval.location_clusters(
        cell_sets(ctx, regime)["semantic"].labels,
        train.lat,
        train.lon,
        features(ctx, trained, regime, base),
        per_cluster=ctx.settings(NAME).photos_per_cluster,
        seed=ctx.cfg.seed,
    )


def intra_cell(ctx, trained, regime):
    """The survey's intra-cell retrieval (Falde 2025, line 102) for ``regime``'s test
    images: the location of the most similar training image (pooled features) inside
    each one's most probable semantic cell."""
    base = regime.train(ctx.splits)
    train = ctx.splits[base]
    return retrieval.nearest_member(
        ctx.outputs(trained, regime).argmax(1),
        cell_sets(ctx, regime)["semantic"].labels,
        features(ctx, trained, regime, base),
        train.lat,
        train.lon,
        features(ctx, trained, regime, regime.test),
    )


def refined(ctx, trained, clusters, regime):
    """PIGEON's refinement of ``regime``'s test answers, searching the top k cells that
    its validation split chose: ``(lat, lon, k, {k: validation GeoScore})``."""
    val = ctx.splits[regime.val]
    logits, feats = (
        ctx.outputs(trained, regime, split=regime.val),
        features(ctx, trained, regime, regime.val),
    )
    score = {
        k: evaluate(*refine(logits, clusters, feats, k)[:2], val.lat, val.lon)[
            "geoscore"
        ]
        for k in ctx.settings(NAME).refine_top_k
    }
    k = max(score, key=score.get)
    lat, lon, _ = refine(
        ctx.outputs(trained, regime),
        clusters,
        features(ctx, trained, regime, regime.test),
        k,
    )
    return lat, lon, k, score


SMOOTHING_LINES, NOT_IN_FALDE = (
    "Falde 2025, lines 77-79",
    "Haas et al. 2024, the PIGEON paper (not in Falde 2025)",
)
CLAIMS = (
    Claim(
        "smooth_s2",
        "smoothing beats one-hot labels (S2 cells)",
        S2_MAIN,
        "S2, one-hot",
        "geoscore",
        source=SMOOTHING_LINES,
    ),
    Claim(
        "smooth_semantic",
        "smoothing beats one-hot labels (semantic cells)",
        MAIN,
        "semantic, one-hot",
        "geoscore",
        source=SMOOTHING_LINES,
    ),
    Claim(
        "semantic_s2",
        "semantic cells beat S2 cells",
        MAIN,
        S2_MAIN,
        "geoscore",
        source="Falde 2025, lines 67-70",
    ),
    Claim(
        "views",
        "fusing three renderings beats one view",
        FUSED,
        MAIN,
        "geoscore",
        source="this book: PIGEON's fusion of views, on three renderings of one tile",
    ),
    # against the classifier of the same smoothing without the heads (a setting)
    Claim(
        "aux",
        "auxiliary geography helps geolocation",
        AUX,
        "{aux_plain}",
        "geoscore",
        source=NOT_IN_FALDE,
    ),
    *(
        Claim(
            f"refine_{t}",
            f"intra-cell retrieval beats the top cell's mean at {t} km",
            INTRA,
            MAIN,
            f"acc@{t}km",
            source="Falde 2025, line 102 (the threshold is this book's)",
        )
        for t in (25, 200)
    ),
    Claim(
        "semantic_prior",
        "semantic cells beat the prior (GeoScore)",
        MAIN,
        baselines.PRIOR,
        "geoscore",
        source="this book: a floor every method must clear",
    ),
)

CLAIMS += on_new_ground(CLAIMS, "semantic_s2")  # asked of new ground too

CHAPTER = ChapterSpec(
    name=NAME,
    title="PIGEON",
    notebook="03_pigeon",
    settings=PigeonSettings,
    jobs=JOBS,
    generalisation=("semantic_prior", "semantic_s2_new"),
    claims=CLAIMS,
)
