"""Training recipes the chapters share: cell classification, coordinate regression, embeddings,
album models.

Each recipe builds a :class:`~geosurvey.models.Network` (the backbone's top plus a head), trains
it with :func:`geosurvey.train.run` (differential learning rate, cosine schedule, early stopping on
a validation *geolocation* score, a checkpoint keyed by everything that determines the run), and
returns ``(model, history)``. Every recipe takes one :class:`~geosurvey.models.Inputs` per split,
which carries the images' coordinates.
"""

from __future__ import annotations

import numpy as np

from . import albums, cache, cells, losses, models, train
from .geo import from_xyz
from .metrics import evaluate
from .train import Recipe


def val_scores(plat, plon, lat, lon) -> dict:
    m = evaluate(plat, plon, lat, lon)
    return {"val_geoscore": m["geoscore"], "val_acc@750km": m["acc@750km"], "val_median_km": m["median_km"]}


def coordinates(x: models.Inputs) -> np.ndarray:
    return np.stack([x.lat, x.lon], 1).astype(np.float32)


def fit_cells(cfg, recipe: Recipe, partition, train_x: models.Inputs, val_x: models.Inputs, loss=None):
    """PlaNet-style classifier over ``partition``'s cells.

    ``loss``: :class:`~geosurvey.losses.CrossEntropy` (one-hot, the default) or
    :class:`~geosurvey.losses.HaversineSmoothing` (PIGEON), which reads coordinates instead of
    cell ids. Training images outside every kept cell are left out, as in PlaNet.
    """
    loss = loss or losses.CrossEntropy()
    labels = partition.assign(train_x.lat, train_x.lon)
    keep = labels >= 0
    kept = train_x.subset(keep)
    targets = coordinates(kept) if isinstance(loss, losses.HaversineSmoothing) else labels[keep]
    model = models.network(cfg, models.classifier_head, len(partition))
    batches = kept.batches(targets, recipe.batch_size, shuffle=True, seed=cfg.seed)

    def score(m):
        return val_scores(*cells.decode(models.outputs(m, val_x, cfg), partition), val_x.lat, val_x.lon)

    hist = train.run(cfg, recipe, model, batches, loss, score,
                     data={"inputs": kept.fingerprint(), "targets": cache.fingerprint(targets),
                           "cells": partition.fingerprint()},
                     meta={"task": "cells", "cell_lat": partition.mean_lat.tolist(), "cell_lon": partition.mean_lon.tolist(),
                           "cell_ids": [int(c) for c in getattr(partition, "cell_ids", [])]})
    return model, hist


def fit_multitask(cfg, recipe: Recipe, partition, train_x: models.Inputs, val_x: models.Inputs, aux: dict,
                  main_loss=None, weight: float = 0.3):
    """A cell classifier with auxiliary heads (PIGEON): ``aux`` maps a task name to
    ``(values per training image, number of classes or 1 for a standardised value)``.
    The model returns ``{"cells": logits, task: outputs}``."""
    main_loss = main_loss or losses.CrossEntropy()
    labels = partition.assign(train_x.lat, train_x.lon)
    keep = labels >= 0
    kept = train_x.subset(keep)
    columns = [labels, train_x.lat, train_x.lon] + [np.asarray(v, np.float64) for v, _ in aux.values()]
    targets = np.stack(columns, 1)[keep].astype(np.float32)
    sizes = {"cells": len(partition), **{k: n for k, (_, n) in aux.items()}}
    model = models.network(cfg, models.MultiHead, sizes)
    loss = losses.WithAuxiliary(main_loss, tuple((k, n) for k, (_, n) in aux.items()), weight)
    batches = kept.batches(targets, recipe.batch_size, shuffle=True, seed=cfg.seed)

    def score(m):
        logits = models.outputs(m, val_x, cfg, fn=lambda net, b: net(b)["cells"])
        return val_scores(*cells.decode(logits, partition), val_x.lat, val_x.lon)

    hist = train.run(cfg, recipe, model, batches, loss, score,
                     data={"inputs": kept.fingerprint(), "targets": cache.fingerprint(targets),
                           "cells": partition.fingerprint()})
    return model, hist


def cell_labels(partition, x: models.Inputs) -> np.ndarray:
    """The cell of every image, -100 (ignored by the losses) where its cell was dropped."""
    labels = partition.assign(x.lat, x.lon)
    return np.where(labels >= 0, labels, -100)


def partition_labels(parts: dict, x: models.Inputs) -> np.ndarray:
    """(n, partitions) :func:`cell_labels` of every image in each partition."""
    return np.stack([cell_labels(p, x) for p in parts.values()], 1)


def fit_partitions(cfg, recipe: Recipe, hier, names, train_x: models.Inputs, val_x: models.Inputs, model=None):
    """Lo et al.'s multi-partition classifier: one head per partition of ``hier`` (named ``names``,
    coarse to fine) on one shared network, trained with the mean of their cross-entropies and
    monitored by the hierarchical prediction on the finest partition.

    ``model``: a trained multi-partition network to start from (context-specific fine-tuning);
    its weights become part of the checkpoint key.
    """
    parts = dict(zip(names, hier.partitions))
    labels = partition_labels(parts, train_x)
    start = "pretrained backbone" if model is None else models.weights_fingerprint(model)
    model = model or models.network(cfg, models.MultiHead, {k: len(p) for k, p in parts.items()})
    batches = train_x.batches(labels, recipe.batch_size, shuffle=True, seed=cfg.seed)

    def score(m):
        return val_scores(*hierarchical_decode(models.head_outputs(m, val_x, cfg), hier, names), val_x.lat, val_x.lon)

    hist = train.run(cfg, recipe, model, batches, losses.MultiPartition(tuple(names)), score,
                     data={"inputs": train_x.fingerprint(), "targets": cache.fingerprint(labels), "init": start,
                           "cells": [p.fingerprint() for p in hier.partitions]})
    return model, hist


def hierarchical_decode(logits: dict, hier, names):
    """Predicted points of the finest partition from the product of every level's probability."""
    import torch

    log_probs = [torch.log_softmax(torch.as_tensor(logits[n]), 1).numpy() for n in names]
    return cells.decode(cells.hierarchical_log_probs(log_probs, hier), hier.partitions[-1])


def fit_scenes(cfg, recipe: Recipe, train_f: models.Inputs, val_f: models.Inputs, train_probs: dict, val_probs: dict):
    """A scene classifier: one head per level (``{"fine"|"middle"|"coarse": probabilities}``) on
    the shared backbone's pooled features (``train_f``/``val_f`` hold them), trained against the
    scene distributions and monitored by the coarse level's validation accuracy."""
    from torch import nn

    levels = tuple((k, v.shape[1]) for k, v in train_probs.items())
    targets = np.concatenate(list(train_probs.values()), 1).astype(np.float32)
    model = models.seeded(cfg.seed, models.Network, nn.Identity(), models.MultiHead(train_f.cached.shape[1], dict(levels)))
    batches = train_f.batches(targets, recipe.batch_size, shuffle=True, seed=cfg.seed)

    def score(m):
        pred = models.head_outputs(m, val_f, cfg)["coarse"].argmax(1)
        return {"val_scene_acc": float(np.mean(pred == val_probs["coarse"].argmax(1)))}

    hist = train.run(cfg, recipe, model, batches, losses.SoftTargets(levels), score,
                     data={"features": train_f.fingerprint(), "targets": cache.fingerprint(targets)},
                     monitor="val_scene_acc")
    return model, hist


def fit_regression(cfg, recipe: Recipe, train_x: models.Inputs, val_x: models.Inputs):
    """Direct coordinate regression (a unit vector on the sphere), the papers' regression baseline."""
    model = models.network(cfg, models.UnitVectorHead)
    targets = coordinates(train_x)
    batches = train_x.batches(targets, recipe.batch_size, shuffle=True, seed=cfg.seed)

    def score(m):
        return val_scores(*from_xyz(models.outputs(m, val_x, cfg)), val_x.lat, val_x.lon)

    hist = train.run(cfg, recipe, model, batches, losses.UnitVector(), score,
                     data={"inputs": train_x.fingerprint(), "targets": cache.fingerprint(targets)})
    return model, hist


def knn_scores(model, train_x: models.Inputs, val_x: models.Inputs, cfg) -> dict:
    """Validation scores of top-1 k-NN retrieval against the training embeddings."""
    from .retrieval import GeoIndex, knn_predict

    index = GeoIndex(models.outputs(model, train_x, cfg), train_x.lat, train_x.lon)
    return val_scores(*knn_predict(index, models.outputs(model, val_x, cfg), 1), val_x.lat, val_x.lon)


def fit_embedding(cfg, recipe: Recipe, model, train_x: models.Inputs, val_x: models.Inputs, targets, loss):
    """Train ``model`` (a network ending in a projection head) with ``loss(z, targets)``,
    monitoring top-1 k-NN GeoScore on validation.

    ``targets``: cell ids (n,) or (n, levels) for contrastive losses, (lat, lon) rows for triplets.
    """
    batches = train_x.batches(targets, recipe.batch_size, shuffle=True, seed=cfg.seed)
    hist = train.run(cfg, recipe, model, batches, loss, lambda m: knn_scores(m, train_x, val_x, cfg),
                     data={"inputs": train_x.fingerprint(), "targets": cache.fingerprint(np.asarray(targets))})
    return model, hist


def fit_albums(cfg, recipe: Recipe, partition, train_f: models.Inputs, val_f: models.Inputs, *, max_len: int = 8,
               radius_km: float = 300.0):
    """PlaNet's album model: an :class:`~geosurvey.models.AlbumLSTM` over per-image features
    (``train_f``/``val_f`` hold them as cached inputs).

    Training albums are fresh :func:`~geosurvey.albums.trips` of the training locations every
    epoch; validation uses one fixed set of trips. Images in dropped cells get label -100 (ignored).
    """
    labels = cell_labels(partition, train_f)
    model = models.seeded(cfg.seed, models.AlbumLSTM, train_f.cached.shape[1], len(partition))
    batches = albums.album_batches(train_f.cached, labels, lambda e: albums.trips(
        train_f.lat, train_f.lon, max_len, radius_km, seed=cfg.seed + 1000 + e), seed=cfg.seed)
    val_albums = albums.trips(val_f.lat, val_f.lon, max_len, radius_km, seed=cfg.seed)

    def score(m):
        logits = albums.album_logits(m, val_f.cached, val_albums, cfg.device)
        return val_scores(*cells.decode(logits, partition), val_f.lat, val_f.lon)

    hist = train.run(cfg, recipe, model, batches, losses.CrossEntropy(), score,
                     data={"features": train_f.fingerprint(), "labels": cache.fingerprint(labels),
                           "max_len": max_len, "radius_km": radius_km})
    return model, hist
