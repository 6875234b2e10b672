"""Nearest-neighbour geolocation over a FAISS index of embeddings with known
coordinates.

Exact inner-product search (``IndexFlatIP``) is the default; ``kind="ivf"`` or
``"hnsw"`` gives approximate search for millions of references, whose recall against
exact search is measured in the benchmark. Predictions are the top-1 neighbour's
location or the similarity-weighted mean of the k neighbours' locations, averaged on the
sphere as 3-D vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geo import from_xyz, spherical_mean, to_xyz


def _faiss():
    import faiss

    return faiss


def backend() -> str:
    """Which FAISS serves the searches: faiss-gpu when installed with a GPU present,
    else faiss-cpu."""
    faiss = _faiss()
    gpus = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
    return (
        f"faiss {faiss.__version__} on {gpus} GPU(s)"
        if gpus
        else f"faiss {faiss.__version__} on the CPU (faiss-cpu)"
    )


def normalize(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-12)


class GeoIndex:
    """Reference embeddings (L2-normalised, compared by cosine similarity) with their
    coordinates."""

    def __init__(
        self,
        embeddings,
        lat,
        lon,
        *,
        kind: str = "flat",
        nlist: int | None = None,
        nprobe: int = 16,
        hnsw_m: int = 32,
        ef_search: int = 128,
    ):
        faiss = _faiss()
        x = normalize(embeddings)
        d = x.shape[1]
        self.lat, self.lon = (
            np.asarray(lat, dtype=np.float64),
            np.asarray(lon, dtype=np.float64),
        )
        if len(self.lat) != len(x):
            raise ValueError(f"{len(x)} embeddings but {len(self.lat)} coordinates")
        if kind == "flat":
            self.index = faiss.IndexFlatIP(d)
        elif kind == "ivf":
            nlist = nlist or max(1, int(4 * np.sqrt(len(x))))
            self.index = faiss.IndexIVFFlat(
                faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT
            )
            self.index.train(x)
            self.index.nprobe = nprobe
        elif kind == "hnsw":
            self.index = faiss.IndexHNSWFlat(d, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            self.index.hnsw.efSearch = ef_search
        else:
            raise ValueError(
                f"unknown index kind {kind!r}: use 'flat', 'ivf' or 'hnsw'"
            )
        if (
            kind == "flat"
            and hasattr(faiss, "get_num_gpus")
            and faiss.get_num_gpus() > 0
        ):
            self.index = faiss.index_cpu_to_all_gpus(
                self.index
            )  # faiss-gpu: exact search on the GPUs
        self.index.add(x)
        self.kind = kind

    def search(self, queries, k: int):
        """(similarities, indices), each (n_queries, k), best first."""
        return self.index.search(normalize(queries), k)


def recall_at_k(found, exact) -> float:
    """Mean share of the exact search's neighbours (rows of ``exact``) that ``found``
    also returned."""
    k = np.shape(exact)[1]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(found, exact)]))


def knn_locations(sims, idx, ref_lat, ref_lon, k: int):
    """Predicted (lat, lon) from the first ``k`` neighbours: the spherical mean of their
    locations weighted by cosine similarity (clipped at 0); k = 1 is the top-1
    neighbour."""
    idx = idx[:, :k]
    lat, lon = np.asarray(ref_lat)[idx], np.asarray(ref_lon)[idx]
    if k == 1:
        return lat[:, 0], lon[:, 0]
    w = np.clip(sims[:, :k].astype(np.float64), 0, None) + 1e-9
    return spherical_mean(lat, lon, weights=w, axis=1)


def choose_k(
    index: GeoIndex,
    val_queries,
    val_lat,
    val_lon,
    ks=(1, 3, 5, 10, 20, 50),
    criterion: str = "geoscore",
):
    """The k with the best validation ``criterion`` (never chosen on test); returns (k,
    {k: value}).

    ``criterion`` is any key of :func:`geosurvey.metrics.summarize`: ``geoscore`` and
    ``acc@...`` are maximised, ``median_km`` and ``mean_km`` minimised.
    """
    from .metrics import evaluate

    sims, idx = index.search(val_queries, max(ks))
    scores = {
        k: evaluate(
            *knn_locations(sims, idx, index.lat, index.lon, k), val_lat, val_lon
        )[criterion]
        for k in ks
    }
    best = min if criterion.endswith("_km") else max
    return best(scores, key=scores.get), scores


def knn_predict(index: GeoIndex, queries, k: int):
    sims, idx = index.search(queries, k)
    return knn_locations(sims, idx, index.lat, index.lon, k)


def neighbour_agreement(ref, queries, ref_labels, query_labels) -> float:
    """Share of queries whose nearest reference (by cosine similarity) carries the same
    label: how well an embedding separates, say, continents, using every dimension."""
    _, idx = GeoIndex(ref, np.zeros(len(ref)), np.zeros(len(ref))).search(queries, 1)
    return float(np.mean(np.asarray(ref_labels)[idx[:, 0]] == np.asarray(query_labels)))


@dataclass
class LocationClusters:
    """PIGEON's location clusters: each cell's training images grouped by place, each
    group with its member mean location and mean (unit) embedding."""

    cell: np.ndarray  # (clusters,) cell index of each cluster
    lat: np.ndarray
    lon: np.ndarray
    embedding: np.ndarray  # (clusters, d), L2-normalised
    member: (
        np.ndarray
    )  # (training images,) cluster of each image, -1 outside every cell


def location_clusters(
    labels, lat, lon, embeddings, per_cluster: int = 10, seed: int = 0
) -> LocationClusters:
    """Split every cell's images into ``ceil(n / per_cluster)`` clusters by k-means on
    their positions (PIGEON used OPTICS), so a cluster is one place, not one look."""
    from sklearn.cluster import KMeans

    labels = np.asarray(labels)
    xyz = to_xyz(lat, lon)
    emb = normalize(embeddings)
    member = np.full(len(labels), -1)
    cell, mean_xyz, mean_emb = [], [], []
    for c in np.unique(labels[labels >= 0]):
        idx = np.flatnonzero(labels == c)
        k = min(int(np.ceil(len(idx) / per_cluster)), len(idx))
        parts = (
            KMeans(k, n_init=1, random_state=seed).fit_predict(xyz[idx])
            if k > 1
            else np.zeros(len(idx), int)
        )
        for j in np.unique(parts):
            rows = idx[parts == j]
            member[rows] = len(cell)
            cell.append(c)
            mean_xyz.append(xyz[rows].mean(0))
            mean_emb.append(emb[rows].mean(0))
    clat, clon = from_xyz(np.array(mean_xyz))
    return LocationClusters(
        np.array(cell), clat, clon, normalize(np.array(mean_emb)), member
    )


def refine(log_probs, clusters: LocationClusters, queries, top_k: int = 5):
    """PIGEON's retrieval refinement: among the clusters of each query's ``top_k`` most
    probable cells, answer with the member mean of the cluster whose mean embedding is
    most similar to the query's. Returns (lat, lon, chosen cluster)."""
    top = np.argsort(-np.asarray(log_probs), axis=1)[:, :top_k]
    sims = normalize(queries) @ clusters.embedding.T
    candidate = (clusters.cell[None, :, None] == top[:, None, :]).any(-1)
    choice = np.where(candidate, sims, -np.inf).argmax(1)
    return clusters.lat[choice], clusters.lon[choice], choice


def nearest_member(choice, group, train_emb, train_lat, train_lon, queries):
    """Within each query's chosen group (a cell, or a location cluster: ``group[i]`` is
    training image i's), the location of its most similar training image (cosine).
    With the most probable cell as the choice, this is the survey's intra-cell
    retrieval."""
    emb, q = normalize(train_emb), normalize(queries)
    lat, lon = np.empty(len(q)), np.empty(len(q))
    for c in np.unique(choice):
        rows = np.flatnonzero(choice == c)
        members = np.flatnonzero(np.asarray(group) == c)
        best = members[(q[rows] @ emb[members].T).argmax(1)]
        lat[rows], lon[rows] = np.asarray(train_lat)[best], np.asarray(train_lon)[best]
    return lat, lon
