"""Nearest-neighbour geolocation over a FAISS index of embeddings with known coordinates.

Exact inner-product search (``IndexFlatIP``) is the default; ``kind="ivf"`` or ``"hnsw"`` gives
approximate search for millions of references, whose recall against exact search is measured in
the benchmark. Predictions are the top-1 neighbour's location or the (similarity-)weighted mean
of the k neighbours' locations, averaged on the sphere as 3-D vectors.
"""

from __future__ import annotations

import numpy as np

from .geo import spherical_mean


def _faiss():
    import faiss

    return faiss


def normalize(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-12)


class GeoIndex:
    """Reference embeddings (L2-normalised, compared by cosine similarity) with their coordinates."""

    def __init__(self, embeddings, lat, lon, kind: str = "flat", nlist: int | None = None, nprobe: int = 16,
                 hnsw_m: int = 32, ef_search: int = 128):
        faiss = _faiss()
        x = normalize(embeddings)
        d = x.shape[1]
        self.lat, self.lon = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
        if len(self.lat) != len(x):
            raise ValueError(f"{len(x)} embeddings but {len(self.lat)} coordinates")
        if kind == "flat":
            self.index = faiss.IndexFlatIP(d)
        elif kind == "ivf":
            nlist = nlist or max(1, int(4 * np.sqrt(len(x))))
            self.index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
            self.index.train(x)
            self.index.nprobe = nprobe
        elif kind == "hnsw":
            self.index = faiss.IndexHNSWFlat(d, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            self.index.hnsw.efSearch = ef_search
        else:
            raise ValueError(f"unknown index kind {kind!r}: use 'flat', 'ivf' or 'hnsw'")
        self.index.add(x)
        self.kind = kind

    def search(self, queries, k: int):
        """(similarities, indices), each (n_queries, k), best first."""
        return self.index.search(normalize(queries), k)


def recall_at_k(found, exact) -> float:
    """Mean share of the exact search's neighbours (rows of ``exact``) that ``found`` also returned."""
    k = np.shape(exact)[1]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(found, exact)]))


def knn_locations(sims, idx, ref_lat, ref_lon, k: int, weighting: str = "similarity"):
    """Predicted (lat, lon) from the first ``k`` neighbours.

    ``weighting``: ``"none"`` (plain spherical mean), ``"similarity"`` (weights = cosine
    similarity clipped at 0), or ``"softmax"`` (weights = exp(sim / 0.05)). k = 1 is top-1.
    """
    idx = idx[:, :k]
    lat, lon = np.asarray(ref_lat)[idx], np.asarray(ref_lon)[idx]
    if k == 1:
        return lat[:, 0], lon[:, 0]
    s = sims[:, :k].astype(np.float64)
    if weighting == "none":
        w = np.ones_like(s)
    elif weighting == "similarity":
        w = np.clip(s, 0, None) + 1e-9
    elif weighting == "softmax":
        w = np.exp((s - s[:, :1]) / 0.05)
    else:
        raise ValueError(f"unknown weighting {weighting!r}")
    return spherical_mean(lat, lon, weights=w, axis=1)


def choose_k(index: GeoIndex, val_queries, val_lat, val_lon, ks=(1, 3, 5, 10, 20, 50), weighting="similarity",
             criterion: str = "geoscore"):
    """The k with the best validation ``criterion`` (never chosen on test); returns (k, {k: value}).

    ``criterion`` is any key of :func:`geosurvey.metrics.summarize`: ``geoscore`` and ``acc@...``
    are maximised, ``median_km`` and ``mean_km`` minimised.
    """
    from .metrics import evaluate

    sims, idx = index.search(val_queries, max(ks))
    scores = {k: evaluate(*knn_locations(sims, idx, index.lat, index.lon, k, weighting), val_lat, val_lon)[criterion]
              for k in ks}
    best = min if criterion.endswith("_km") else max
    return best(scores, key=scores.get), scores


def knn_predict(index: GeoIndex, queries, k: int, weighting: str = "similarity"):
    sims, idx = index.search(queries, k)
    return knn_locations(sims, idx, index.lat, index.lon, k, weighting)


def knn_methods(index: GeoIndex, val_queries, val_lat, val_lon, test_queries, ks=(1, 3, 5, 10, 20, 50)) -> dict:
    """Seed 002's two inference rules on one index: the top-1 neighbour's location, and the
    similarity-weighted spherical mean of the best ``k`` neighbours (k chosen on validation).
    Returns ``({"top-1": (lat, lon, 1), "weighted": (lat, lon, k)}, {k: validation GeoScore})``."""
    k, scores = choose_k(index, val_queries, val_lat, val_lon, ks)
    sims, idx = index.search(test_queries, max(k, 1))
    return {"top-1": (*knn_locations(sims, idx, index.lat, index.lon, 1), 1),
            "weighted": (*knn_locations(sims, idx, index.lat, index.lon, k), k)}, scores
