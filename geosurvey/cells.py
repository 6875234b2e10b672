"""Geocells: the classes of classification-based geolocation.

A :class:`Partition` is a set of non-overlapping S2 cells (possibly of mixed levels)
built from training coordinates, with per-cell counts and two candidate "class centres"
to predict: the mean of the member photos and the geometric centre of the cell.

* :func:`uniform` - every S2 cell of one level that holds photos (the OSV-5M / Wu
  labels).
* :func:`adaptive` - PlaNet's quadtree: split any cell holding more than ``tau_max``
  photos, then drop sparse cells (Weyand 2016). The book follows the public reference
  implementation of that rule, GeoEstimation's ``create_cells`` (Mueller-Budack 2018,
  also used by Lo et al.): start from the 96 cells of S2 level 2 and drop cells with at
  most ``tau_min`` photos.
* :func:`hierarchy` - several adaptive partitions at once (coarse/middle/fine) with the
  index of each cell's enclosing cell one partition up, for hierarchical prediction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse
from scipy.special import log_softmax

from . import cache, s2
from .geo import from_xyz, haversine, nearest, to_xyz, validate_coordinates

DROPPED = (
    -1
)  # the class of a photo whose cell was dropped: no class, ignored by every loss
DROP_RULES = (
    "at_most",
    "below",
)  # drop cells with <= tau_min photos (GeoEstimation), or < tau_min


@dataclass
class Partition:
    """Sorted S2 cell ids with their training counts and centres (class index =
    position)."""

    cell_ids: np.ndarray
    counts: np.ndarray
    mean_lat: np.ndarray
    mean_lon: np.ndarray
    n_points: int
    n_dropped: int
    params: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.cell_ids)

    @property
    def levels(self) -> np.ndarray:
        return s2.level_of(self.cell_ids)

    def centers(self, kind: str = "mean"):
        """Class centres to predict: ``"mean"`` of members or geometric ``"center"``."""
        if kind == "mean":
            return self.mean_lat, self.mean_lon
        if kind == "center":
            return s2.cell_center(self.cell_ids)
        raise ValueError(f"unknown centre kind {kind!r}: use 'mean' or 'center'")

    def assign_leaves(self, leaves: np.ndarray) -> np.ndarray:
        """Class index of the cell containing each leaf id, :data:`DROPPED` where no
        kept cell does."""
        lo, hi = s2.leaf_range(self.cell_ids)
        k = np.searchsorted(lo, leaves, side="right") - 1
        inside = (k >= 0) & (leaves <= hi[np.clip(k, 0, None)])
        return np.where(inside, k, DROPPED)

    def assign(self, lat, lon) -> np.ndarray:
        """Class index of each point (:data:`DROPPED` in dropped or never-seen
        regions)."""
        return self.assign_leaves(s2.leaf_ids(lat, lon))

    def fingerprint(self) -> str:
        return cache.fingerprint(self.cell_ids) + _means_fingerprint(self)

    def summary(self) -> dict:
        lv = self.levels
        return {
            "cells": len(self),
            "levels": f"{lv.min()}-{lv.max()}" if len(self) else "-",
            "median photos/cell": float(np.median(self.counts)) if len(self) else 0.0,
            "dropped photos": self.n_dropped,
            "dropped %": 100.0 * self.n_dropped / max(self.n_points, 1),
        }


def decode(logits, partition, kind: str = "mean"):
    """Predicted (lat, lon): the chosen centre (member ``"mean"`` or geometric
    ``"center"``) of each row's most probable cell."""
    lat, lon = partition.centers(kind)
    c = np.asarray(logits).argmax(1)
    return lat[c], lon[c]


def hierarchical_decode(logits: dict, hier, names):
    """Predicted points of the finest partition from the product of every level's
    probability (``logits[name]`` per partition of ``hier``, coarse to fine, named
    ``names``)."""
    log_probs = [log_softmax(np.asarray(logits[n], np.float64), axis=1) for n in names]
    return decode(hierarchical_log_probs(log_probs, hier), hier.partitions[-1])


def _finish(
    leaves, lat, lon, cells, counts, *, tau_min, params, drop="at_most"
) -> Partition:
    order = np.argsort(cells)
    cells, counts = cells[order], counts[order]
    keep = counts > tau_min if drop == "at_most" else counts >= tau_min
    part = Partition(
        cells[keep],
        counts[keep],
        np.empty(0),
        np.empty(0),
        len(leaves),
        int(counts[~keep].sum()),
        params,
    )
    if len(part) == 0:
        raise ValueError(
            f"partition {params} is empty: every cell holds fewer than "
            f"tau_min={tau_min} photos (of {len(leaves):,}); lower tau_min and tau_max"
        )
    label = part.assign_leaves(leaves)
    part.mean_lat, part.mean_lon = _member_means(lat, lon, label, len(part))
    return part


def _means_fingerprint(part) -> str:
    """The means to a micro-degree: CPUs differ in the last bit (numpy#23523)."""
    return cache.fingerprint(np.round([part.mean_lat, part.mean_lon], 6) + 0.0)


def _member_means(lat, lon, label, n_cells):
    """Spherical mean of each cell's member coordinates (robust across the
    antimeridian)."""
    ok = label >= 0
    xyz = np.zeros((n_cells, 3))
    np.add.at(xyz, label[ok], to_xyz(lat[ok], lon[ok]))
    return from_xyz(xyz)


def uniform(lat, lon, level: int, tau_min: int = 1) -> Partition:
    """Every S2 cell at ``level`` holding at least ``tau_min`` of the given points."""
    lat, lon = validate_coordinates(lat, lon, "partition points")
    leaves = s2.leaf_ids(lat, lon)
    cells, counts = np.unique(s2.parent(leaves, level), return_counts=True)
    params = {"kind": "uniform", "level": level, "tau_min": tau_min}
    return _finish(
        leaves, lat, lon, cells, counts, tau_min=tau_min, params=params, drop="below"
    )


def _check_taus(tau_max: int, tau_min: int, drop: str) -> None:
    if tau_max < 1 or tau_min < 1:
        raise ValueError(
            f"tau_max ({tau_max}) and tau_min ({tau_min}) must be positive "
            "numbers of photos"
        )
    if tau_min > tau_max:
        raise ValueError(f"tau_min ({tau_min}) must not exceed tau_max ({tau_max})")
    if drop not in DROP_RULES:
        raise ValueError(f"drop must be one of {DROP_RULES}, not {drop!r}")


def quadtree(leaves, tau_max: int, min_level: int, max_level: int):
    """Cells and counts of the quadtree that splits every cell above ``tau_max``
    points."""
    active, out_cells, out_counts = leaves, [], []
    for level in range(min_level, max_level + 1):
        parents = s2.parent(active, level)
        cells, inverse, counts = np.unique(
            parents, return_inverse=True, return_counts=True
        )
        split = (counts > tau_max) & (level < max_level)
        out_cells.append(cells[~split])
        out_counts.append(counts[~split])
        active = active[split[inverse]]
        if len(active) == 0:
            break
    return np.concatenate(out_cells), np.concatenate(out_counts)


def adaptive(
    lat,
    lon,
    tau_max: int,
    tau_min: int,
    *,
    min_level: int = 2,
    max_level: int = s2.MAX_LEVEL,
    drop: str = "at_most",
) -> Partition:
    """PlaNet's adaptive quadtree over S2 cells.

    Starting from the cells at ``min_level``, any cell holding more than ``tau_max``
    points is replaced by its four children, level by level; then cells with at most
    ``tau_min`` points (``drop="at_most"``, GeoEstimation's rule) or fewer than
    ``tau_min`` (``drop="below"``) are dropped, their photos counted in ``n_dropped``.
    One ``np.unique`` per level over the points still being split makes this O(n log n)
    per level for millions of points.
    """
    _check_taus(tau_max, tau_min, drop)
    lat, lon = validate_coordinates(lat, lon, "partition points")
    leaves = s2.leaf_ids(lat, lon)
    cells, counts = quadtree(leaves, tau_max, min_level, max_level)
    params = {
        "kind": "adaptive",
        "tau_max": tau_max,
        "tau_min": tau_min,
        "min_level": min_level,
        "drop": drop,
    }
    return _finish(
        leaves, lat, lon, cells, counts, tau_min=tau_min, params=params, drop=drop
    )


@dataclass
class Hierarchy:
    """Partitions from coarse to fine; ``parents[k][c]`` is the index in
    ``partitions[k]`` of the cell that contains cell ``c`` of ``partitions[k + 1]`` (-1
    if that cell was dropped)."""

    partitions: list
    parents: list

    def ancestors(self, level: int) -> list:
        """For every cell of partition ``level``, its enclosing cell index in each
        coarser partition."""
        chain, idx = [], np.arange(len(self.partitions[level]))
        for k in range(level - 1, -1, -1):
            idx = np.where(idx >= 0, self.parents[k][np.clip(idx, 0, None)], -1)
            chain.insert(0, idx)
        return chain


def hierarchy(lat, lon, tau_max_list, tau_min: int) -> Hierarchy:
    """Adaptive partitions for decreasing ``tau_max`` values, each linked to the one
    before.

    Because a cell split at a large ``tau_max`` is also split at any smaller one, the
    finer partitions refine the coarser ones: every fine cell lies inside exactly one
    coarse cell.
    """
    parts = [adaptive(lat, lon, t, tau_min) for t in sorted(tau_max_list, reverse=True)]
    parents = [
        coarse.assign_leaves(s2.leaf_range(fine.cell_ids)[0])
        for coarse, fine in zip(parts, parts[1:])
    ]
    return Hierarchy(parts, parents)


def hierarchical_log_probs(log_probs: list, hier: Hierarchy):
    """Fine-cell scores that multiply in the probabilities of the enclosing coarser
    cells.

    ``log_probs[k]`` has shape (n, len(partitions[k])). Returns (n, n_fine) log-scores
    ``log p_fine + sum_k log p_k(ancestor)`` (the YOLO9000-style product of Lo et al.).
    """
    fine = len(hier.partitions) - 1
    out = np.array(log_probs[fine], dtype=np.float64, copy=True)
    for k, anc in enumerate(hier.ancestors(fine)):
        lp = np.asarray(log_probs[k])
        out += np.where(anc >= 0, lp[:, np.clip(anc, 0, None)], -np.inf)
    return out


@dataclass
class SemanticPartition:
    """PIGEON's semantic geocells: sets of training points that follow administrative
    borders.

    ``labels[i]`` is the cell of training point i (:data:`DROPPED` where its cell was
    dropped); a new point takes the cell of its nearest training point. Cells never mix
    countries.
    """

    labels: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    counts: np.ndarray
    mean_lat: np.ndarray
    mean_lon: np.ndarray
    country: np.ndarray  # of each cell
    name: np.ndarray  # "country/admin1[#k]" of each cell
    params: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.counts)

    @property
    def n_points(self) -> int:
        return len(self.labels)

    @property
    def n_dropped(self) -> int:
        return int((self.labels < 0).sum())

    def centers(self, kind: str = "mean"):
        if kind != "mean":
            raise ValueError(
                "semantic cells are point sets: only their member 'mean' is defined"
            )
        return self.mean_lat, self.mean_lon

    def assign(self, lat, lon) -> np.ndarray:
        """The cell of each point's nearest training point (:data:`DROPPED` if its cell
        was dropped)."""
        _, idx = nearest(lat, lon, self.lat, self.lon)
        return self.labels[idx]

    def fingerprint(self) -> str:
        return cache.fingerprint(self.labels) + _means_fingerprint(self)

    def summary(self) -> dict:
        return {
            "cells": len(self),
            "levels": "-",
            "median photos/cell": float(np.median(self.counts)),
            "dropped photos": self.n_dropped,
            "dropped %": 100.0 * self.n_dropped / max(self.n_points, 1),
        }


def semantic(
    lat,
    lon,
    country,
    admin1,
    *,
    tau_max: int,
    n_min: int,
    drop_below: int | None = None,
) -> SemanticPartition:
    """Semantic geocells from the first-level regions (admin-1) of the training points.

    1. One region per (country, admin-1).
    2. Regions with fewer than ``n_min`` points merge into the nearest region of the
       same country, smallest first, until none is too small or the country is one.
    3. Regions with more than ``tau_max`` points are cut in two at the median of their
       widest direction while a piece is too large (PIGEON used OPTICS clustering).
    4. Cells with fewer than ``drop_below`` points (default ``n_min``) are dropped.
    """
    lat, lon = validate_coordinates(lat, lon, "semantic partition points")
    country, admin1 = (np.asarray(a, dtype=object) for a in (country, admin1))
    regions = merge_small(lat, lon, country, admin1, n_min)
    labels, names = split_large(lat, lon, regions, tau_max)
    bound = n_min if drop_below is None else drop_below
    params = {
        "kind": "semantic",
        "tau_max": tau_max,
        "n_min": n_min,
        "drop_below": drop_below,
    }
    return _point_cells(
        lat, lon, labels, np.asarray(names, dtype=object), bound, params
    )


def _point_cells(lat, lon, labels, names, bound: int, params) -> SemanticPartition:
    """The cells of point labels with at least ``bound`` points; the others are
    dropped."""
    counts = np.bincount(labels, minlength=len(names))
    keep = counts >= bound
    labels = np.where(keep, np.cumsum(keep) - 1, DROPPED)[labels]
    mean_lat, mean_lon = _member_means(lat, lon, labels, int(keep.sum()))
    country = np.array([n.split("/", 1)[0] for n in names], dtype=object)
    return SemanticPartition(
        labels,
        lat,
        lon,
        counts[keep],
        mean_lat,
        mean_lon,
        country[keep],
        names[keep],
        params,
    )


def merge_small(lat, lon, country, admin1, n_min):
    """Region key of every point after merging regions of fewer than ``n_min`` points
    into the nearest region of their country, smallest first."""
    region = np.array([f"{c}/{a}" for c, a in zip(country, admin1)], dtype=object)
    xyz = to_xyz(lat, lon)
    for c in np.unique(country):
        in_c = np.flatnonzero(country == c)
        while True:
            keys, inv, counts = np.unique(
                region[in_c], return_inverse=True, return_counts=True
            )
            if len(keys) == 1 or counts.min() >= n_min:
                break
            small = int(np.argmin(counts))
            centres = np.stack([xyz[in_c][inv == k].mean(0) for k in range(len(keys))])
            sim = centres @ centres[small]
            sim[small] = -np.inf
            region[in_c[inv == small]] = keys[int(np.argmax(sim))]
    return region


def split_large(lat, lon, region, tau_max):
    """Integer cell labels and cell names after splitting every region above ``tau_max``
    points."""
    xyz = to_xyz(lat, lon)
    labels = np.empty(len(region), np.int64)
    names = []
    for key in np.unique(region):
        pieces = _bisect(xyz, np.flatnonzero(region == key), tau_max)
        for j, idx in enumerate(pieces):
            labels[idx] = len(names)
            names.append(key if len(pieces) == 1 else f"{key}#{j}")
    return labels, names


def _bisect(xyz, idx, tau_max) -> list:
    """Split points at the median of their widest direction until no piece exceeds
    ``tau_max``: pieces stay compact and balanced (each half of a split holds half the
    points)."""
    if len(idx) <= tau_max:
        return [idx]
    centred = xyz[idx] - xyz[idx].mean(0)
    axis = np.linalg.svd(centred, full_matrices=False)[2][0]
    order = idx[np.argsort(centred @ axis, kind="stable")]
    half = len(order) // 2
    return _bisect(xyz, order[:half], tau_max) + _bisect(xyz, order[half:], tau_max)


def country_mixing(labels, country) -> float:
    """Share of cells (labels >= 0) whose member points lie in more than one country."""
    labels, country = np.asarray(labels), np.asarray(country, dtype=object)
    ok = labels >= 0
    pairs = {(int(lab), c) for lab, c in zip(labels[ok], country[ok])}
    per_cell = np.bincount([lab for lab, _ in pairs])
    present = per_cell[per_cell > 0]
    return float(np.mean(present > 1)) if len(present) else 0.0


def partition_labels(parts: dict, x) -> np.ndarray:
    """(n, partitions) cell of every image of ``x`` (anything with ``lat`` and ``lon``)
    in each partition (:data:`~geosurvey.cells.DROPPED` where that partition dropped its
    cell)."""
    return np.stack([p.assign(x.lat, x.lon) for p in parts.values()], 1)


def reassign_dropped(labels, lat, lon, partition, features, *, within_km, candidates=3):
    """Lo et al.'s boundary check (Lo 2025, line 79): a training image whose cell was
    dropped (``labels`` :data:`DROPPED`) joins a kept cell of ``partition`` if one of
    the ``candidates`` nearest (by member mean) lies within ``within_km``: of those, the
    one whose images' mean feature it matches best (cosine). Images far from every kept
    cell (seas, poles) stay dropped. Returns new labels."""
    labels = np.array(labels)
    out = np.flatnonzero(labels == DROPPED)
    if len(out) == 0 or within_km <= 0:
        return labels
    f = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    kept = np.flatnonzero(labels >= 0)
    members = scipy.sparse.csr_matrix(  # each kept cell's rows, summed in row order
        (np.ones(len(kept)), (labels[kept], kept)), shape=(len(partition), len(f))
    )
    means = np.asarray(members @ f.astype(np.float64))
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    clat, clon = partition.centers("mean")
    d = haversine(lat[out, None], lon[out, None], clat[None], clon[None])
    near = np.argsort(d, axis=1)[:, :candidates]
    match = np.einsum("nd,nkd->nk", f[out], means[near])
    match[np.take_along_axis(d, near, 1) > within_km] = -np.inf
    joined = np.isfinite(match.max(1))
    labels[out[joined]] = near[joined, match[joined].argmax(1)]
    return labels
