import numpy as np
import pytest
import torch
from torch.nn import functional as F

from geosurvey import losses
from geosurvey.cells import DROPPED
from geosurvey.geo import EARTH_RADIUS_KM, haversine, haversine_torch, to_xyz


def _naive_supcon(z, labels, tau):
    """Khosla et al.'s L_out written as loops, to check the vectorised version
    against."""
    total, anchors = 0.0, 0
    for i in range(len(z)):
        pos = [
            p
            for p in range(len(z))
            if p != i and labels[p] == labels[i] and labels[i] >= 0
        ]
        if not pos:
            continue
        denom = sum(torch.exp(z[i] @ z[a] / tau) for a in range(len(z)) if a != i)
        total += -sum(
            torch.log(torch.exp(z[i] @ z[p] / tau) / denom) for p in pos
        ) / len(pos)
        anchors += 1
    return total / anchors


def test_supcon_matches_the_definition_and_skips_unlabelled():
    g = torch.Generator().manual_seed(0)
    z = F.normalize(torch.randn(12, 5, generator=g), dim=1)
    # -1 pairs must not count as positives
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 3, -1, -1, 0, 2, 4])
    assert torch.allclose(
        losses.supcon(z, labels, 0.5), _naive_supcon(z, labels, 0.5), atol=1e-5
    )


def test_supcon_rewards_clustered_embeddings_and_handles_no_positives():
    labels = torch.arange(4).repeat_interleave(4)
    centres = F.normalize(
        torch.randn(4, 8, generator=torch.Generator().manual_seed(1)), dim=1
    )
    clustered = F.normalize(centres[labels] + 0.01 * torch.randn(16, 8), dim=1)
    shuffled = clustered[torch.randperm(16, generator=torch.Generator().manual_seed(2))]
    assert losses.supcon(clustered, labels) < losses.supcon(shuffled, labels)
    z = F.normalize(torch.randn(4, 3), dim=1).requires_grad_()
    loss = losses.supcon(z, torch.arange(4))
    assert loss.item() == 0.0
    # still differentiable, so a batch without pairs cannot crash training
    loss.backward()


def test_hierarchical_supcon_is_the_weighted_sum():
    z = F.normalize(
        torch.randn(10, 4, generator=torch.Generator().manual_seed(3)), dim=1
    )
    levels = torch.tensor(
        [[0, 0], [0, 1], [0, 1], [1, 2], [1, 2], [1, 3], [0, 0], [1, 3], [0, 1], [1, 2]]
    )
    expected = 0.3 * losses.supcon(z, levels[:, 0]) + 0.7 * losses.supcon(
        z, levels[:, 1]
    )
    assert torch.allclose(losses.HierarchicalSupCon((0.3, 0.7))(z, levels), expected)
    with pytest.raises(ValueError, match="weights"):
        losses.HierarchicalSupCon((1.0,))(z, levels)


def test_distance_triplets_use_real_distance_across_the_antimeridian():
    # Fiji-side points at +179.5 and -179.5 are 106 km apart; London is the farthest
    # from both, and from London the farthest is the point nearest its antipode
    # (-51.5, 180)
    lat = torch.tensor([-17.0, -17.0, 51.5, -20.0])
    lon = torch.tensor([179.5, -179.5, 0.0, 170.0])
    pos, neg = losses.distance_triplets(lat, lon)
    assert pos.tolist() == [1, 0, 0, 0]
    assert neg.tolist() == [2, 2, 3, 2]


def test_triplet_loss_is_zero_when_margin_is_met():
    coords = torch.tensor([[0.0, 0.0], [0.0, 1.0], [0.0, 100.0], [0.0, 101.0]])
    # two places, two embeddings
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [-1.0, 0.0]])
    assert losses.DistanceTriplet(margin=0.2)(z, coords).item() == pytest.approx(
        0.0, abs=1e-6
    )
    collapsed = torch.ones(4, 2) / np.sqrt(2)
    assert losses.DistanceTriplet(margin=0.2)(
        collapsed, coords
    ).item() == pytest.approx(0.2, abs=1e-5)


def test_distance_triplets_rank_ten_metres_above_twenty_metres():
    metre = 1.0 / 111_195.0  # degrees of latitude per metre
    lat = torch.tensor(
        [48.85, 48.85 + 20 * metre, 48.85 + 10 * metre, -33.87], dtype=torch.float32
    )
    # float32, as training batches are
    lon = torch.tensor([2.35, 2.35, 2.35, 151.21], dtype=torch.float32)
    pos, neg = losses.distance_triplets(lat, lon)
    assert pos[0] == 2  # the 10 m neighbour, though the 20 m one comes first
    assert pos[1] == 2 and pos[2] == 0 and neg[0] == 3


def test_distance_triplets_with_duplicate_locations():
    lat = torch.tensor([10.0, 10.0, 10.0, 40.0, -30.0])
    lon = torch.tensor([20.0, 20.0, 20.0, 5.0, -60.0])
    pos, neg = losses.distance_triplets(lat, lon)
    # a copy of itself is its positive (the lowest other index)
    assert pos[:3].tolist() == [1, 0, 0]
    assert neg[3] == 4 and neg[4] == 3
    assert (pos != torch.arange(5)).all() and (neg != torch.arange(5)).all()
    # one place, three photos
    same = losses.distance_triplets(torch.zeros(3), torch.zeros(3))
    assert same[0].tolist() == [1, 0, 0] and same[1].tolist() == [1, 0, 0]


def test_triplet_loss_is_eq_2_with_squared_distances():
    z = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    pos, neg = torch.tensor([1, 0, 3, 0]), torch.tensor([2, 3, 0, 2])
    # max(|a-p|^2 - |a-n|^2 + 0.2, 0): (4-1+.2) + (4-2+.2) + (1-1+.2) + (2-1+.2) = 6.8,
    # over 4 anchors
    assert losses.triplet(z, pos, neg, margin=0.2).item() == pytest.approx(1.7)
    unsquared = torch.nn.TripletMarginLoss(margin=0.2, p=2)(z, z[pos], z[neg]).item()
    assert unsquared == pytest.approx(
        (1.2 + (2 - 2**0.5 + 0.2) + 0.2 + (2**0.5 - 1 + 0.2)) / 4, abs=1e-4
    )
    assert abs(unsquared - 1.7) > 0.5
    assert losses.triplet(z, pos, neg, margin=0.0).item() == pytest.approx(
        (3 + 2 + 0 + 1) / 4
    )
    # negatives far beyond the margin: no loss
    far = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 0.0]])
    assert losses.triplet(
        far, torch.tensor([1, 0, 1]), torch.tensor([2, 2, 0]), 0.2
    ).item() == pytest.approx((0 + 0 + max(4.9**2 - 25 + 0.2, 0)) / 3)


def test_unit_vector_loss_is_zero_at_the_truth_and_four_at_the_antipode():
    coords = torch.tensor([[10.0, 20.0]])
    lat, lon = np.radians(10.0), np.radians(20.0)
    truth = torch.tensor(
        [[np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)]],
        dtype=torch.float32,
    )
    assert losses.UnitVector()(truth, coords).item() == pytest.approx(0.0, abs=1e-6)
    assert losses.UnitVector()(-truth, coords).item() == pytest.approx(4.0, abs=1e-5)


def test_cross_entropy_ignores_dropped_cells_and_flattens_sequences():
    logits = torch.randn(2, 3, 5, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([[0, 4, DROPPED], [2, DROPPED, 1]])
    keep = labels.flatten() != DROPPED
    expected = F.cross_entropy(logits.flatten(0, 1)[keep], labels.flatten()[keep])
    assert torch.allclose(losses.CrossEntropy()(logits, labels), expected)


def test_multi_partition_loss_is_the_mean_of_the_heads_cross_entropies():
    g = torch.Generator().manual_seed(1)
    out = {
        "coarse": torch.randn(6, 3, generator=g),
        "fine": torch.randn(6, 7, generator=g),
    }
    labels = torch.tensor([[0, 1], [1, 6], [2, DROPPED], [0, 3], [DROPPED, 0], [1, 2]])
    keep0, keep1 = labels[:, 0] >= 0, labels[:, 1] >= 0
    expected = (
        F.cross_entropy(out["coarse"][keep0], labels[keep0, 0])
        + F.cross_entropy(out["fine"][keep1], labels[keep1, 1])
    ) / 2
    assert torch.allclose(
        losses.MultiPartition(("coarse", "fine"))(out, labels), expected
    )


def test_soft_targets_with_one_hot_rows_are_the_cross_entropy():
    g = torch.Generator().manual_seed(2)
    out = {
        "coarse": torch.randn(4, 3, generator=g),
        "fine": torch.randn(4, 5, generator=g),
    }
    c, f = torch.tensor([0, 2, 1, 1]), torch.tensor([4, 0, 3, 1])
    targets = torch.cat([F.one_hot(c, 3), F.one_hot(f, 5)], 1).float()
    expected = (F.cross_entropy(out["coarse"], c) + F.cross_entropy(out["fine"], f)) / 2
    assert torch.allclose(
        losses.SoftTargets((("coarse", 3), ("fine", 5)))(out, targets), expected
    )
    half = targets.clone()
    half[:, :3] = 1 / 3  # a uniform coarse distribution
    uniform = -(F.log_softmax(out["coarse"], 1).mean(1)).mean()
    assert torch.allclose(
        losses.SoftTargets((("coarse", 3), ("fine", 5)))(out, half),
        (uniform + F.cross_entropy(out["fine"], f)) / 2,
    )


def test_auxiliary_losses_add_weighted_classification_and_regression_terms():
    g = torch.Generator().manual_seed(3)
    out = {
        "cells": torch.randn(5, 4, generator=g),
        "climate": torch.randn(5, 3, generator=g),
        "elevation": torch.randn(5, 1, generator=g),
    }
    cell, climate, elevation = (
        torch.tensor([0, 3, 1, 2, 2]),
        torch.tensor([2, 0, 1, 1, 0]),
        torch.randn(5, generator=g),
    )
    targets = torch.stack(
        [cell.float(), torch.zeros(5), torch.zeros(5), climate.float(), elevation], 1
    )
    loss = losses.WithAuxiliary(
        losses.CrossEntropy(), (("climate", 3), ("elevation", 1)), weight=0.3
    )
    expected = (
        F.cross_entropy(out["cells"], cell)
        + 0.3 * F.cross_entropy(out["climate"], climate)
        + 0.3 * F.mse_loss(out["elevation"][:, 0], elevation)
    )
    assert torch.allclose(loss(out, targets), expected)
    cl, co = _cells()
    smooth = losses.HaversineSmoothing(cl.numpy(), co.numpy(), tau=300.0)
    # the smoothing loss reads the coordinates
    targets[:, 1:3] = torch.tensor([[48.85, 2.35]] * 5)
    with_smoothing = losses.WithAuxiliary(
        smooth, (("climate", 3), ("elevation", 1)), weight=0.3
    )
    expected = (
        smooth(out["cells"], targets[:, 1:3])
        + 0.3 * F.cross_entropy(out["climate"], climate)
        + 0.3 * F.mse_loss(out["elevation"][:, 0], elevation)
    )
    assert torch.allclose(with_smoothing(out, targets), expected)


def _cells():
    lat = torch.tensor([48.85, 51.51, 40.71, -33.87])  # Paris, London, New York, Sydney
    lon = torch.tensor([2.35, -0.13, -74.01, 151.21])
    return lat, lon


def test_smoothed_targets_peak_at_the_nearest_cell_and_decay_with_distance():
    cl, co = _cells()
    # just north of Paris
    photo_lat, photo_lon = torch.tensor([49.0]), torch.tensor([2.0])
    t = losses.smoothed_targets(cl, co, photo_lat, photo_lon, tau=300.0)[0]
    assert int(t.argmax()) == 0 and torch.isclose(t.sum(), torch.tensor(1.0))
    assert t[0] > t[1] > t[2] > t[3]  # Paris, London (~340 km), New York, Sydney
    # the paper's unnormalised form exp(-(d_i - d_true)/tau), normalised, is the same
    # distribution
    from geosurvey.geo import haversine_torch

    d = haversine_torch(photo_lat, photo_lon, cl, co)
    paper_form = torch.exp(-(d - d[0]) / 300.0)
    assert torch.allclose(t, paper_form / paper_form.sum(), atol=1e-6)


def test_one_hot_is_the_limit_of_small_tau():
    cl, co = _cells()
    # a photo at London's centre
    t = losses.smoothed_targets(cl, co, cl[[1]], co[[1]], tau=1e-3)[0]
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


# --- distances on the sphere, in float32 ----------------------------------------------


def test_haversine_torch_is_exactly_zero_for_identical_points_in_float32():
    rng = np.random.default_rng(0)
    lat = torch.tensor(
        rng.uniform(-90, 90, 200), dtype=torch.float32, requires_grad=True
    )
    lon = torch.tensor(
        rng.uniform(-180, 180, 200), dtype=torch.float32, requires_grad=True
    )
    d = haversine_torch(lat, lon, lat.detach(), lon.detach())
    assert (d == 0).all()
    d.sum().backward()
    assert torch.isfinite(lat.grad).all() and torch.isfinite(lon.grad).all()


def test_haversine_torch_has_finite_gradients_at_antipodes():
    for a, b in (
        ((10.0, 20.0), (-10.0, -160.0)),
        ((0.0, 0.0), (0.0, 180.0)),
        ((90.0, 0.0), (-90.0, 0.0)),
    ):
        for dtype in (torch.float32, torch.float64):
            lat = torch.tensor([a[0]], dtype=dtype, requires_grad=True)
            lon = torch.tensor([a[1]], dtype=dtype, requires_grad=True)
            d = haversine_torch(
                lat,
                lon,
                torch.tensor([b[0]], dtype=dtype),
                torch.tensor([b[1]], dtype=dtype),
            )
            d.sum().backward()
            assert torch.isfinite(lat.grad).all() and torch.isfinite(lon.grad).all()
            assert d.item() == pytest.approx(
                np.pi * EARTH_RADIUS_KM, abs=5.0 if dtype == torch.float32 else 1e-6
            )


def test_haversine_torch_in_float32_matches_a_float64_reference():
    rng = np.random.default_rng(1)
    a = rng.uniform([-90, -180], [90, 180], (2000, 2)).astype(np.float32)
    b = rng.uniform([-90, -180], [90, 180], (2000, 2)).astype(np.float32)
    # and some near neighbours
    b[:500] = a[:500] + rng.normal(0, 0.01, (500, 2)).astype(np.float32)
    b[:500, 0] = np.clip(b[:500, 0], -90, 90)
    ref = haversine(
        a[:, 0].astype(np.float64), a[:, 1], b[:, 0].astype(np.float64), b[:, 1]
    )
    got = haversine_torch(
        *(
            torch.from_numpy(np.ascontiguousarray(v))
            for v in (a[:, 0], a[:, 1], b[:, 0], b[:, 1])
        )
    )
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-5, atol=0.02)


# --- regression losses ----------------------------------------------------------------


def _xyz(lat, lon):
    return torch.tensor(to_xyz(lat, lon), dtype=torch.float32)


def test_great_circle_loss_is_the_distance_in_km():
    true = np.array([[48.85, 2.35]] * 5)
    pred_lat, pred_lon = (
        np.array([48.85, 48.859, 48.94, 49.75, -48.85]),
        np.array([2.35, 2.35, 2.35, 2.35, -177.65]),
    )
    # 0, 1, 10, 100 km and the antipode
    expected = haversine(pred_lat, pred_lon, true[:, 0], true[:, 1])
    coords = torch.tensor(true, dtype=torch.float32)
    got = [
        losses.GreatCircle()(_xyz(pred_lat[[k]], pred_lon[[k]]), coords[[k]]).item()
        for k in range(5)
    ]
    np.testing.assert_allclose(got, expected, atol=0.5)
    both = losses.GreatCircle()(_xyz(pred_lat, pred_lon), coords).item()
    assert both == pytest.approx(expected.mean(), abs=0.5)


def test_great_circle_and_chord_losses_are_minimised_differently():
    """Two modes: the chord loss is least at their mean (between them), the distance
    loss at either mode (the spherical median), which is why a regression on distances
    does not hedge."""
    coords = torch.tensor([[0.0, -40.0], [0.0, 40.0]])
    mid, mode = _xyz([0.0, 0.0], [0.0, 0.0]), _xyz([0.0, 0.0], [-40.0, -40.0])
    chord, arc = losses.UnitVector(), losses.GreatCircle()
    assert chord(mid, coords) < chord(mode, coords)
    # equal on a geodesic
    assert arc(mode, coords).item() == pytest.approx(arc(mid, coords).item(), rel=1e-3)
    # off the geodesic between the modes: worse for both
    off = _xyz([30.0, 30.0], [0.0, 0.0])
    assert arc(off, coords) > arc(mid, coords) and chord(off, coords) > chord(
        mid, coords
    )


# --- embedding losses on geography ----------------------------------------------------


def test_haversine_alignment_is_zero_when_embedding_angles_are_ground_angles():
    lat, lon = np.array([0.0, 0.0, 0.0, 45.0]), np.array([0.0, 60.0, 120.0, 30.0])
    coords = torch.tensor(np.stack([lat, lon], 1), dtype=torch.float32)
    # unit vectors of the places themselves: angles equal the ground angles
    z = _xyz(lat, lon)
    assert losses.HaversineAlignment()(z, coords).item() == pytest.approx(0.0, abs=1e-6)
    collapsed = F.normalize(torch.ones(4, 3), dim=1)
    assert losses.HaversineAlignment()(collapsed, coords).item() > 0.01
    # rotations keep angles
    rotated = z @ torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert losses.HaversineAlignment()(rotated, coords).item() == pytest.approx(
        0.0, abs=1e-6
    )


def test_warm_up_is_supcon_on_the_coarsest_cells_plus_the_alignment_term():
    g = torch.Generator().manual_seed(4)
    z = F.normalize(torch.randn(8, 5, generator=g), dim=1)
    cells = torch.tensor([0, 0, 1, 1, 2, 2, DROPPED, 0])
    coords = torch.stack([torch.linspace(-40, 40, 8), torch.linspace(-100, 100, 8)], 1)
    targets = torch.cat([cells[:, None].float(), coords], 1)
    expected = losses.supcon(z, cells, 0.1) + 0.5 * losses.HaversineAlignment()(
        z, coords
    )
    assert torch.allclose(losses.WarmUp(0.1, 0.5)(z, targets), expected)
    assert torch.allclose(
        losses.WarmUp(0.1, 0.0)(z, targets), losses.supcon(z, cells, 0.1)
    )


def test_supcon_object_is_the_function():
    z = F.normalize(
        torch.randn(6, 3, generator=torch.Generator().manual_seed(5)), dim=1
    )
    labels = torch.tensor([0, 0, 1, 1, 1, DROPPED])
    assert torch.equal(losses.SupCon(0.2)(z, labels), losses.supcon(z, labels, 0.2))
    assert repr(losses.SupCon(0.2)) == "SupCon(tau=0.2)"


def _pairs(rng, n: int, *, km_from, antipodal: bool = False):
    """``n`` pairs of points ``km_from`` apart (or that far from each other's
    antipode), as float32-representable degrees."""
    from geosurvey.geo import destination

    lat = rng.uniform(-85, 85, n)
    lon = rng.uniform(-180, 180, n)
    lat2, lon2 = destination(lat, lon, rng.uniform(0, 360, n), km_from)
    if antipodal:
        lat2, lon2 = -lat2, np.where(lon2 > 0, lon2 - 180, lon2 + 180)
    return [np.float32(a).astype(np.float64) for a in (lat, lon, lat2, lon2)]


def test_haversine_torch_is_exact_from_zero_metres_against_the_haversine_package():
    from haversine import haversine_vector

    rng = np.random.default_rng(1)
    for km, antipodal in ((rng.uniform(0, 0.05, 500), False), (0.0, False)):
        pts = _pairs(rng, 500, km_from=km, antipodal=antipodal)
        ref = haversine_vector(np.c_[pts[0], pts[1]], np.c_[pts[2], pts[3]])
        got = haversine_torch(*(torch.tensor(p) for p in pts)).numpy()
        assert np.abs(got - ref).max() < 1e-6  # 1 mm
    # no floor: 3 m is nearer than 10 m, and both are more than zero
    three, ten = (
        haversine_torch(torch.tensor(0.0), torch.tensor(0.0), torch.tensor(0.0), x)
        for x in (torch.tensor(3e-3 / 111.195), torch.tensor(10e-3 / 111.195))
    )
    assert 0 < three < ten and abs(ten.item() - 0.010) < 1e-5


def test_haversine_torch_in_float32_is_within_a_metre_of_float64_everywhere():
    from haversine import haversine_vector

    rng = np.random.default_rng(2)
    ranges = [(0, 0.05, False), (0, 20_015, False), (0, 0.05, True), (0, 50, True)]
    for lo, hi, antipodal in ranges:
        pts = _pairs(rng, 1000, km_from=rng.uniform(lo, hi, 1000), antipodal=antipodal)
        ref = haversine_vector(np.c_[pts[0], pts[1]], np.c_[pts[2], pts[3]])
        t64 = haversine_torch(*(torch.tensor(p) for p in pts))
        t32 = haversine_torch(*(torch.tensor(p, dtype=torch.float32) for p in pts))
        assert t32.dtype == torch.float32 and t64.dtype == torch.float64
        # the package's arcsin loses digits near the antipode: 10 cm there, 1 mm else
        assert np.abs(t64.numpy() - ref).max() < (1e-4 if antipodal else 1e-6)
        assert np.abs(t32.double().numpy() - t64.numpy()).max() < 1e-3  # 1 m
