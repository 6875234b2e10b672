"""Losses for geo-embeddings: supervised contrastive (flat and hierarchical) and distance-mined triplets.

All take L2-normalised embeddings ``z`` of shape (batch, d). Cell labels of -1 (photos whose
cell was dropped) never count as positives.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from .geo import haversine_torch


def supcon(z, labels, tau: float = 0.07):
    """Supervised contrastive loss (Khosla et al. 2020, the "L_out" form).

    For each anchor with at least one other sample of its class in the batch:
    ``-mean_p log( exp(z.z_p / tau) / sum_{a != anchor} exp(z.z_a / tau) )``; anchors without a
    positive are skipped. Returns 0 (with a gradient path) when no anchor has a positive.
    """
    labels = labels.view(-1)
    n = len(z)
    logits = (z @ z.T) / tau
    self_mask = torch.eye(n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    valid = labels >= 0
    pos = (labels[:, None] == labels[None, :]) & ~self_mask & valid[:, None] & valid[None, :]
    n_pos = pos.sum(1)
    anchors = n_pos > 0
    if not anchors.any():
        return z.sum() * 0.0
    mean_log_prob = log_prob.masked_fill(~pos, 0.0).sum(1)[anchors] / n_pos[anchors]
    return -mean_log_prob.mean()


def hierarchical_supcon(z, labels, weights, tau: float = 0.07):
    """Weighted sum of :func:`supcon` over several label levels (seed 002, appendix).

    ``labels``: (batch, levels) cell ids from coarse to fine; ``weights``: one per level.
    """
    if labels.shape[1] != len(weights):
        raise ValueError(f"{labels.shape[1]} label levels but {len(weights)} weights")
    return sum(w * supcon(z, labels[:, k], tau) for k, w in enumerate(weights))


def distance_triplets(lat, lon):
    """In-batch triplets by real distance: for each anchor, its geographically closest other
    sample (positive) and its farthest (negative). Returns (positive index, negative index)."""
    d = haversine_torch(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    eye = torch.eye(len(lat), dtype=torch.bool, device=lat.device)
    positive = d.masked_fill(eye, float("inf")).argmin(1)
    negative = d.masked_fill(eye, float("-inf")).argmax(1)
    return positive, negative


def distance_triplet_loss(z, coords, margin: float = 0.2):
    """Triplet margin loss (Euclidean, margin 0.2 as in seed 002) on :func:`distance_triplets`.

    ``coords``: (batch, 2) true latitude and longitude in degrees.
    """
    positive, negative = distance_triplets(coords[:, 0], coords[:, 1])
    return F.triplet_margin_loss(z, z[positive], z[negative], margin=margin)


def unit_vector_loss(pred_xyz, coords):
    """Squared chord distance between a predicted unit vector and the true location (regression)."""
    lat, lon = torch.deg2rad(coords[:, 0]), torch.deg2rad(coords[:, 1])
    true = torch.stack([torch.cos(lat) * torch.cos(lon), torch.cos(lat) * torch.sin(lon), torch.sin(lat)], 1)
    return ((pred_xyz - true) ** 2).sum(1).mean()
