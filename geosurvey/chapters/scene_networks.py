"""Chapter 5, scene-aware networks (Lo et al.; Mueller-Budack et al. 2018): its
settings, the scene labels of every image and the models it trains.

Every network uses chapter 2's recipe (not Lo's SGD: the claims compare these networks
with chapter 2's classifiers) and its three nested partitions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import softmax
from torch import nn

from .. import (
    cache,
    cells,
    features,
    folds,
    inputs,
    losses,
    models,
    places365,
    plans,
    regimes,
    scenes,
)
from ..claims import Claim, on_new_ground
from ..data.geotiles import GeoTilesSpec
from ..data.sets import Crops, TileSet
from ..plans import Init
from .base import ChapterSpec, Job, Settings, knob
from .planet import LEVELS, partitions

NAME = "scene_networks"
# the methods the chapter's claims compare
SINGLE = {lvl: f"single {lvl} classifier" for lvl in LEVELS}
HEAD = {lvl: f"multi-partition, {lvl} head" for lvl in LEVELS}
HIER = "multi-partition, hierarchical product"
CROPS = {1: HIER, 3: f"{HIER}, 3 crops", 5: f"{HIER}, 5 crops"}
CSN = "CSNs routed by the predicted scene"
ORACLE = "CSNs routed by the true location's scene (oracle)"
# the oracle's control: the test images' true scenes shuffled among them (the same
# scene mix, nothing about where an image is)
SHUFFLED = "CSNs routed by a shuffled true scene"
WITH, WITHOUT = "features + predicted scene", "features, no scene"
BASIC, FULL = SINGLE["middle"], "scene-aware: CSNs + hierarchical product + 3 crops"

N_SCENES = 3


@dataclass(frozen=True)
class SceneSettings(Settings):
    # every network trains with chapter 2's recipe, so that it compares with chapter 2's
    # classifiers (Lo 2025, line 185 trains with SGD at 0.01, momentum 0.9)
    RECIPE_FROM = "planet"

    scene_epochs: int = knob(16, "epochs of the scene classifier (at most)")
    csn_epochs: int = knob(4, "epochs of each context-specific network (CSN)")
    csn_lr_scale: float = knob(
        1.0, "a CSN's learning rate, relative to the recipe's (it fine-tunes a network)"
    )
    scene_threshold: float = knob(
        0.5, "tau_s: a training image belongs to a scene above this probability"
    )
    min_csn_images: int = knob(256, "a scene with fewer training images has no CSN")
    crop_fraction: float = knob(0.75, "a crop's side, a share of the shorter side")
    crops: tuple = knob((1, 3, 5), "numbers of test-time crops compared")
    augment: bool = knob(
        True,
        "random crops and flips of the training photos where they stream (Lo 2025, "
        "line 185); the ci profile's cached activations cannot be augmented",
    )
    reassign_km: float = knob(
        500.0,
        "a training image of a dropped cell joins the best-matching of the 3 nearest "
        "kept cells within this distance (Lo 2025, line 79); 0: left out, as in PlaNet",
    )

    PROFILES = {
        "full": {"scene_epochs": 20, "csn_epochs": 10, "min_csn_images": 2000},
        "photos": {"scene_epochs": 1, "csn_epochs": 1, "min_csn_images": 8},
    }


def _hierarchical_scores(ctx, x, hier, names):
    def predict(m, split):
        return cells.hierarchical_decode(
            inputs.head_outputs(m, x[split], ctx.cfg), hier, names
        )

    return plans.val_scores(ctx, predict, x)


def multi_partition(
    ctx,
    name,
    recipe,
    settings,
    hier,
    names,
    *,
    x=None,
    rows=None,
    build=None,
    init: Init | None = None,
    data=None,
    monitors=None,
) -> plans.Plan:
    """Lo et al.'s multi-partition classifier: one head per partition of ``hier`` (named
    ``names``, coarse to fine) on one network, trained with the mean of their
    cross-entropies, validated by the hierarchical prediction on the finest partition.

    ``x``: inputs per split (default the backbone's; a mapping that makes them on first
    access for features of trained models, then ``data`` identifies them); ``rows``: the
    training rows (a context-specific network's scene); ``build``: another network than
    the backbone's (a head on features); ``init``: weights to start from; ``monitors``:
    what its epochs are chosen by (default: each regime's validation GeoScore)."""
    lazy, x = x is not None, ctx.inputs if x is None else x
    meta = ctx.splits["train"] if rows is None else ctx.splits["train"].subset(rows)
    parts = dict(zip(names, hier.partitions))
    sizes = {k: len(p) for k, p in parts.items()}
    build = build or (lambda: models.network(ctx.cfg, models.MultiHead, sizes))

    def train():
        seen = x["train"] if rows is None else x["train"].subset(rows)
        return seen.augmented() if settings.augment else seen

    ident = {"cells": [p.fingerprint() for p in hier.partitions], **(data or {})}
    return plans.supervised(
        ctx,
        name,
        recipe,
        settings,
        build=build,
        loss=losses.MultiPartition(tuple(names)),
        x_train=train if lazy else train(),
        targets=training_cells(ctx, parts, meta, rows, settings.reassign_km),
        data=ident,
        init=init,
        evaluate=lambda: _hierarchical_scores(ctx, x, hier, names),
        monitors=monitors,
    )


def training_cells(ctx, parts: dict, meta, rows, within_km) -> np.ndarray:
    """(n, partitions) training cell of every image of ``meta`` (the training rows
    ``rows``), those of dropped cells near a kept one reassigned by Lo's boundary
    check."""
    labels = cells.partition_labels(parts, meta)
    if within_km <= 0:
        return labels

    def reassigned():
        looks = pooled(ctx)["train"].cached
        looks = looks if rows is None else looks[rows]
        return np.stack(
            [
                cells.reassign_dropped(
                    labels[:, j], meta.lat, meta.lon, p, looks, within_km=within_km
                )
                for j, p in enumerate(parts.values())
            ],
            1,
        )

    which = cache.fingerprint(
        np.c_[labels, np.arange(len(labels)) if rows is None else rows]
    )
    return ctx.memo(f"scenes:cells:{within_km}:{which}", reassigned)  # once per context


def scene_classifier(
    ctx, name, recipe, settings, pooled: dict, probs: dict, *, monitors=None
) -> plans.Plan:
    """A head per scene level (``probs[split]``: ``{"fine"|"middle"|"coarse":
    probabilities}``) on frozen pooled features (``pooled[split]``:
    :class:`~geosurvey.inputs.SplitInputs`), trained against the scene distributions,
    validated by the coarse level's accuracy (``monitors``: what its epochs are
    chosen by instead)."""
    levels = tuple((k, v.shape[1]) for k, v in probs["train"].items())
    targets = np.concatenate(list(probs["train"].values()), 1).astype(np.float32)
    width = pooled["train"].cached.shape[1]

    def build():
        return models.seeded(
            ctx.cfg.seed,
            models.Network,
            nn.Identity(),
            models.MultiHead(width, dict(levels)),
        )

    def evaluate():
        def score(m):  # on the first judged regime's validation split, if any
            out = {}
            for v in [r.val for r in ctx.judged[:1]]:
                pred = inputs.head_outputs(m, pooled[v], ctx.cfg)["coarse"].argmax(1)
                truth = probs[v]["coarse"].argmax(1)
                out[f"{v}_scene_acc"] = float(np.mean(pred == truth))
            return out

        return score

    return plans.supervised(
        ctx,
        name,
        recipe,
        settings,
        build=build,
        loss=losses.SoftTargets(levels),
        x_train=pooled["train"],
        targets=targets,
        evaluate=evaluate,
        monitors=monitors or {ctx.judged[0].key: f"{ctx.val}_scene_acc"},
    )


def scene_labels(ctx):
    """``(hierarchy, {split: {"fine"|"middle"|"coarse": probabilities}}, source
    sentence)``: land cover over the footprint when the images are rendered tiles, the
    Places365 classifier when they are photos."""

    def rows_of(p, rows):
        return {k: v[rows] for k, v in p.items()}

    def make():
        if isinstance(ctx.splits["train"], TileSet):
            extent = GeoTilesSpec().extent_km
            probs = ctx.per_split(
                "scenes:land-cover",
                lambda s: scenes.LAND.probabilities(
                    scenes.land_cover_shares(s.lat, s.lon, extent)
                ),
                take=rows_of,
            )
            return (
                scenes.LAND,
                probs,
                (
                    f"MODIS IGBP land cover 2019 over each tile's {extent:.0f} km "
                    "footprint (the images are GeoTiles, seen from orbit)"
                ),
            )
        hierarchy = places365.hierarchy()
        probs = ctx.per_split(
            "scenes:places365",
            lambda s: hierarchy.probabilities(
                places365.scene_probabilities(s, ctx.cfg)
            ),
            take=rows_of,
        )
        return (
            hierarchy,
            probs,
            (
                "the Places365 WideResNet-18 scene classifier "
                "(CSAIL, Zhou et al. 2017) applied to every photo"
            ),
        )

    return ctx.memo("scenes:labels", make)


def pooled(ctx) -> dict:
    """Frozen pooled backbone features of every split: what the scene classifier
    reads."""
    return ctx.per_split(
        "scenes:pooled",
        lambda s: inputs.SplitInputs(
            s.meta, cached=features.frozen_features(ctx.cfg, s)
        ),
        take=lambda x, rows: x.subset(rows),
    )


def _scene_classifier(ctx, fold: bool = False):
    """The scene classifier's plan; in a fold (``fold``), trained for its epochs with
    the last kept."""
    s = ctx.settings(NAME)
    return scene_classifier(
        ctx,
        "scene-classifier" + "-fold" * fold,
        ctx.recipe(NAME, epochs=s.scene_epochs),
        s,
        pooled(ctx),
        scene_labels(ctx)[1],
        monitors=folds.LAST_EPOCH if fold else None,
    )


def _multi(ctx, fold: bool = False):
    """The multi-partition network's plan; in a fold (``fold``), trained for the
    recipe's epochs with the last kept."""
    _, hier = partitions(ctx)
    return multi_partition(
        ctx,
        "scene-multi-partition" + "-fold" * fold,
        ctx.recipe(NAME),
        ctx.settings(NAME),
        hier,
        LEVELS,
        monitors=folds.LAST_EPOCH if fold else None,
    )


def add_fold_hierarchy(ch, folds_of_run, *, hierarchical: str, fine: str) -> None:
    """Train the multi-partition network once per fold (on that fold's training images
    and cells, for the recipe's epochs, keeping the last) and evaluate its hierarchical
    product as ``hierarchical`` and its fine head alone as ``fine`` on the folds' test
    tiles (:mod:`geosurvey.folds`)."""
    x = inputs.of_images(ch.cfg, folds_of_run.tests)

    def answer(ctx, rows):
        parts, hier = partitions(ctx)
        net = folds.trained(ctx, "scene-multi-partition").net(regimes.FOLDS.key)
        heads = inputs.head_outputs(net, x.subset(rows), ctx.cfg)
        return {
            hierarchical: cells.hierarchical_decode(heads, hier, LEVELS),
            fine: cells.decode(heads["fine"], parts["fine"]),
        }

    folds.add(ch, folds_of_run, answer)


def scene_rows(ctx, k: int, split: str = "train") -> np.ndarray:
    """Images of ``split`` whose probability of coarse scene ``k`` exceeds tau_s."""
    return (
        scene_labels(ctx)[1][split]["coarse"][:, k] > ctx.settings(NAME).scene_threshold
    )


def has_specialist(ctx, k: int) -> bool:
    """Whether scene ``k`` has enough training images (and any validation image, where
    the context validates at all; a fold's does not) for a CSN."""
    enough = scene_rows(ctx, k).sum() >= ctx.settings(NAME).min_csn_images
    return enough and (not ctx.judged or scene_rows(ctx, k, ctx.val).any())


def _context_network(k: int, fold: bool = False):
    """The plan of scene ``k``'s CSN; in a fold (``fold``), from that fold's
    multi-partition network, with the last epoch kept."""

    def plan(ctx):
        _, hier = partitions(ctx)
        s, multi = ctx.settings(NAME), "scene-multi-partition"
        init = folds.init(ctx, multi) if fold else ctx.start_from(multi)
        lr = ctx.recipe(NAME).lr * s.csn_lr_scale
        return multi_partition(
            ctx,
            f"scene-csn-{k + 1}" + "-fold" * fold,
            ctx.recipe(NAME, epochs=s.csn_epochs, lr=lr),
            s,
            hier,
            LEVELS,
            rows=np.flatnonzero(scene_rows(ctx, k)),
            init=init,
            data={"scene": k},
            monitors=folds.LAST_EPOCH if fold else None,
        )

    return plan


def add_fold_csns(ch, folds_of_run, method: str) -> None:
    """Lo's context-specific networks on the folds (:mod:`geosurvey.folds`): in each
    fold the scene classifier, the multi-partition network and a CSN per coarse scene
    with enough of the fold's training images (from the fold's multi-partition
    network) train on that fold's images, keeping their last epochs; each test tile is
    answered by the network of the scene the fold's classifier predicts for it, by the
    hierarchical product, as ``method``."""
    x = inputs.of_images(ch.cfg, folds_of_run.tests)
    looks = inputs.SplitInputs(
        folds_of_run.tests.meta,
        cached=features.frozen_features(ch.cfg, folds_of_run.tests),
    )

    def answer(ctx, rows):
        router = folds.trained(ctx, "scene-classifier").net(regimes.FOLDS.key)
        coarse = inputs.head_outputs(router, looks.subset(rows), ctx.cfg)["coarse"]
        per_scene = []
        for k in range(N_SCENES):
            job = f"scene-csn-{k + 1}" if has_specialist(ctx, k) else None
            net = folds.trained(ctx, job or "scene-multi-partition")
            per_scene.append(
                inputs.head_outputs(net.net(regimes.FOLDS.key), x.subset(rows), ctx.cfg)
            )
        routed = {
            level: scenes.route(softmax(coarse, axis=1), [h[level] for h in per_scene])
            for level in LEVELS
        }
        return {method: cells.hierarchical_decode(routed, partitions(ctx)[1], LEVELS)}

    folds.add(ch, folds_of_run, answer)


def scene_features(ctx) -> dict:
    """The multi-partition network's features, and the scene classifier's coarse
    probabilities, for every split (both from trained models: computed when first asked
    for)."""

    def make():
        multi = ctx.net("scene-multi-partition")
        clf = ctx.net("scene-classifier")
        feats = {
            k: inputs.outputs(multi, x, ctx.cfg, fn=lambda m, b: m.features(b))
            for k, x in ctx.inputs.items()
        }
        scene = {
            k: softmax(inputs.head_outputs(clf, x, ctx.cfg)["coarse"], axis=1)
            for k, x in pooled(ctx).items()
        }
        return feats, scene

    return ctx.memo("scenes:features", make)


def scene_inputs(ctx, job: str) -> dict:
    """What a scene-input job reads for every split: the multi-partition features, with
    the predicted scene probabilities for ``scene-input-with``."""

    def make():
        feats, scene = scene_features(ctx)
        with_scene = job == "scene-input-with"
        return {
            k: inputs.SplitInputs(
                s.meta,
                cached=np.hstack([feats[k], scene[k]]) if with_scene else feats[k],
            )
            for k, s in ctx.splits.items()
        }

    return ctx.memo(f"scenes:inputs:{job}", make)


def _scene_input(with_scene: bool):
    name = f"scene-input-{'with' if with_scene else 'without'}"

    def plan(ctx):
        parts, hier = partitions(ctx)
        width = models.backbones.describe(ctx.cfg.backbone).num_features + (
            N_SCENES if with_scene else 0
        )

        def build():
            head = models.MultiHead(width, {n: len(p) for n, p in parts.items()})
            return models.seeded(ctx.cfg.seed, models.Network, nn.Identity(), head)

        sources = {
            "features": ctx.key("scene-multi-partition"),
            "scene": ctx.key("scene-classifier") if with_scene else None,
        }
        return multi_partition(
            ctx,
            name,
            ctx.recipe(NAME),
            ctx.settings(NAME),
            hier,
            LEVELS,
            x=_Lazy(lambda: scene_inputs(ctx, name)),
            build=build,
            data=sources,
        )

    return plan


class _Lazy(dict):
    """A dict of inputs made on first access (features of models that may still be
    training)."""

    def __init__(self, make):
        super().__init__()
        self._make = make

    def __missing__(self, key):
        self.update(self._make())
        return dict.__getitem__(self, key)


JOBS = (
    Job(
        "scene-classifier",
        NAME,
        "scene classifier: one head per scene level on frozen features",
        _scene_classifier,
        fold_plan=lambda ctx: _scene_classifier(ctx, fold=True),
    ),
    Job(
        "scene-multi-partition",
        NAME,
        "one head per partition (coarse, middle, fine) on one network",
        _multi,
        fold_plan=lambda ctx: _multi(ctx, fold=True),
    ),
    *(
        Job(
            f"scene-csn-{k + 1}",
            NAME,
            f"context-specific network for coarse scene {k + 1} "
            "(the multi-partition network fine-tuned on it)",
            _context_network(k),
            needs=("scene-multi-partition",),
            fold_plan=_context_network(k, fold=True),
        )
        for k in range(N_SCENES)
    ),
    Job(
        "scene-input-with",
        NAME,
        "partition heads on the multi-partition features plus the predicted scene",
        _scene_input(True),
        needs=("scene-multi-partition", "scene-classifier"),
    ),
    Job(
        "scene-input-without",
        NAME,
        "the same heads on the multi-partition features alone",
        _scene_input(False),
        needs=("scene-multi-partition", "scene-classifier"),
    ),
)


CROP_SETS = {3: (0, 2, 4), 5: (0, 1, 2, 3, 4)}  # of the 5 crops: the diagonal, all


def five_crops(ctx, regime):
    """The inputs of the five crops of ``regime``'s test images (computed once)."""
    images = Crops(ctx.splits[regime.test], 5, ctx.settings(NAME).crop_fraction)
    return ctx.memo(
        f"scenes:crops:{regime.test}", lambda: inputs.of_images(ctx.cfg, images)
    )


def crop_logits(ctx, trained, regime, n_crops: int) -> dict:
    """``{level: log of the mean probability}`` of ``trained``'s heads over ``n_crops``
    crops of ``regime``'s test images (3: the diagonal; 5: the corners and the centre);
    one crop is the whole image."""
    net, n = trained.net(regime.key), len(ctx.splits[regime.test])
    if n_crops == 1:
        return inputs.head_outputs(net, ctx.inputs[regime.test], ctx.cfg)
    heads = inputs.head_outputs(net, five_crops(ctx, regime), ctx.cfg)
    out = {}
    for level, logits in heads.items():
        p = softmax(logits.astype(np.float64), axis=1).reshape(5, n, -1)
        out[level] = np.log(np.clip(p[list(CROP_SETS[n_crops])].mean(0), 1e-12, None))
    return out


def single_crops(ctx, trained, regime, hierarchy) -> list:
    """(lat, lon) of ``trained``'s hierarchical answers from each of the five crops of
    ``regime``'s test images alone (``hierarchy``: the nested partitions' links)."""
    net, n = trained.net(regime.key), len(ctx.splits[regime.test])
    heads = inputs.head_outputs(net, five_crops(ctx, regime), ctx.cfg)
    return [
        cells.hierarchical_decode(
            {level: h.reshape(5, n, -1)[c] for level, h in heads.items()},
            hierarchy,
            LEVELS,
        )
        for c in range(5)
    ]


def networks(ctx) -> list:
    """One network per coarse scene: its context-specific network, or the shared
    multi-partition network where the scene has too few training images for one."""
    multi = ctx.fit("scene-multi-partition")
    return [
        ctx.fit(f"scene-csn-{k + 1}") if has_specialist(ctx, k) else multi
        for k in range(N_SCENES)
    ]


def routed_logits(ctx, regime, scene_probs, n_crops: int = 1) -> dict:
    """``{level: logits}`` of ``regime``'s test images, each image answered by the
    network of its most probable scene (``scene_probs``: one row per image)."""
    ctx = ctx.at(regime)
    per_scene = [crop_logits(ctx, t, regime, n_crops) for t in networks(ctx)]
    return {
        lvl: scenes.route(scene_probs, [h[lvl] for h in per_scene])
        for lvl in per_scene[0]
    }


LO_225 = "Lo 2025, lines 219-225: {} vs {} %"
CLAIMS = (
    Claim(
        "multi_single",
        "multi-partition heads beat a single-partition classifier (fine level)",
        HEAD["fine"],
        SINGLE["fine"],
        "geoscore",
        source="this book: Lo 2025 never isolates the heads",
    ),
    Claim(
        "hier_fine",
        "the hierarchical product beats the fine head alone",
        HIER,
        HEAD["fine"],
        "geoscore",
        source="Lo 2025, line 164",
    ),
    Claim(
        "crops3",
        "3 crops beat 1",
        CROPS[3],
        CROPS[1],
        "geoscore",
        source="Lo 2025, line 156",
    ),
    Claim(
        "crops5",
        "5 crops beat 3",
        CROPS[5],
        CROPS[3],
        "geoscore",
        source="this book: Müller-Budack 2018's five crops",
    ),
    Claim(
        "csn",
        "context-specific networks beat one network",
        CSN,
        HIER,
        "geoscore",
        source="Lo 2025, line 146",
    ),
    Claim(
        "oracle",
        "routing by the true location's scene beats the predicted scene",
        ORACLE,
        CSN,
        "geoscore",
        source="this book: a bound, not a method",
        control=True,  # a bound that checks the router, not a finding
    ),
    Claim(
        "oracle_shuffled",
        "routing by the true location's scene beats a shuffled true scene",
        ORACLE,
        SHUFFLED,
        "geoscore",
        source="this book: does the scene tell the CSNs anything?",
        control=True,  # the same scene mix, nothing about where an image is
    ),
    Claim(
        "scene_input",
        "the scene as an extra input helps",
        WITH,
        WITHOUT,
        "geoscore",
        source="this book: not in Lo 2025",
    ),
    Claim(
        "full_basic_2500",
        "the scene-aware model beats the basic predictor at 2500 km",
        FULL,
        BASIC,
        "acc@2500km",
        source=LO_225.format(87.4, 65.8),
    ),
    Claim(
        "basic_full_1",
        "the basic predictor beats the scene-aware model at 1 km",
        BASIC,
        FULL,
        "acc@1km",
        source=LO_225.format(9.3, 8.9),
    ),
    # per coarse scene ({scene_k}: its name, which depends on the scene source)
    *(
        Claim(
            f"csn_{k}",
            f"CSNs as routed beat one network on true {{scene_{k}}} scenes",
            CSN,
            HIER,
            "geoscore",
            region=f"{{scene_{k}}}",
            source="this book: Lo 2025 reports no per-scene results",
        )
        for k in range(1, N_SCENES + 1)
    ),
)

CLAIMS += on_new_ground(CLAIMS, "hier_fine", "csn")  # asked of new ground too

CHAPTER = ChapterSpec(
    name=NAME,
    title="Scene networks",
    notebook="05_scene_networks",
    settings=SceneSettings,
    jobs=JOBS,
    generalisation=("hier_fine_new", "csn_new"),
    claims=CLAIMS,
)
