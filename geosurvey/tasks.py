"""What a network can be trained to do, as :class:`~geosurvey.plans.Plan` builders.

Cell classification (PlaNet, PIGEON), a classifier with auxiliary heads (PIGEON), one
head per partition (Lo et al.), scene classification, coordinate regression, embeddings
(Wu et al.) and album models (PlaNet). Each takes the run's
:class:`~geosurvey.chapters.base.Context`, the job's name, its recipe and its chapter's
settings, and describes the run without training: chapters' jobs are these builders with
the chapter's choices filled in.

Every plan validates on each regime's validation split and keeps each regime's best
epoch (:mod:`geosurvey.train`).
"""

from __future__ import annotations

import numpy as np

from . import albums, cache, cells, geo, losses, metrics, models
from .inputs import SplitInputs, head_outputs, outputs
from .plans import Init, Plan


def coordinates(x: SplitInputs) -> np.ndarray:
    return np.stack([x.lat, x.lon], 1).astype(np.float32)


def val_scores(ctx, predict, x=None):
    """``model -> {"<val split>_geoscore", ...}`` on every judged regime's validation
    split; ``predict(model, split) -> (lat, lon)`` answers the images of ``x[split]``.
    """
    x = ctx.inputs if x is None else x

    def score(model) -> dict:
        out = {}
        for r in ctx.judged:
            v = x[r.val]
            m = metrics.evaluate(*predict(model, r.val), v.lat, v.lon)
            out.update(
                {
                    f"{r.val}_geoscore": m["geoscore"],
                    f"{r.val}_acc@750km": m["acc@750km"],
                    f"{r.val}_median_km": m["median_km"],
                }
            )
        return out

    return score


def _plan(
    ctx,
    name,
    recipe,
    settings,
    *,
    build,
    loss,
    x_train,
    targets,
    evaluate,
    data=None,
    **kw,
) -> Plan:
    """A plan whose batches are ``x_train`` with ``targets``, shuffled by the seed.

    ``x_train`` may be a callable returning the inputs (features of a model that may
    still have to be trained); then ``data`` must identify them, as they are not
    fingerprinted here."""
    ident = {"targets": cache.fingerprint(np.asarray(targets))}
    if not callable(x_train):
        ident["inputs"] = x_train.fingerprint()

    def batches():
        x = x_train() if callable(x_train) else x_train
        return x.batches(targets, recipe.batch_size, shuffle=True, seed=ctx.cfg.seed)

    return Plan(
        name,
        recipe,
        build,
        loss,
        {**ident, **(data or {})},
        batches,
        evaluate,
        kw.pop("monitors", None) or ctx.monitors(),
        settings.key(),
        **kw,
    )


def cell_classifier(ctx, name, recipe, settings, partition, *, loss=None) -> Plan:
    """PlaNet's classifier over ``partition``'s cells. ``loss``: one-hot
    :class:`~geosurvey.losses.CrossEntropy` (default) or PIGEON's
    :class:`~geosurvey.losses.HaversineSmoothing`, which reads coordinates instead of
    cells. Training images in dropped cells are left out, as in PlaNet."""
    loss = loss or losses.CrossEntropy()
    x = ctx.inputs["train"]
    labels = partition.assign(x.lat, x.lon)
    kept = x.subset(labels != cells.DROPPED)
    smooth = isinstance(loss, losses.HaversineSmoothing)
    targets = coordinates(kept) if smooth else labels[labels != cells.DROPPED]
    meta = {
        "task": "cells",
        "cell_lat": partition.mean_lat.tolist(),
        "cell_lon": partition.mean_lon.tolist(),
        "cell_ids": [int(c) for c in getattr(partition, "cell_ids", [])],
    }
    return _plan(
        ctx,
        name,
        recipe,
        settings,
        build=lambda: models.network(ctx.cfg, models.classifier_head, len(partition)),
        loss=loss,
        x_train=kept,
        targets=targets,
        evaluate=lambda: val_scores(
            ctx,
            lambda m, s: cells.decode(outputs(m, ctx.inputs[s], ctx.cfg), partition),
        ),
        data={"cells": partition.fingerprint()},
        meta=meta,
    )


def multitask(
    ctx, name, recipe, settings, partition, aux: dict, *, main_loss, weight
) -> Plan:
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
        logits = outputs(
            m, ctx.inputs[split], ctx.cfg, fn=lambda net, b: net(b)["cells"]
        )
        return cells.decode(logits, partition)

    return _plan(
        ctx,
        name,
        recipe,
        settings,
        build=lambda: models.network(ctx.cfg, models.MultiHead, sizes),
        loss=loss,
        x_train=x.subset(keep),
        targets=targets,
        evaluate=lambda: val_scores(ctx, predict),
        data={"cells": partition.fingerprint()},
    )


def partition_labels(parts: dict, x) -> np.ndarray:
    """(n, partitions) cell of every image of ``x`` (anything with ``lat`` and ``lon``)
    in each partition (:data:`~geosurvey.cells.DROPPED` where that partition dropped its
    cell)."""
    return np.stack([p.assign(x.lat, x.lon) for p in parts.values()], 1)


def _hierarchical_scores(ctx, x, hier, names):
    def predict(m, split):
        return cells.hierarchical_decode(
            head_outputs(m, x[split], ctx.cfg), hier, names
        )

    return val_scores(ctx, predict, x)


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
) -> Plan:
    """Lo et al.'s multi-partition classifier: one head per partition of ``hier`` (named
    ``names``, coarse to fine) on one network, trained with the mean of their
    cross-entropies, validated by the hierarchical prediction on the finest partition.

    ``x``: inputs per split (default the backbone's; a mapping that makes them on first
    access for features of trained models, then ``data`` identifies them); ``rows``: the
    training rows (a context-specific network's scene); ``build``: another network than
    the backbone's (a head on features); ``init``: weights to start from."""
    lazy, x = x is not None, ctx.inputs if x is None else x
    meta = ctx.splits["train"] if rows is None else ctx.splits["train"].subset(rows)
    parts = dict(zip(names, hier.partitions))
    sizes = {k: len(p) for k, p in parts.items()}
    build = build or (lambda: models.network(ctx.cfg, models.MultiHead, sizes))

    def train():
        return x["train"] if rows is None else x["train"].subset(rows)

    ident = {"cells": [p.fingerprint() for p in hier.partitions], **(data or {})}
    return _plan(
        ctx,
        name,
        recipe,
        settings,
        build=build,
        loss=losses.MultiPartition(tuple(names)),
        x_train=train if lazy else train(),
        targets=partition_labels(parts, meta),
        data=ident,
        init=init,
        evaluate=lambda: _hierarchical_scores(ctx, x, hier, names),
    )


def scene_classifier(ctx, name, recipe, settings, pooled: dict, probs: dict) -> Plan:
    """A head per scene level (``probs[split]``: ``{"fine"|"middle"|"coarse":
    probabilities}``) on frozen pooled features (``pooled[split]``:
    :class:`~geosurvey.inputs.SplitInputs`), trained against the scene distributions,
    validated by the coarse level's accuracy."""
    from torch import nn

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
        def score(m):
            pred = head_outputs(m, pooled["val"], ctx.cfg)["coarse"].argmax(1)
            return {
                "val_scene_acc": float(
                    np.mean(pred == probs["val"]["coarse"].argmax(1))
                )
            }

        return score

    return _plan(
        ctx,
        name,
        recipe,
        settings,
        build=build,
        loss=losses.SoftTargets(levels),
        x_train=pooled["train"],
        targets=targets,
        evaluate=evaluate,
        monitors={"seen": "val_scene_acc"},
    )


def regression(ctx, name, recipe, settings, loss) -> Plan:
    """Direct coordinate regression (a unit vector on the sphere) trained with
    ``loss``."""
    x = ctx.inputs["train"]
    return _plan(
        ctx,
        name,
        recipe,
        settings,
        build=lambda: models.network(ctx.cfg, models.UnitVectorHead),
        loss=loss,
        x_train=x,
        targets=coordinates(x),
        evaluate=lambda: val_scores(
            ctx, lambda m, s: geo.from_xyz(outputs(m, ctx.inputs[s], ctx.cfg))
        ),
    )


def knn_scores(ctx, x: dict):
    """``model -> scores`` of top-1 k-NN retrieval against the training embeddings."""
    from .retrieval import GeoIndex, knn_predict

    def predict(model, split):
        index = GeoIndex(
            outputs(model, x["train"], ctx.cfg), x["train"].lat, x["train"].lon
        )
        return knn_predict(index, outputs(model, x[split], ctx.cfg), 1)

    return val_scores(ctx, predict, x)


def embedding(
    ctx,
    name,
    recipe,
    settings,
    *,
    build,
    x: dict,
    targets,
    loss,
    init: Init | None = None,
    val_targets=None,
    rows=None,
) -> Plan:
    """Train a network ending in a projection head with ``loss(z, targets)``, monitoring
    top-1 k-NN GeoScore per regime against the whole training set; ``rows``: train on
    these training rows only (``targets`` are theirs); ``val_targets`` (the same kind of
    targets for the validation split) adds a validation loss per epoch, as Wu et al.'s
    Fig. 2 plots it."""

    def val():
        return x["val"].batches(
            val_targets, recipe.batch_size, shuffle=True, seed=ctx.cfg.seed
        )

    train = x["train"] if rows is None else x["train"].subset(rows)
    return _plan(
        ctx,
        name,
        recipe,
        settings,
        build=build,
        loss=loss,
        x_train=train,
        targets=targets,
        evaluate=lambda: knn_scores(ctx, x),
        init=init,
        val_batches=None if val_targets is None else val,
    )


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

    return val_scores(ctx, predict, f)


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
) -> Plan:
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
    return Plan(
        name,
        recipe,
        lambda: models.seeded(ctx.cfg.seed, models.AlbumLSTM, width, len(partition)),
        losses.CrossEntropy(),
        data,
        lambda: _album_batches(ctx, features()["train"], *trips),
        lambda: _album_scores(ctx, features(), *trips),
        ctx.monitors(),
        settings.key(),
    )
