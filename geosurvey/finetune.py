"""Fine-tuning recipes the chapters share: cell classification, coordinate regression, embeddings.

Each recipe builds a :class:`~geosurvey.models.Network` (a copy of the backbone's top plus a
head), gives the head a larger learning rate than the pretrained top (differential learning
rate), runs :func:`geosurvey.train.fit` with a cosine schedule, early stopping on a validation
*geolocation* score, and a checkpoint keyed by everything that determines the result, so a
re-executed chapter resumes or returns at once.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from . import cache, losses, models, train
from .geo import from_xyz
from .metrics import evaluate


def optimizer(model, lr: float, top_lr_scale: float = 0.1, weight_decay: float = 1e-4):
    """AdamW with a :class:`Network`'s pretrained ``top`` at ``lr * top_lr_scale`` and everything
    else (heads, or a whole model trained from scratch) at ``lr``."""
    top = list(model.top.parameters()) if hasattr(model, "top") else []
    top_ids = {id(p) for p in top}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in top_ids]
    groups = [{"params": top, "lr": lr * top_lr_scale}, {"params": rest, "lr": lr}]
    return torch.optim.AdamW([g for g in groups if g["params"]], weight_decay=weight_decay)


def seeded(seed: int, build, *args, **kwargs):
    """``build(*args, **kwargs)`` right after seeding torch: a new head's initial weights depend
    only on the seed, not on what consumed random numbers before (e.g. a cache miss)."""
    torch.manual_seed(seed)
    return build(*args, **kwargs)


def checkpoint_path(cfg, name: str, params: dict):
    return cfg.checkpoint_dir / f"{name}-{cache.key(params)}.pt"


def run(cfg, name: str, model, train_batches, loss_fn, evaluate_fn, *, epochs: int, lr: float,
        top_lr_scale: float = 0.1, patience: int = 3, key: dict | None = None):
    """Fit ``model`` with the shared recipe; returns its :class:`~geosurvey.train.History`.

    ``evaluate_fn(model) -> dict`` must return ``val_geoscore`` (the monitored value).
    ``key``: everything else that determines the run (data, labels), for the checkpoint name.
    """
    opt = optimizer(model, lr, top_lr_scale)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    params = {"name": name, "epochs": epochs, "lr": lr, "top_lr_scale": top_lr_scale, "seed": cfg.seed,
              "backbone": cfg.backbone, "model": repr(model), **(key or {})}
    return train.fit(model, train_batches, None, loss_fn, opt, epochs=epochs, device=cfg.device, scheduler=sched,
                     evaluate=evaluate_fn, monitor="val_geoscore", mode="max", patience=patience,
                     checkpoint=checkpoint_path(cfg, name, params), seed=cfg.seed, desc=name)


def val_scores(plat, plon, lat, lon) -> dict:
    m = evaluate(plat, plon, lat, lon)
    return {"val_geoscore": m["geoscore"], "val_acc@750km": m["acc@750km"], "val_median_km": m["median_km"]}


def network(cfg, head, *args) -> models.Network:
    """A :class:`Network`: the profile backbone's (frozen) trunk and fine-tuned top, and a head
    built (seeded) as ``head(backbone feature width, *args)``."""
    trunk, top, info = models.backbone_parts(cfg)
    return models.Network(top, seeded(cfg.seed, head, info.num_features, *args), trunk)


def cell_centres(logits, partition, kind: str = "mean"):
    """Predicted (lat, lon): the chosen centre of each row's most probable cell."""
    lat, lon = partition.centers(kind)
    c = np.asarray(logits).argmax(1)
    return lat[c], lon[c]


def fit_cells(cfg, name: str, partition, x_train, train_lat, train_lon, x_val, val_lat, val_lon, *,
              epochs: int, lr: float = 1e-3):
    """PlaNet-style classifier over ``partition``'s cells, trained with cross-entropy.

    Training images whose location falls in a dropped cell are left out, as in PlaNet.
    Returns ``(model, history)``.
    """
    labels = partition.assign(train_lat, train_lon)
    keep = labels >= 0
    model = network(cfg, models.classifier_head, len(partition))
    batches = x_train.subset(keep).batches(labels[keep], cfg.batch_size, shuffle=True, seed=cfg.seed)

    def loss(m, x, y):
        return F.cross_entropy(m(x), y)

    def score(m):
        return val_scores(*cell_centres(outputs(m, x_val, cfg), partition), val_lat, val_lon)

    hist = run(cfg, name, model, batches, loss, score, epochs=epochs, lr=lr,
               key={"cells": partition.cell_ids.tolist()[:3] + [len(partition)], "n": int(keep.sum()),
                    "inputs": _fingerprint(x_train)})
    return model, hist


def fit_regression(cfg, name: str, x_train, train_lat, train_lon, x_val, val_lat, val_lon, *, epochs: int,
                   lr: float = 1e-3):
    """Direct coordinate regression (a unit vector on the sphere), the seeds' regression baseline."""
    model = network(cfg, models.UnitVectorHead)
    coords = np.stack([train_lat, train_lon], 1).astype(np.float32)
    batches = x_train.batches(coords, cfg.batch_size, shuffle=True, seed=cfg.seed)

    def score(m):
        return val_scores(*from_xyz(outputs(m, x_val, cfg)), val_lat, val_lon)

    hist = run(cfg, name, model, batches, lambda m, x, y: losses.unit_vector_loss(m(x), y), score, epochs=epochs,
               lr=lr, key={"inputs": _fingerprint(x_train)})
    return model, hist


def _fingerprint(x: models.Inputs) -> str:
    from .features import fingerprint

    if x.cached is not None:
        return f"cached-{x.cached.shape}-{float(np.asarray(x.cached[:64], np.float32).sum()):.4f}"
    return fingerprint(x.images)


def fit_albums(cfg, name: str, partition, feats_train, train_lat, train_lon, feats_val, val_lat, val_lon, *,
               epochs: int, lr: float = 1e-3, max_len: int = 8, radius_km: float = 300.0):
    """PlaNet's album model: an :class:`~geosurvey.models.AlbumLSTM` over per-image features.

    Training albums are fresh :func:`~geosurvey.albums.trips` of the training locations every
    epoch; validation uses one fixed set of trips. Images in dropped cells get label -100 (ignored).
    """
    from . import albums

    labels = partition.assign(train_lat, train_lon)
    labels = np.where(labels >= 0, labels, -100)
    model = seeded(cfg.seed, models.AlbumLSTM, feats_train.shape[1], len(partition))
    batches = albums.album_batches(feats_train, labels, lambda e: albums.trips(
        train_lat, train_lon, max_len, radius_km, seed=cfg.seed + 1000 + e), seed=cfg.seed)
    val_albums = albums.trips(val_lat, val_lon, max_len, radius_km, seed=cfg.seed)

    def loss(m, x, y):
        return F.cross_entropy(m(x).flatten(0, 1), y.flatten(), ignore_index=-100)

    def score(m):
        logits = album_logits(m, feats_val, val_albums, cfg.device)
        return val_scores(*cell_centres(logits, partition), val_lat, val_lon)

    hist = run(cfg, name, model, batches, loss, score, epochs=epochs, lr=lr,
               key={"max_len": max_len, "radius_km": radius_km, "cells": len(partition),
                    "feats": float(np.asarray(feats_train[:64]).sum())})
    return model, hist


@torch.no_grad()
def album_logits(model, feats, album_list, device: str = "cpu") -> np.ndarray:
    """Per-image logits (n, classes) of an album model, each album run as one sequence."""
    from . import albums

    out = np.zeros((len(feats), 0), np.float32)
    for x, idx in albums.album_batches(feats, np.arange(len(feats)), lambda e: album_list)(0):
        y = models.predict(model, [(x, None)], device)
        if out.shape[1] == 0:
            out = np.zeros((len(feats), y.shape[-1]), np.float32)
        out[idx.numpy().ravel()] = y.reshape(-1, y.shape[-1])
    return out


def outputs(model, x: models.Inputs, cfg, fn=None) -> np.ndarray:
    """``model``'s outputs (or ``fn(model, batch)``) for every row of ``x``, in order, batched as the
    profile says: logits, unit vectors or embeddings."""
    return models.predict(model, x.batches(None, 2 * cfg.batch_size), cfg.device, fn)


def knn_scores(model, x_train, train_lat, train_lon, x_val, val_lat, val_lon, cfg) -> dict:
    """Validation scores of top-1 k-NN retrieval against the training embeddings."""
    from .retrieval import GeoIndex, knn_predict

    index = GeoIndex(outputs(model, x_train, cfg), train_lat, train_lon)
    return val_scores(*knn_predict(index, outputs(model, x_val, cfg), 1), val_lat, val_lon)


def fit_embedding(cfg, name: str, model, x_train, targets, train_lat, train_lon, x_val, val_lat, val_lon, *,
                  loss, epochs: int, lr: float = 1e-3, top_lr_scale: float = 0.1, batch_size: int | None = None):
    """Train ``model`` (a :class:`~geosurvey.models.Network` ending in a projection head) with
    ``loss(z, targets_batch)``, monitoring top-1 k-NN GeoScore on validation.

    ``targets``: cell ids (n,) or (n, levels) for contrastive losses, (lat, lon) rows for triplets.
    """
    batches = x_train.batches(targets, batch_size or cfg.batch_size, shuffle=True, seed=cfg.seed)
    hist = run(cfg, name, model, batches, lambda m, x, y: loss(m(x), y),
               lambda m: knn_scores(m, x_train, train_lat, train_lon, x_val, val_lat, val_lon, cfg),
               epochs=epochs, lr=lr, top_lr_scale=top_lr_scale,
               key={"inputs": _fingerprint(x_train), "targets": float(np.asarray(targets, np.float64).sum()),
                    "loss": getattr(loss, "__name__", repr(loss)), "batch_size": batch_size})
    return model, hist


@dataclass
class Candidate:
    """A model to train: the network, its inputs per split, what it is, and the learning-rate
    scale of its ``top`` (0.3 when pretrained, 1 when trained from scratch)."""

    network: models.Network
    inputs: dict
    description: str
    top_lr_scale: float


def embedding_models(cfg, splits, out_dim: int = 128, names=("CNN", "ViT")) -> dict:
    """Seed 002's Model 1 (CNN) and Model 2 (ViT), each with a projection head, and their inputs.

    Returns ``{"CNN": Candidate, "ViT": Candidate}``. The ViT is the
    profile's pretrained ViT when it has one (``full`` with hub access: CLIP ViT-B/16, top blocks
    fine-tuned); otherwise a small :class:`~geosurvey.models.HybridViT` trained from scratch on
    the frozen CNN trunk's feature map, since no ViT weights of known provenance install offline.
    """
    from . import backbones

    cnn_name = cfg.backbone if cfg.backbone in backbones.BUNDLED else next(iter(sorted(backbones.BUNDLED, reverse=True)))
    trunk, top, info = models.backbone_parts(cfg, cnn_name)
    x_cnn = {k: models.inputs(cfg, s, name=cnn_name) for k, s in splits.items()}
    head = seeded(cfg.seed, models.ProjectionHead, info.num_features, out_dim)
    out = {"CNN": Candidate(models.Network(copy.deepcopy(top), head, trunk), x_cnn, f"{info}; last {cfg.top_stages} stage(s) fine-tuned", 0.3)}
    if "ViT" not in names:
        return out
    if cfg.backbone not in backbones.BUNDLED:  # a pretrained ViT is available
        trunk, top, info = models.backbone_parts(cfg)
        x_vit = {k: models.inputs(cfg, s) for k, s in splits.items()}
        head = seeded(cfg.seed, models.ProjectionHead, info.num_features, out_dim)
        out["ViT"] = Candidate(models.Network(top, head, trunk), x_vit,
                               f"{info}; last {cfg.top_stages} block(s) fine-tuned", 0.3)
    else:
        channels, h, w = x_cnn["train"].cached.shape[1:]
        vit = seeded(cfg.seed, models.HybridViT, channels, h * w, dim=128, depth=3, heads=4)
        head = seeded(cfg.seed, models.ProjectionHead, vit.num_features, out_dim)
        out["ViT"] = Candidate(models.Network(vit, head), x_cnn,
                               f"hybrid ViT (3 blocks, dim 128, trained from scratch) over the frozen {cnn_name} "
                               f"trunk's {h}x{w}x{channels} feature map", 1.0)
    return out
