"""What a method costs: training time, parameters, reference database, and inference
speed.

Each chapter records the cost of its headline method, so the comparison chapter can put
accuracy against cost without retraining anything. Inference speed is measured on this
machine: one forward pass of the backbone (:func:`geosurvey.features.forward_ms`) plus
the method's own head, decoding or search, timed on the test split.
"""

from __future__ import annotations

import time

import numpy as np


def parameters(*modules) -> int:
    """Total number of parameters of the given modules (shared ones counted once)."""
    seen, total = set(), 0
    for m in modules:
        for p in m.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                total += p.numel()
    return total


def measure(
    cfg,
    predict,
    n_images: int,
    histories,
    *,
    models=(),
    database=None,
    passes: int = 1,
) -> dict:
    """The cost of one method: ``predict()`` maps the test split to answers (timed
    here); ``histories`` are those of every network it trains (their epochs, and the
    time they took); ``models`` the modules it adds to the pretrained backbone (heads,
    a from-scratch transformer); ``database`` the reference embeddings a retrieval
    method searches; ``passes`` the backbone's forward passes per image (crops)."""
    from . import backbones
    from .features import forward_ms

    t0 = time.perf_counter()
    predict()
    head_ms = 1000.0 * (time.perf_counter() - t0) / max(n_images, 1)
    backbone_ms = forward_ms(cfg)
    n_backbone = parameters(
        backbones.architecture(cfg.backbone)
    )  # built on the meta device: no weights
    return {
        "train_seconds": float(sum(h.train_seconds for h in histories)),
        "epochs": int(sum(len(h.epochs) for h in histories)),
        "parameters_m": (n_backbone + parameters(*models)) / 1e6,
        "database_mb": 0.0
        if database is None
        else float(np.asarray(database, np.float32).nbytes / 2**20),
        "images_per_s": 1000.0 / (passes * backbone_ms + head_ms),
        "device": cfg.device,
    }
