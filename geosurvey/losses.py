"""Losses of the book's methods, as small objects called ``loss(outputs, targets)``.

Each is a dataclass, so its repr names every hyperparameter (``SupCon(tau=0.07)``):
checkpoint keys include it, and changing tau, a margin or a weight trains anew.
Embedding losses take L2-normalised ``z`` (batch, d); the label
:data:`geosurvey.cells.DROPPED` (a photo whose cell was dropped) is ignored by every
loss and never counts as a positive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional as F

from . import cache
from .cells import DROPPED
from .geo import haversine_torch, safe_sqrt


def supcon(z, labels, tau: float = 0.07):
    """Supervised contrastive loss (Khosla et al. 2020: the mean over positives taken
    outside the logarithm, their "L_out").

    For each anchor with at least one other sample of its class in the batch: ``-mean_p
    log( exp(z.z_p / tau) / sum_{a != anchor} exp(z.z_a / tau) )``; anchors without a
    positive are skipped. Returns 0 (with a gradient path) when no anchor has a
    positive.
    """
    labels = labels.view(-1)
    n = len(z)
    logits = (z @ z.T) / tau
    self_mask = torch.eye(n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    valid = labels >= 0
    pos = (
        (labels[:, None] == labels[None, :])
        & ~self_mask
        & valid[:, None]
        & valid[None, :]
    )
    n_pos = pos.sum(1)
    anchors = n_pos > 0
    if not anchors.any():
        return z.sum() * 0.0
    mean_log_prob = log_prob.masked_fill(~pos, 0.0).sum(1)[anchors] / n_pos[anchors]
    return -mean_log_prob.mean()


@dataclass(frozen=True)
class SupCon:
    """:func:`supcon` on one level of cell labels."""

    tau: float = 0.07

    def __call__(self, z, labels):
        return supcon(z, labels, self.tau)


@dataclass(frozen=True)
class HierarchicalSupCon:
    """Weighted sum of :func:`supcon` over label levels, coarse to fine (Wu,
    appendix).

    ``labels``: (batch, levels) cell ids; ``weights``: one per level, coarse to fine
    (Table 7 weighs the coarse level most, e.g. 1, 0.3, 0.05).
    """

    weights: tuple
    tau: float = 0.07

    def __call__(self, z, labels):
        if labels.shape[1] != len(self.weights):
            raise ValueError(
                f"{labels.shape[1]} label levels but {len(self.weights)} weights"
            )
        return sum(
            w * supcon(z, labels[:, k], self.tau) for k, w in enumerate(self.weights)
        )


def distance_triplets(lat, lon):
    """In-batch triplets by real distance: for each anchor, its geographically closest
    other sample (positive) and its farthest (negative). Returns (positive index,
    negative index).

    Distances are ranked in float64 without any clamping, so a candidate 10 m away beats
    one 20 m away; ties (the same location twice) go to the lower index."""
    lat, lon = lat.double(), lon.double()
    d = haversine_torch(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    eye = torch.eye(len(lat), dtype=torch.bool, device=lat.device)
    positive = d.masked_fill(eye, float("inf")).argmin(1)
    negative = d.masked_fill(eye, float("-inf")).argmax(1)
    return positive, negative


def triplet(z, positive, negative, margin: float = 0.2):
    """Wu's Eq. (2): ``max(||e_a - e_p||^2 - ||e_a - e_n||^2 + m, 0)``, averaged
    over anchors, with *squared* Euclidean distances."""
    d_pos = (z - z[positive]).pow(2).sum(1)
    d_neg = (z - z[negative]).pow(2).sum(1)
    return F.relu(d_pos - d_neg + margin).mean()


@dataclass(frozen=True)
class DistanceTriplet:
    """:func:`triplet` on :func:`distance_triplets` (margin 0.2 in Wu).

    ``coords``: (batch, 2) true latitude and longitude in degrees.
    """

    margin: float = 0.2

    def __call__(self, z, coords):
        positive, negative = distance_triplets(coords[:, 0], coords[:, 1])
        return triplet(z, positive, negative, self.margin)


@dataclass(frozen=True)
class HaversineAlignment:
    """A distance-aware term for embeddings: the mean squared difference between the
    angle of two unit embeddings and the angle of their two locations (both over pi),
    over the pairs of a batch. Wu's multi-stage warm-up adds a "haversine
    distance" term to the contrastive loss without giving its formula; this is ours:
    embedding geometry should mirror geography."""

    def __call__(self, z, coords):
        cos = (z @ z.T).clamp(-1 + 1e-6, 1 - 1e-6)
        lat, lon = coords[:, 0].float(), coords[:, 1].float()
        ground = haversine_torch(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
        return ((torch.arccos(cos) - ground / 6371.0088) ** 2).mean() / torch.pi**2


@dataclass(frozen=True)
class WarmUp:
    """Wu's multi-stage warm-up: supervised contrastive loss on the coarsest
    cells plus ``weight`` times :class:`HaversineAlignment`. Targets are rows ``[cell,
    lat, lon]``."""

    tau: float = 0.07
    weight: float = 1.0

    def __call__(self, z, targets):
        return supcon(
            z, targets[:, 0].long(), self.tau
        ) + self.weight * HaversineAlignment()(z, targets[:, 1:3])


@dataclass(frozen=True)
class CrossEntropy:
    """Cross-entropy over cells; a dropped cell's label is ignored."""

    def __call__(self, logits, labels):
        return F.cross_entropy(
            logits.flatten(0, -2), labels.flatten(), ignore_index=DROPPED
        )


def unit_vectors(coords):
    """(batch, 3) unit vectors of (lat, lon) rows in degrees."""
    lat, lon = torch.deg2rad(coords[:, 0].float()), torch.deg2rad(coords[:, 1].float())
    return torch.stack(
        [
            torch.cos(lat) * torch.cos(lon),
            torch.cos(lat) * torch.sin(lon),
            torch.sin(lat),
        ],
        1,
    )


@dataclass(frozen=True)
class UnitVector:
    """Squared chord distance between a predicted unit vector and the true location: the
    regression baseline as commonly written (its optimum is the *mean* of the target
    vectors, so it hedges between modes)."""

    def __call__(self, pred_xyz, coords):
        return ((pred_xyz - unit_vectors(coords)) ** 2).sum(1).mean()


@dataclass(frozen=True)
class GreatCircle:
    """The great-circle distance (km) between the predicted and the true location: a
    regression trained on the very distance the evaluator measures (its optimum is the
    spherical *median*, which does not sit between two modes the way a mean does)."""

    def __call__(self, pred_xyz, coords):
        true = unit_vectors(coords)
        sin = safe_sqrt(torch.linalg.cross(pred_xyz, true).pow(2).sum(1))
        return 6371.0088 * torch.atan2(sin, (pred_xyz * true).sum(1)).mean()


def smoothed_targets(cell_lat, cell_lon, lat, lon, tau: float):
    """PIGEON's haversine-smoothed labels (Haas et al.), normalised over cells (torch,
    batched).

    The paper's target of cell i for a photo at x is exp(-(d(g_i, x) - d(g_n, x)) /
    tau), with g_n the true cell's centre. Normalised to sum to one, the d(g_n, x) term
    cancels: the target is softmax(-d(g_i, x) / tau), largest at the cell centre nearest
    the photo, and one-hot on it as tau -> 0. Returns (batch, cells).
    """
    d = haversine_torch(
        lat[:, None], lon[:, None], cell_lat[None, :], cell_lon[None, :]
    )
    return torch.softmax(-d / tau, dim=1)


@dataclass(frozen=True)
class HaversineSmoothing:
    """Cross-entropy against :func:`smoothed_targets` of the true (lat, lon) over every
    cell.

    ``cell_lat``/``cell_lon``: the class centres (numpy); targets are (batch, 2)
    coordinates.
    """

    cell_lat: np.ndarray = field(repr=False)
    cell_lon: np.ndarray = field(repr=False)
    tau: float = 75.0

    def __repr__(self) -> str:
        # to a micro-degree: CPUs differ in the last bit of trigonometry (numpy#23523)
        centres = cache.fingerprint(np.round([self.cell_lat, self.cell_lon], 6) + 0.0)
        n = len(self.cell_lat)
        return f"HaversineSmoothing(tau={self.tau}, cells={n}, centres={centres})"

    def __call__(self, logits, coords):
        cl = torch.as_tensor(self.cell_lat, dtype=torch.float32, device=logits.device)
        co = torch.as_tensor(self.cell_lon, dtype=torch.float32, device=logits.device)
        target = smoothed_targets(
            cl, co, coords[:, 0].float(), coords[:, 1].float(), self.tau
        )
        return -(target * F.log_softmax(logits.float(), dim=1)).sum(1).mean()


@dataclass(frozen=True)
class WithAuxiliary:
    """PIGEON's multi-task loss: ``main`` on ``outputs["cells"]`` plus ``weight`` times
    each auxiliary task (cross-entropy for classes, mean squared error for standardised
    values).

    ``tasks``: ``((name, n_classes or 1), ...)``. Targets are rows ``[cell, lat, lon,
    task values...]``; the main loss reads the cell (cross-entropy) or the coordinates
    (haversine smoothing).
    """

    main: object
    tasks: tuple
    weight: float = 0.3

    def __call__(self, outputs, targets):
        main_target = (
            targets[:, 1:3]
            if isinstance(self.main, HaversineSmoothing)
            else targets[:, 0].long()
        )
        loss = self.main(outputs["cells"], main_target)
        for j, (name, n) in enumerate(self.tasks):
            y = targets[:, 3 + j]
            aux = (
                F.cross_entropy(outputs[name], y.long())
                if n > 1
                else F.mse_loss(outputs[name][:, 0], y.float())
            )
            loss = loss + self.weight * aux
        return loss


@dataclass(frozen=True)
class MultiPartition:
    """Lo et al.'s L_multi: the mean of the cross-entropies of one head per partition.

    ``heads``: the output names in the order of the target columns; a dropped cell is
    ignored.
    """

    heads: tuple

    def __call__(self, outputs, labels):
        return sum(
            F.cross_entropy(outputs[h], labels[:, k], ignore_index=DROPPED)
            for k, h in enumerate(self.heads)
        ) / len(self.heads)


@dataclass(frozen=True)
class SoftTargets:
    """Cross-entropy against target *distributions* (e.g. land-cover shares) for each
    named head; the target columns are the heads' classes, concatenated in ``heads``
    order."""

    heads: tuple  # ((name, n_classes), ...)

    def __call__(self, outputs, targets):
        loss, col = 0.0, 0
        for name, n in self.heads:
            t = targets[:, col : col + n].float()
            loss = (
                loss - (t * F.log_softmax(outputs[name].float(), dim=1)).sum(1).mean()
            )
            col += n
        return loss / len(self.heads)


READER_NAMES = {  # what a page calls each loss
    "SupCon": "supervised contrastive",
    "HierarchicalSupCon": "hierarchical contrastive",
    "DistanceTriplet": "triplet, by distance",
    "HaversineAlignment": "haversine alignment",
    "WarmUp": "contrastive warm-up",
    "CrossEntropy": "cross-entropy",
    "UnitVector": "squared chord",
    "GreatCircle": "great-circle distance",
    "HaversineSmoothing": "haversine-smoothed cross-entropy",
    "WithAuxiliary": "cells and auxiliary heads",
    "MultiPartition": "cross-entropy, mean of partitions",
    "SoftTargets": "cross-entropy on distributions",
}
