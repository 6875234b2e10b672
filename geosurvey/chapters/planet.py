"""Chapter 2, PlaNet: its settings, its partitions and the models it trains.

The three nested adaptive partitions built here (coarse, middle, fine) are the cells of
every later chapter too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_softmax

from .. import (
    albums,
    backbones,
    cells,
    folds,
    geo,
    inputs,
    losses,
    models,
    plans,
    regimes,
)
from ..baselines import FROZEN, PRIOR
from ..claims import Claim
from .base import ChapterSpec, Job, Settings, knob

NAME = "planet"

LEVELS = ("coarse", "middle", "fine")
# the methods the chapter's claims compare
MEAN, CENTRE = "classifier, cell mean", "classifier, cell centre"
CHORD, DISTANCE = "regression, chord loss", "regression, distance loss"
LEVEL = {
    "coarse": "classifier, coarse cells",
    "middle": MEAN,  # the chapter's classifier
    "fine": "classifier, fine cells",
}


@dataclass(frozen=True)
class PlanetSettings(Settings):
    epochs: int = knob(8, "epochs of every cell classifier (at most)")
    lr: float = knob(1e-3, "learning rate of a new head (AdamW, cosine schedule)")
    top_lr_scale: float = knob(
        1.0, "the pretrained top's learning rate, relative to the head's"
    )
    patience: int = knob(
        3, "epochs without a better validation GeoScore before stopping"
    )
    weight_decay: float = knob(1e-4, "AdamW weight decay")
    cell_divisors: tuple = knob(
        (10, 40, 150), "coarse, middle, fine: tau_max = training images / divisor"
    )
    tau_min_divisor: int = knob(
        1000,
        "tau_min = training images / divisor (at least 2); cells with at most tau_min "
        "photos are dropped",
    )
    album_len: int = knob(8, "photos per album, at most")
    album_radius_km: float = knob(
        300.0, "an album's photos lie within this distance of its first"
    )
    album_epochs: int = knob(10, "epochs of the album LSTM (at most)")
    regression_lr: float = knob(
        1e-2,
        "learning rate of the regressors: the best of 1e-4 to 3e-2 on seen-places "
        "validation (seed 0); the classifiers' 1e-3 leaves them below the prior",
    )
    regression_epochs: int = knob(30, "epochs of the regressors (at most)")
    regression_patience: int = knob(8, "the regressors' patience, in epochs")

    PROFILES = {
        "full": {"epochs": 20, "top_lr_scale": 0.1, "album_epochs": 20}
        | {"regression_lr": 1e-3, "regression_epochs": 20},
        "photos": {"epochs": 1, "top_lr_scale": 0.1, "album_epochs": 1}
        | {"regression_epochs": 1},
    }

    def taus(self, n_train: int) -> dict:
        """``{"coarse"|"middle"|"fine": (tau_max, tau_min)}`` for ``n_train`` training
        images."""
        tau_min = max(n_train // self.tau_min_divisor, 2)
        return {
            level: (max(n_train // d, tau_min + 1), tau_min)
            for level, d in zip(LEVELS, self.cell_divisors)
        }


def cell_classifier(
    ctx, name, recipe, settings, partition, *, loss=None, monitors=None
) -> plans.Plan:
    """PlaNet's classifier over ``partition``'s cells. ``loss``: one-hot
    :class:`~geosurvey.losses.CrossEntropy` (default) or PIGEON's
    :class:`~geosurvey.losses.HaversineSmoothing`, which reads coordinates instead of
    cells. Training images in dropped cells are left out, as in PlaNet. ``monitors``:
    what its epochs are chosen by (default: each regime's validation GeoScore)."""
    loss = loss or losses.CrossEntropy()
    x = ctx.inputs["train"]
    labels = partition.assign(x.lat, x.lon)
    kept = x.subset(labels != cells.DROPPED)
    smooth = isinstance(loss, losses.HaversineSmoothing)
    targets = plans.coordinates(kept) if smooth else labels[labels != cells.DROPPED]
    meta = {
        "task": "cells",
        "cell_lat": partition.mean_lat.tolist(),
        "cell_lon": partition.mean_lon.tolist(),
        "cell_ids": [int(c) for c in getattr(partition, "cell_ids", [])],
    }
    return plans.supervised(
        ctx,
        name,
        recipe,
        settings,
        build=lambda: models.network(ctx.cfg, models.classifier_head, len(partition)),
        loss=loss,
        x_train=kept,
        targets=targets,
        evaluate=lambda: plans.val_scores(
            ctx,
            lambda m, s: cells.decode(
                inputs.outputs(m, ctx.inputs[s], ctx.cfg), partition
            ),
        ),
        data={"cells": partition.fingerprint()},
        meta=meta,
        monitors=monitors,
    )


def regression(
    ctx, name, recipe, settings, loss, *, x=None, build=None, data=None
) -> plans.Plan:
    """Direct coordinate regression (a unit vector on the sphere) trained with
    ``loss``, on the backbone's inputs; or, with ``x`` (a callable giving the inputs of
    every split, say a trained model's features, which ``data`` then identifies) and
    ``build`` (a head for them), on those."""
    lazy, x = x is not None, x or (lambda: ctx.inputs)

    def scores():
        xs = x()
        return plans.val_scores(ctx, lambda m, s: regressed(m, xs[s], ctx.cfg), xs)

    return plans.supervised(
        ctx,
        name,
        recipe,
        settings,
        build=build or (lambda: models.network(ctx.cfg, models.UnitVectorHead)),
        loss=loss,
        x_train=(lambda: x()["train"]) if lazy else x()["train"],
        targets=plans.coordinates(ctx.splits["train"]),
        evaluate=scores,
        data=data,
    )


def regressed(model, x: inputs.SplitInputs, cfg):
    """(lat, lon) of a unit-vector regressor's answers for the images of ``x``."""
    return geo.from_xyz(inputs.outputs(model, x, cfg))


def _album_batches(ctx, f, partition, max_len, radius_km):
    """Training batches of fresh trips every epoch (seeded by the epoch)."""
    labels = partition.assign(f.lat, f.lon)

    def trips(epoch):
        return albums.trips(
            f.lat, f.lon, max_len, radius_km, seed=ctx.cfg.seed + 1000 + epoch
        )

    return albums.album_batches(f.cached, labels, trips, seed=ctx.cfg.seed)


def _album_scores(ctx, f: dict, partition, max_len, radius_km):
    """Validation scores of an album model on one fixed set of trips per validation
    split."""
    fixed = {
        r.val: albums.trips(
            f[r.val].lat, f[r.val].lon, max_len, radius_km, seed=ctx.cfg.seed
        )
        for r in ctx.judged
    }

    def predict(m, split):
        logits = albums.album_logits(m, f[split].cached, fixed[split], ctx.cfg.device)
        return cells.decode(logits, partition)

    return plans.val_scores(ctx, predict, f)


def album_model(
    ctx,
    name,
    recipe,
    settings,
    partition,
    features,
    *,
    source: str,
    width: int,
    max_len: int,
    radius_km: float,
) -> plans.Plan:
    """PlaNet's album model: an :class:`~geosurvey.models.AlbumLSTM` over per-image
    features.

    ``features()`` returns ``{split: SplitInputs}`` of cached features of width
    ``width`` (the trained classifier's, so computed only when training); ``source`` is
    that classifier's checkpoint key. Training albums are fresh
    :func:`~geosurvey.albums.trips` every epoch; validation uses one fixed set of trips
    per split."""
    data = {
        "features": source,
        "cells": partition.fingerprint(),
        "max_len": max_len,
        "radius_km": radius_km,
    }
    trips = (partition, max_len, radius_km)
    return plans.Plan(
        name=name,
        recipe=recipe,
        build=lambda: models.seeded(
            ctx.cfg.seed, models.AlbumLSTM, width, len(partition)
        ),
        loss=losses.CrossEntropy(),
        data=data,
        batches=lambda: _album_batches(ctx, features()["train"], *trips),
        evaluate=lambda: _album_scores(ctx, features(), *trips),
        monitors=ctx.monitors(),
        settings=settings.key(),
    )


def partitions(ctx, regime=None):
    """``({"coarse"|"middle"|"fine": Partition}, Hierarchy)`` of the training
    locations (those ``regime``'s models train on, when given: each regime's models
    learn the cells of their own training images)."""
    if regime is not None:
        return partitions(ctx.at(regime))

    def make():
        train = ctx.splits["train"]
        taus = ctx.settings(NAME).taus(len(train))
        hier = cells.hierarchy(
            train.lat,
            train.lon,
            [t[0] for t in taus.values()],
            tau_min=taus["middle"][1],
        )
        return dict(zip(LEVELS, hier.partitions)), hier

    return ctx.memo("planet:partitions", make)


def middle_features(ctx) -> dict:
    """Pooled features of the trained middle classifier for every split (seen-places
    weights): what the album LSTM reads."""

    def make():
        model = ctx.net("planet-middle")
        return {
            k: inputs.SplitInputs(
                x.meta,
                cached=inputs.outputs(model, x, ctx.cfg, fn=lambda m, b: m.features(b)),
            )
            for k, x in ctx.inputs.items()
        }

    return ctx.memo("planet:middle-features", make)


def add_fold_classifier(ch, folds_of_run, method: str, level: str = "middle") -> None:
    """Train PlaNet's classifier over ``level`` cells once per fold (on that fold's
    training images and cells, for the recipe's epochs, keeping the last) and evaluate
    it as ``method`` on the folds' test tiles (:mod:`geosurvey.folds`)."""
    x = inputs.of_images(ch.cfg, folds_of_run.tests)

    def answer(ctx, rows):
        net = folds.trained(ctx, f"planet-{level}").net(regimes.FOLDS.key)
        logits = inputs.outputs(net, x.subset(rows), ctx.cfg)
        return {method: cells.decode(logits, partitions(ctx)[0][level])}

    folds.add(ch, folds_of_run, answer)


def _classifier(level, fold: bool = False):
    """The plan of the classifier over ``level`` cells; in a fold (``fold``), trained
    for the recipe's epochs with the last kept."""

    def plan(ctx):
        return cell_classifier(
            ctx,
            f"planet-{level}" + "-fold" * fold,
            ctx.recipe(NAME),
            ctx.settings(NAME),
            partitions(ctx)[0][level],
            monitors=folds.LAST_EPOCH if fold else None,
        )

    return plan


def _regression(name, loss):
    def plan(ctx):
        s = ctx.settings(NAME)
        own = {"lr": s.regression_lr, "epochs": s.regression_epochs}
        recipe = ctx.recipe(NAME, **own, patience=s.regression_patience)
        return regression(ctx, name, recipe, s, loss)

    return plan


def _albums(ctx):
    s = ctx.settings(NAME)
    return album_model(
        ctx,
        "planet-album-lstm",
        ctx.recipe(NAME, epochs=s.album_epochs),
        s,
        partitions(ctx)[0]["middle"],
        lambda: middle_features(ctx),
        source=ctx.key("planet-middle"),
        width=backbones.describe(ctx.cfg.backbone).num_features,
        max_len=s.album_len,
        radius_km=s.album_radius_km,
    )


JOBS = (
    *(
        Job(
            f"planet-{lv}",
            NAME,
            f"PlaNet's classifier over the {lv} adaptive S2 cells",
            _classifier(lv),
            fold_plan=_classifier(lv, fold=True),
        )
        for lv in LEVELS
    ),
    Job(
        "planet-regression-chord",
        NAME,
        "direct regression of a unit vector, squared chord loss",
        _regression("planet-regression-chord", losses.UnitVector()),
    ),
    Job(
        "planet-regression-distance",
        NAME,
        "direct regression of a unit vector, great-circle distance loss",
        _regression("planet-regression-distance", losses.GreatCircle()),
    ),
    Job(
        "planet-album-lstm",
        NAME,
        "PlaNet's album LSTM over the middle classifier's features",
        _albums,
        needs=("planet-middle",),
    ),
)


ALBUM_METHODS = {
    "single": "single-image classifier",
    "alone": "LSTM, each photo alone",
    "album": "LSTM over the album",
    "random": "LSTM over a random album",
    "vote": "classifier log-probabilities averaged over the album",
    "random_vote": "classifier log-probabilities averaged over a random album",
}
ALBUM = {key: f"albums: {text}" for key, text in ALBUM_METHODS.items()}  # their names
ALBUM_SUBSET = "_albums"  # their test set: "<regime's test split>_albums"


def test_albums(ctx, regime) -> list:
    """The trips of ``regime``'s test photos (one fixed set per seed)."""
    s, test = ctx.settings(NAME), ctx.splits[regime.test]
    return albums.trips(
        test.lat, test.lon, s.album_len, s.album_radius_km, seed=ctx.cfg.seed
    )


def album_logits(ctx, lstm, classifier_logits, regime) -> dict:
    """Per-photo logits of every method of :data:`ALBUM_METHODS` on ``regime``'s test
    photos: the classifier alone, the LSTM on each photo alone, on its album, on a
    random album of the same size, and the classifier's log-probabilities averaged over
    the album and over the random one."""
    f = middle_features(ctx.at(regime))[regime.test].cached
    trips, model, device = (
        test_albums(ctx, regime),
        lstm.net(regime.key),
        ctx.cfg.device,
    )
    log_p = log_softmax(np.asarray(classifier_logits, np.float64), axis=1)
    singles = [np.array([i]) for i in range(len(f))]
    shuffled = albums.random_like(trips, ctx.cfg.seed)
    return {
        "single": classifier_logits,
        "alone": albums.album_logits(model, f, singles, device),
        "album": albums.album_logits(model, f, trips, device),
        "random": albums.album_logits(model, f, shuffled, device),
        "vote": albums.averaged(log_p, trips),
        "random_vote": albums.averaged(log_p, shuffled),
    }


def add_album_methods(ch, lstm, logits: dict) -> dict:
    """Evaluate every album method on the photos in albums of two or more, as the test
    set ``<test split>_albums`` of each regime; returns ``{regime: album test set
    name}``."""
    names = {}
    for r in ch.regimes:
        part = partitions(ch.at(r))[0]["middle"]
        in_album = np.zeros(len(ch.splits[r.test]), bool)
        for a in test_albums(ch, r):
            in_album[a] = len(a) > 1
        names[r.key] = split = r.test + ALBUM_SUBSET
        ch.evaluations.add_set(split, ch.splits[r.test].meta[in_album])
        for name, lg in album_logits(ch, lstm, logits[r.key], r).items():
            ch.evaluations.add(ALBUM[name], split, *cells.decode(lg[in_album], part))
    return names


LO_88, NO_REGRESSION = (
    "Lo 2025, line 88",
    "this book: no document compares it with regression",
)


def _album(key: str, text: str, better: str, worse: str, metric: str, source: str):
    return Claim(
        key,
        text,
        ALBUM[better],
        ALBUM[worse],
        metric,
        source=source,
        subset=ALBUM_SUBSET,
        control=key == "album_random",  # checks the set-up: not a finding
    )


CLAIMS = (
    Claim(
        "fine_coarse_25",
        "fine cells beat coarse cells at 25 km",
        LEVEL["fine"],
        LEVEL["coarse"],
        "acc@25km",
        source=LO_88,
    ),
    Claim(
        "coarse_fine_2500",
        "coarse cells beat fine cells at 2500 km",
        LEVEL["coarse"],
        LEVEL["fine"],
        "acc@2500km",
        source=LO_88,
    ),
    Claim(
        "class_distance",
        "classification beats a distance-loss regressor (GeoScore)",
        MEAN,
        DISTANCE,
        "geoscore",
        source=NO_REGRESSION,
    ),
    Claim(
        "class_chord",
        "classification beats a chord-loss regressor (GeoScore)",
        MEAN,
        CHORD,
        "geoscore",
        source=NO_REGRESSION,
    ),
    Claim(
        "class_prior",
        "classification beats the prior (GeoScore)",
        MEAN,
        PRIOR,
        "geoscore",
        source="this book: a floor every method must clear",
    ),
    Claim(
        "finetune_frozen",
        "fine-tuning beats the frozen k-NN (GeoScore)",
        MEAN,
        FROZEN,
        "geoscore",
        source="this book: the frozen k-NN floor",
    ),
    Claim(
        "mean_centre_median",
        "the member mean beats the cell centre (median error)",
        MEAN,
        CENTRE,
        "median_km",
        source="Lo 2025, lines 175-177",
    ),
    _album(
        "album_750",
        "an LSTM over constructed albums beats single images at 750 km",
        "album",
        "single",
        "acc@750km",
        "Falde 2025, line 48 (the threshold is this book's)",
    ),
    _album(
        "album_random",
        "co-located albums beat random albums of the same sizes",
        "album",
        "random",
        "geoscore",
        "this book: a control for the albums",
    ),
    _album(
        "lstm_vote",
        "the album LSTM beats averaging log-probabilities",
        "album",
        "vote",
        "geoscore",
        "this book: no document compares the two",
    ),
)

CHAPTER = ChapterSpec(
    name=NAME,
    title="PlaNet",
    notebook="02_planet",
    settings=PlanetSettings,
    jobs=JOBS,
    generalisation=("class_prior", "finetune_frozen"),
    claims=CLAIMS,
)
