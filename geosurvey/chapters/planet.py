"""Chapter 2, PlaNet: its settings, its partitions and the models it trains.

The three nested adaptive partitions built here (coarse, middle, fine) are the cells of
every later chapter too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.special import log_softmax

from .. import albums, backbones, cells, inputs, losses, tasks
from ..evaluation import TestSet
from ..train import Recipe
from .base import Job, Settings, knob

LEVELS = ("coarse", "middle", "fine")


@dataclass(frozen=True)
class PlanetSettings(Settings):
    epochs: int = knob(8, "epochs of every cell classifier and regressor (at most)")
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

    PROFILES = {
        "full": {"epochs": 20, "top_lr_scale": 0.1, "album_epochs": 20},
        "photos": {"epochs": 1, "top_lr_scale": 0.1, "album_epochs": 1},
    }

    def recipe(self, cfg, **changes) -> Recipe:
        base = Recipe(
            epochs=self.epochs,
            lr=self.lr,
            top_lr_scale=self.top_lr_scale,
            batch_size=cfg.batch_size,
            patience=self.patience,
            weight_decay=self.weight_decay,
        )
        return replace(base, **changes)

    def taus(self, n_train: int) -> dict:
        """``{"coarse"|"middle"|"fine": (tau_max, tau_min)}`` for ``n_train`` training
        images."""
        tau_min = max(n_train // self.tau_min_divisor, 2)
        return {
            level: (max(n_train // d, tau_min + 1), tau_min)
            for level, d in zip(LEVELS, self.cell_divisors)
        }


def partitions(ctx):
    """``({"coarse"|"middle"|"fine": Partition}, Hierarchy)`` of the training
    locations."""

    def make():
        train = ctx.splits["train"]
        taus = ctx.settings("planet").taus(len(train))
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
        model = ctx.fit("planet-middle").net("seen")
        return {
            k: inputs.SplitInputs(
                x.meta,
                cached=inputs.outputs(model, x, ctx.cfg, fn=lambda m, b: m.features(b)),
            )
            for k, x in ctx.inputs.items()
        }

    return ctx.memo("planet:middle-features", make)


def _classifier(level):
    def plan(ctx):
        s = ctx.settings("planet")
        return tasks.cell_classifier(
            ctx, f"planet-{level}", s.recipe(ctx.cfg), s, partitions(ctx)[0][level]
        )

    return plan


def _regression(name, loss):
    def plan(ctx):
        s = ctx.settings("planet")
        return tasks.regression(ctx, name, s.recipe(ctx.cfg), s, loss)

    return plan


def _albums(ctx):
    s = ctx.settings("planet")
    return tasks.album_model(
        ctx,
        "planet-album-lstm",
        s.recipe(ctx.cfg, epochs=s.album_epochs),
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
            "planet",
            f"PlaNet's classifier over the {lv} adaptive S2 cells",
            _classifier(lv),
        )
        for lv in LEVELS
    ),
    Job(
        "planet-regression-chord",
        "planet",
        "direct regression of a unit vector, squared chord loss",
        _regression("planet-regression-chord", losses.UnitVector()),
    ),
    Job(
        "planet-regression-distance",
        "planet",
        "direct regression of a unit vector, great-circle distance loss",
        _regression("planet-regression-distance", losses.GreatCircle()),
    ),
    Job(
        "planet-album-lstm",
        "planet",
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
}


def test_albums(ctx, regime) -> list:
    """The trips of ``regime``'s test photos (one fixed set per seed)."""
    s, test = ctx.settings("planet"), ctx.splits[regime.test]
    return albums.trips(
        test.lat, test.lon, s.album_len, s.album_radius_km, seed=ctx.cfg.seed
    )


def album_logits(ctx, lstm, classifier_logits, regime) -> dict:
    """Per-photo logits of every method of :data:`ALBUM_METHODS` on ``regime``'s test
    photos: the classifier alone, the LSTM on each photo alone, on its album, on a
    random album of the same size, and the classifier's log-probabilities averaged over
    the album."""
    f = middle_features(ctx)[regime.test].cached
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
    }


def add_album_methods(ch, lstm, logits: dict) -> dict:
    """Evaluate every album method on the photos in albums of two or more, as the test
    set ``<test split>_albums`` of each regime; returns ``{regime: album test set
    name}``."""
    part, names = partitions(ch)[0]["middle"], {}
    for r in ch.regimes:
        in_album = np.zeros(len(ch.splits[r.test]), bool)
        for a in test_albums(ch, r):
            in_album[a] = len(a) > 1
        names[r.key] = f"{r.test}_albums"
        ch.evaluations.sets[names[r.key]] = TestSet.of(ch.splits[r.test].meta[in_album])
        for name, lg in album_logits(ch, lstm, logits[r.key], r).items():
            method = f"albums: {ALBUM_METHODS[name]}"
            ch.evaluations.add(method, names[r.key], *cells.decode(lg[in_album], part))
    return names
