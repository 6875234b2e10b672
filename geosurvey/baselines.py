"""The floors every chapter reports beside its methods, on the same test sets and
evaluator.

* prior: always the member mean of the densest S2 cell (level ``prior_level``) of the
  training set;
* random training location: the photo-density prior;
* raw-pixel k-NN: tiny images (Torralba) and their nearest training images;
* frozen k-NN: pooled features of the profile's pretrained backbone, no training;
* beside them, the nearest-training-location *oracle*: it reads the true location and
  answers the training location nearest to it, the best any method answering with a
  training location could do (no method: a ceiling and a ruler of how far a test set
  lies from what was trained on).

A k-NN floor chooses k on the validation split of the regime it answers (mean GeoScore),
never on test.
"""

from __future__ import annotations

import numpy as np

from . import cells, features, geo, retrieval, timings

PRIOR, RANDOM, RAW, FROZEN = (
    "prior (densest cell)",
    "random training location",
    "raw-pixel k-NN",
    "frozen k-NN",
)
ORACLE = "nearest training location (oracle)"


def vectors(ctx, kind: str) -> dict:
    """``{split: vectors}`` of every split: ``"raw"`` tiny images or ``"frozen"``
    features."""
    cfg, s = ctx.cfg, ctx.settings("data_and_metrics")

    def make(images):
        with timings.span(f"floor inputs ({kind})"):
            if kind == "raw":
                return features.tiny_images(images, s.tiny_px)
            return features.frozen_features(cfg, images)

    return ctx.per_split(f"floors:{kind}", make)


def knn_floor(ctx, kind: str, regime):
    """(lat, lon, k) of a k-NN floor on ``regime``'s test split: its training split is
    the database, k chosen on its validation."""
    ctx = ctx.at(regime)
    vec, train = vectors(ctx, kind), ctx.splits["train"]
    index = ctx.memo(
        f"floors:{kind}:index",
        lambda: retrieval.GeoIndex(vec["train"], train.lat, train.lon),
    )
    val = ctx.splits[regime.val]
    k, _ = retrieval.choose_k(
        index, vec[regime.val], val.lat, val.lon, ctx.settings("data_and_metrics").ks
    )
    k = answering_k(ctx, regime, k)
    return (*retrieval.knn_predict(index, vec[regime.test], k), k)


def answering_k(ctx, regime, chosen: int | None = None) -> int:
    """The k a k-NN answers ``regime`` with: validation's ``chosen`` on seen places, on
    new ground the one fixed in advance (4 validation discs cannot tell k's apart)."""
    fixed = ctx.settings("data_and_metrics").new_ground_k
    return fixed if regime.about == "new" else chosen


def prior_point(ctx, keep=slice(None)):
    """The member mean of the densest coarse S2 cell of ``ctx``'s training split (of
    its rows ``keep``)."""
    train = ctx.splits["train"]
    coarse = cells.uniform(
        train.lat[keep],
        train.lon[keep],
        level=ctx.settings("data_and_metrics").prior_level,
    )
    top = int(np.argmax(coarse.counts))
    return coarse.mean_lat[top], coarse.mean_lon[top]


def add_floors(ch) -> None:
    """Evaluate the four floors in every regime of the chapter ``ch``, each from that
    regime's training split."""

    def constant(r):
        lat, lon = prior_point(ch.at(r))
        n = len(ch.splits[r.test])
        return np.full(n, lat), np.full(n, lon)

    def random_location(r):
        train = ch.at(r).splits["train"]
        pick = np.random.default_rng(ch.cfg.seed).integers(
            0, len(train), len(ch.splits[r.test])
        )
        return train.lat[pick], train.lon[pick]

    ch.add(PRIOR, constant)
    ch.add(RANDOM, random_location)
    for name, kind in ((RAW, "raw"), (FROZEN, "frozen")):
        for r in ch.regimes:
            with timings.span("floors"):
                plat, plon, k = knn_floor(ch, kind, r)
            ch.evaluations.add(name, r.test, plat, plon, best_k=k)


def add_oracle(ch) -> None:
    """Evaluate the nearest-training-location oracle in every regime of ``ch`` (the
    training locations of that regime's models)."""

    def nearest(r):
        test, train = ch.splits[r.test], ch.at(r).splits["train"]
        _, idx = geo.nearest(test.lat, test.lon, train.lat, train.lon)
        return train.lat[idx], train.lon[idx]

    ch.add(ORACLE, nearest)
