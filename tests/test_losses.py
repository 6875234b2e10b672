import numpy as np
import pytest
import torch
from torch.nn import functional as F

from geosurvey import losses


def _naive_supcon(z, labels, tau):
    """Khosla et al.'s L_out written as loops, to check the vectorised version against."""
    total, anchors = 0.0, 0
    for i in range(len(z)):
        pos = [p for p in range(len(z)) if p != i and labels[p] == labels[i] and labels[i] >= 0]
        if not pos:
            continue
        denom = sum(torch.exp(z[i] @ z[a] / tau) for a in range(len(z)) if a != i)
        total += -sum(torch.log(torch.exp(z[i] @ z[p] / tau) / denom) for p in pos) / len(pos)
        anchors += 1
    return total / anchors


def test_supcon_matches_the_definition_and_skips_unlabelled():
    g = torch.Generator().manual_seed(0)
    z = F.normalize(torch.randn(12, 5, generator=g), dim=1)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 3, -1, -1, 0, 2, 4])  # -1 pairs must not count as positives
    assert torch.allclose(losses.supcon(z, labels, 0.5), _naive_supcon(z, labels, 0.5), atol=1e-5)


def test_supcon_rewards_clustered_embeddings_and_handles_no_positives():
    labels = torch.arange(4).repeat_interleave(4)
    centres = F.normalize(torch.randn(4, 8, generator=torch.Generator().manual_seed(1)), dim=1)
    clustered = F.normalize(centres[labels] + 0.01 * torch.randn(16, 8), dim=1)
    shuffled = clustered[torch.randperm(16, generator=torch.Generator().manual_seed(2))]
    assert losses.supcon(clustered, labels) < losses.supcon(shuffled, labels)
    z = F.normalize(torch.randn(4, 3), dim=1).requires_grad_()
    loss = losses.supcon(z, torch.arange(4))
    assert loss.item() == 0.0
    loss.backward()  # still differentiable, so a batch without pairs cannot crash training


def test_hierarchical_supcon_is_the_weighted_sum():
    z = F.normalize(torch.randn(10, 4, generator=torch.Generator().manual_seed(3)), dim=1)
    levels = torch.tensor([[0, 0], [0, 1], [0, 1], [1, 2], [1, 2], [1, 3], [0, 0], [1, 3], [0, 1], [1, 2]])
    expected = 0.3 * losses.supcon(z, levels[:, 0]) + 0.7 * losses.supcon(z, levels[:, 1])
    assert torch.allclose(losses.HierarchicalSupCon((0.3, 0.7))(z, levels), expected)
    with pytest.raises(ValueError, match="weights"):
        losses.HierarchicalSupCon((1.0,))(z, levels)


def test_distance_triplets_use_real_distance_across_the_antimeridian():
    # Fiji-side points at +179.5 and -179.5 are 106 km apart; London is the farthest from both,
    # and from London the farthest is the point nearest its antipode (-51.5, 180)
    lat = torch.tensor([-17.0, -17.0, 51.5, -20.0])
    lon = torch.tensor([179.5, -179.5, 0.0, 170.0])
    pos, neg = losses.distance_triplets(lat, lon)
    assert pos.tolist() == [1, 0, 0, 0]
    assert neg.tolist() == [2, 2, 3, 2]


def test_triplet_loss_is_zero_when_margin_is_met():
    coords = torch.tensor([[0.0, 0.0], [0.0, 1.0], [0.0, 100.0], [0.0, 101.0]])
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [-1.0, 0.0]])  # two places, two embeddings
    assert losses.DistanceTriplet(margin=0.2)(z, coords).item() == pytest.approx(0.0, abs=1e-6)
    collapsed = torch.ones(4, 2) / np.sqrt(2)
    assert losses.DistanceTriplet(margin=0.2)(collapsed, coords).item() == pytest.approx(0.2, abs=1e-5)


def test_unit_vector_loss_is_zero_at_the_truth_and_four_at_the_antipode():
    coords = torch.tensor([[10.0, 20.0]])
    lat, lon = np.radians(10.0), np.radians(20.0)
    truth = torch.tensor([[np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)]], dtype=torch.float32)
    assert losses.UnitVector()(truth, coords).item() == pytest.approx(0.0, abs=1e-6)
    assert losses.UnitVector()(-truth, coords).item() == pytest.approx(4.0, abs=1e-5)


def test_cross_entropy_ignores_dropped_cells_and_flattens_sequences():
    logits = torch.randn(2, 3, 5, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([[0, 4, -100], [2, -100, 1]])
    keep = labels.flatten() != -100
    expected = F.cross_entropy(logits.flatten(0, 1)[keep], labels.flatten()[keep])
    assert torch.allclose(losses.CrossEntropy()(logits, labels), expected)


def _cells():
    lat = torch.tensor([48.85, 51.51, 40.71, -33.87])  # Paris, London, New York, Sydney
    lon = torch.tensor([2.35, -0.13, -74.01, 151.21])
    return lat, lon


def test_smoothed_targets_peak_at_the_nearest_cell_and_decay_with_distance():
    cl, co = _cells()
    photo_lat, photo_lon = torch.tensor([49.0]), torch.tensor([2.0])  # just north of Paris
    t = losses.smoothed_targets(cl, co, photo_lat, photo_lon, tau=300.0)[0]
    assert int(t.argmax()) == 0 and torch.isclose(t.sum(), torch.tensor(1.0))
    assert t[0] > t[1] > t[2] > t[3]  # Paris, London (~340 km), New York, Sydney
    # the paper's unnormalised form exp(-(d_i - d_true)/tau), normalised, is the same distribution
    from geosurvey.geo import haversine_torch

    d = haversine_torch(photo_lat, photo_lon, cl, co)
    paper_form = torch.exp(-(d - d[0]) / 300.0)
    assert torch.allclose(t, paper_form / paper_form.sum(), atol=1e-6)


def test_one_hot_is_the_limit_of_small_tau():
    cl, co = _cells()
    t = losses.smoothed_targets(cl, co, cl[[1]], co[[1]], tau=1e-3)[0]  # a photo at London's centre
    assert torch.allclose(t, torch.tensor([0.0, 1.0, 0.0, 0.0]), atol=1e-6)
    wide = losses.smoothed_targets(cl, co, cl[[1]], co[[1]], tau=1e8)[0]
    assert torch.allclose(wide, torch.full((4,), 0.25), atol=1e-3)


def test_smoothing_loss_rewards_near_misses_over_far_ones():
    cl, co = _cells()
    loss = losses.HaversineSmoothing(cl.numpy(), co.numpy(), tau=300.0)
    photo = torch.tensor([[48.85, 2.35]])  # in Paris
    near_miss = torch.tensor([[0.0, 8.0, 0.0, 0.0]])  # confident London
    far_miss = torch.tensor([[0.0, 0.0, 0.0, 8.0]])  # confident Sydney
    assert loss(near_miss, photo) < loss(far_miss, photo)
    assert "tau=300.0" in repr(loss) and "cells=4" in repr(loss)
