"""The floors every chapter reports beside its methods, on the same split and evaluator.

* prior: always the member mean of the densest S2 level-3 cell of the training set;
* random training location: the photo-density prior;
* raw-pixel k-NN: 16x16 tiny images (Torralba) and their nearest training images;
* frozen k-NN: pooled features of the profile's pretrained backbone, no training.

k is chosen on validation (mean GeoScore), never on test.
"""

from __future__ import annotations

import numpy as np

from . import cells, features, retrieval

PRIOR, RANDOM, RAW = "prior (densest cell)", "random training location", "raw-pixel k-NN (16x16)"


def frozen_name(backbone: str) -> str:
    return f"frozen {backbone} k-NN"


def knn(ref, query_val, query_test, train, val):
    """Predicted test (lat, lon) of a k-NN over ``ref`` embeddings, and the k chosen on validation."""
    index = retrieval.GeoIndex(ref, train.lat, train.lon)
    k, _ = retrieval.choose_k(index, query_val, val.lat, val.lon)
    return (*retrieval.knn_predict(index, query_test, k), k)


def add_floors(res, cfg, splits, on: str = "test", suffix: str = "") -> dict:
    """Add the four floors, evaluated on split ``on`` under their names plus ``suffix``, to ``res``
    (a :class:`~geosurvey.metrics.Results`); returns ``{method: (pred_lat, pred_lon)}``."""
    train, val, test = splits["train"], splits["val"], splits[on]
    preds = {}
    coarse = cells.uniform(train.lat, train.lon, level=3)
    top = int(np.argmax(coarse.counts))
    preds[PRIOR] = np.full(len(test), coarse.mean_lat[top]), np.full(len(test), coarse.mean_lon[top])
    res.add(PRIOR + suffix, *preds[PRIOR], test.meta)
    pick = np.random.default_rng(cfg.seed).integers(0, len(train), len(test))
    preds[RANDOM] = train.lat[pick], train.lon[pick]
    res.add(RANDOM + suffix, *preds[RANDOM], test.meta)
    for name, vecs in ((RAW, [features.tiny_images(s) for s in (train, val, test)]),
                       (frozen_name(cfg.backbone), [features.frozen_features(
                           cfg.backbone, s, cfg.input_px, cfg.batch_size, cfg.device, cfg.num_workers, taps=cfg.taps)
                           for s in (train, val, test)])):
        plat, plon, k = knn(*vecs, train, val)
        preds[name] = plat, plon
        res.add(name + suffix, plat, plon, test.meta, best_k=k)
    return preds
