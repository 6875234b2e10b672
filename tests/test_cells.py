from collections import Counter

import numpy as np
import pytest
import s2sphere

from geosurvey import cells, s2
from geosurvey.geo import haversine


@pytest.fixture(scope="module")
def photos():
    """Clustered points like photo locations: dense cities plus a sparse background."""
    rng = np.random.default_rng(0)
    centres = np.array(
        [[48.85, 2.35], [40.71, -74.0], [35.68, 139.69], [-33.87, 151.2]]
    )
    parts = [
        np.column_stack([rng.normal(a, 0.3, 3000), rng.normal(b, 0.3, 3000)])
        for a, b in centres
    ]
    background = np.column_stack(
        [
            np.degrees(np.arcsin(rng.uniform(-0.9, 0.9, 2000))),
            rng.uniform(-180, 180, 2000),
        ]
    )
    pts = np.concatenate(parts + [background])
    return pts[:, 0], pts[:, 1]


# --- GeoEstimation's create_cells rule, written out with s2sphere ---------------------


@pytest.fixture(scope="module")
def mp16():
    """20,000 of the real MP-16 photo locations."""
    from geosurvey.data.geotiles import mp16_locations

    locs = mp16_locations().sample(20000, random_state=0)
    return locs["lat"].to_numpy(), locs["lon"].to_numpy()


def _create_cells(
    lat, lon, t_min, t_max, keep=lambda n, t_min: n > t_min, lvl_min=2, lvl_max=30
):
    """GeoEstimation's partitioning rule (Mueller-Budack et al. 2018, create_cells) with
    S2 tokens and dictionary counts: every image starts in its level-``lvl_min`` cell;
    cells with at most ``t_min`` images are deleted; then while some cell holds more
    than ``t_max`` images and the level is below ``lvl_max``, the level goes up by one
    and every image of such a cell moves to its own cell at the new level, the others
    keeping theirs; finally cells with at most ``t_min`` images are deleted. Returns
    ``{token: count}``."""
    leaves = [
        s2sphere.CellId.from_lat_lng(s2sphere.LatLng.from_degrees(a, b))
        for a, b in zip(lat, lon)
    ]
    level = lvl_min
    token = [leaf.parent(level).to_token() for leaf in leaves]
    counts = Counter(token)
    images = [i for i in range(len(leaves)) if keep(counts[token[i]], t_min)]
    counts = Counter(token[i] for i in images)
    while any(n > t_max for n in counts.values()) and level < lvl_max:
        level += 1
        for i in images:
            if counts[token[i]] > t_max:
                token[i] = leaves[i].parent(level).to_token()
        counts = Counter(token[i] for i in images)
    return {c: n for c, n in counts.items() if keep(n, t_min)}


def _as_dict(part):
    return dict(zip(s2.to_token(part.cell_ids), part.counts.tolist()))


@pytest.mark.parametrize("tau_max,tau_min", [(1000, 50), (200, 5), (50, 1)])
def test_adaptive_reproduces_geoestimation_create_cells_on_mp16(mp16, tau_max, tau_min):
    reference = _create_cells(*mp16, tau_min, tau_max)
    part = cells.adaptive(*mp16, tau_max, tau_min)
    assert _as_dict(part) == reference
    assert part.params["min_level"] == 2 and part.params["drop"] == "at_most"
    assert part.n_dropped == len(mp16[0]) - sum(reference.values())
    assert part.levels.min() >= 2 and len(set(part.levels)) > 1


def test_drop_below_keeps_cells_of_exactly_tau_min(mp16):
    tau_max, tau_min = 200, 5
    reference = _create_cells(*mp16, tau_min, tau_max, keep=lambda n, t_min: n >= t_min)
    below = cells.adaptive(*mp16, tau_max, tau_min, drop="below")
    assert _as_dict(below) == reference
    at_most = _as_dict(cells.adaptive(*mp16, tau_max, tau_min))
    exactly = {c for c, n in reference.items() if n == tau_min}
    assert exactly and set(reference) - set(at_most) == exactly  # the only difference


def test_partitions_start_from_the_level_2_cells(mp16):
    part = cells.adaptive(*mp16, tau_max=10**6, tau_min=1)
    # nothing splits: the 96 level-2 cells that hold photos
    assert set(part.levels) == {2}
    assert len(part) <= 96
    coarser = cells.adaptive(*mp16, tau_max=10**6, tau_min=1, min_level=0)
    assert set(coarser.levels) == {0} and len(coarser) == 6


def test_adaptive_respects_tau_max_and_tau_min(photos):
    p = cells.adaptive(*photos, tau_max=500, tau_min=20)
    # "at most tau_min" photos are dropped
    assert (p.counts <= 500).all() and (p.counts > 20).all()
    label = p.assign(*photos)
    np.testing.assert_array_equal(
        np.bincount(label[label >= 0], minlength=len(p)), p.counts
    )
    assert p.n_dropped == (label == cells.DROPPED).sum() > 0 and cells.DROPPED == -1
    assert p.n_points == len(photos[0])
    # dense cities get small (high-level) cells, the sparse background large ones
    lv = p.levels
    paris = p.assign(np.array([48.85]), np.array([2.35]))[0]
    assert lv[paris] >= lv.min() + 4


def test_adaptive_cells_are_disjoint_and_sorted(photos):
    # keep cells of one photo
    p = cells.adaptive(*photos, tau_max=300, tau_min=1, drop="below")
    assert np.all(np.diff(p.cell_ids.astype(np.float64)) > 0)
    assert np.all(s2.leaf_range(p.cell_ids[:-1])[1] < s2.leaf_range(p.cell_ids[1:])[0])
    assert p.n_dropped == 0


def test_mean_centre_is_nearer_to_members_than_geometric_centre(photos):
    p = cells.adaptive(*photos, tau_max=2000, tau_min=50)
    label = p.assign(*photos)
    ok = label >= 0
    d_mean = haversine(
        photos[0][ok], photos[1][ok], p.mean_lat[label[ok]], p.mean_lon[label[ok]]
    ).mean()
    clat, clon = p.centers("center")
    d_centre = haversine(
        photos[0][ok], photos[1][ok], clat[label[ok]], clon[label[ok]]
    ).mean()
    assert d_mean < d_centre


def test_uniform_partition(photos):
    p = cells.uniform(*photos, level=4)
    assert (p.levels == 4).all() and p.counts.sum() == len(photos[0])


def test_hierarchy_links_fine_cells_to_enclosing_coarse_cells(photos):
    h = cells.hierarchy(*photos, [2000, 200, 800], tau_min=10)
    sizes = [len(p) for p in h.partitions]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    for coarse, fine, parent in zip(h.partitions, h.partitions[1:], h.parents):
        assert (parent >= 0).all()
        assert np.all(
            s2.leaf_range(coarse.cell_ids[parent])[0] <= s2.leaf_range(fine.cell_ids)[0]
        )
        assert np.all(
            s2.leaf_range(fine.cell_ids)[1] <= s2.leaf_range(coarse.cell_ids[parent])[1]
        )


def test_hierarchical_decode_answers_with_the_best_product_of_levels(photos):
    h = cells.hierarchy(*photos, [2000, 300], tau_min=10)
    n0, n1 = len(h.partitions[0]), len(h.partitions[1])
    rng = np.random.default_rng(0)
    logits = {"coarse": rng.normal(size=(5, n0)), "fine": rng.normal(size=(5, n1))}
    lat, lon = cells.hierarchical_decode(logits, h, ("coarse", "fine"))

    def log_softmax(x):
        return x - np.log(np.exp(x).sum(1, keepdims=True))

    score = log_softmax(logits["fine"]) + log_softmax(logits["coarse"])[:, h.parents[0]]
    best = score.argmax(1)
    np.testing.assert_allclose(lat, h.partitions[1].mean_lat[best])
    np.testing.assert_allclose(lon, h.partitions[1].mean_lon[best])
    # a confident coarse head overrides a fine head that prefers a cell elsewhere
    fine = np.zeros((1, n1))
    fine[0, 0] = 1.0
    coarse = np.full((1, n0), -20.0)
    target = int(h.parents[0][-1])
    coarse[0, target] = 20.0
    lat, _ = cells.hierarchical_decode(
        {"coarse": coarse, "fine": fine}, h, ("coarse", "fine")
    )
    chosen = int(np.flatnonzero(h.partitions[1].mean_lat == lat[0])[0])
    assert h.parents[0][chosen] == target != h.parents[0][0]


def test_hierarchical_scores_multiply_ancestor_probabilities(photos):
    h = cells.hierarchy(*photos, [2000, 300], tau_min=10)
    n0, n1 = len(h.partitions[0]), len(h.partitions[1])
    lp0 = np.log(np.full((1, n0), 1e-6))
    lp0[0, h.parents[0][0]] = 0.0  # all mass on the parent of fine cell 0
    lp1 = np.log(np.full((1, n1), 1.0 / n1))
    score = cells.hierarchical_log_probs([lp0, lp1], h)
    assert score[0].argmax() in np.flatnonzero(h.parents[0] == h.parents[0][0])


def test_bad_parameters_and_empty_partitions_are_errors(photos):
    with pytest.raises(ValueError, match="tau_min"):
        cells.adaptive(*photos, tau_max=10, tau_min=20)
    with pytest.raises(ValueError, match="drop"):
        cells.adaptive(*photos, tau_max=100, tau_min=2, drop="never")
    with pytest.raises(ValueError, match="empty"):
        cells.adaptive(
            np.array([1.0, 2.0]), np.array([3.0, 50.0]), tau_max=10, tau_min=1
        )
    with pytest.raises(ValueError, match="empty"):
        cells.uniform(np.array([1.0, 2.0]), np.array([3.0, 50.0]), level=10, tau_min=5)


# --- semantic cells (PIGEON) ----------------------------------------------------------


def _admin_points():
    """Points in three countries: FR with two regions (one tiny), DE large enough to
    split, LU tiny."""
    rng = np.random.default_rng(0)
    groups = [
        ("FR", "Ile-de-France", 48.85, 2.35, 60),
        ("FR", "Corse", 42.0, 9.0, 3),
        ("DE", "Bayern", 48.5, 11.5, 130),
        ("LU", "Luxembourg", 49.6, 6.1, 4),
    ]
    rows = [
        (c, a, la + rng.normal(0, 0.8), lo + rng.normal(0, 0.8))
        for c, a, la, lo, n in groups
        for _ in range(n)
    ]
    country, admin1, lat, lon = (np.array(v) for v in zip(*rows))
    return lat.astype(float), lon.astype(float), country, admin1


def test_semantic_cells_never_mix_countries_and_respect_the_bounds():
    lat, lon, country, admin1 = _admin_points()
    part = cells.semantic(lat, lon, country, admin1, tau_max=50, n_min=10, drop_below=5)
    kept = part.labels >= 0
    for c in range(len(part)):
        assert len(set(country[part.labels == c])) == 1
    assert cells.country_mixing(part.labels, country) == 0.0
    assert part.counts.max() <= 50 and part.counts.sum() == kept.sum()
    # 4 points, below drop_below: dropped, not merged abroad
    assert set(country[~kept]) == {"LU"}
    corsica = part.labels[admin1 == "Corse"]
    # merged within France
    assert (corsica >= 0).all() and set(country[np.isin(part.labels, corsica)]) == {
        "FR"
    }
    assert (part.country[part.labels[country == "DE"]] == "DE").all() and len(
        set(part.labels[country == "DE"])
    ) >= 3
    # training points keep their own cell
    assert np.array_equal(part.assign(lat, lon), part.labels)


def test_s2_cells_do_mix_countries_where_semantic_ones_do_not():
    lat, lon, country, admin1 = _admin_points()
    s2cells = cells.adaptive(lat, lon, tau_max=400, tau_min=1, drop="below")
    assert cells.country_mixing(s2cells.assign(lat, lon), country) > 0


def test_a_dropped_boundary_image_joins_the_nearby_cell_it_matches_best():
    # two dense places (level-6 cells of 4 photos each) and two strays whose cells
    # are dropped: one between them, one at sea far from both
    lat = np.array([0.0, 0.01, 0.02, 0.03, 0.0, 0.01, 0.02, 0.03, 0.0, 0.0])
    lon = np.array([0.0, 0.0, 0.0, 0.0, 4.0, 4.0, 4.0, 4.0, 1.6, 60.0])
    part = cells.uniform(lat, lon, 6, tau_min=2)
    labels = part.assign(lat, lon)
    assert len(part) == 2 and list(labels[8:]) == [cells.DROPPED] * 2
    west, east = labels[0], labels[4]
    looks = np.array([[1.0, 0.0]] * 4 + [[0.0, 1.0]] * 4 + [[0.1, 1.0], [0.0, 1.0]])
    moved = cells.reassign_dropped(labels, lat, lon, part, looks, within_km=1000)
    # nearer to the west cell, but it looks like the east one; the far one stays out
    assert moved[8] == east and moved[9] == cells.DROPPED
    assert list(moved[:8]) == list(labels[:8])
    near = cells.reassign_dropped(
        labels, lat, lon, part, looks, within_km=1000, candidates=1
    )
    assert near[8] == west
    assert list(
        cells.reassign_dropped(labels, lat, lon, part, looks, within_km=0)
    ) == list(labels)


def test_a_partitions_key_ignores_the_last_bit_of_its_means_but_not_a_real_change(
    photos,
):
    """Checkpoints are keyed by the partition: a CPU whose sin and cos round the last
    bit differently must find them, a partition with other means must not."""
    lat, lon = photos
    part = cells.uniform(lat, lon, level=4)
    noisy = cells.uniform(lat, lon, level=4)
    noisy.mean_lat = np.nextafter(noisy.mean_lat, np.inf)
    moved = cells.uniform(lat, lon, level=4)
    moved.mean_lon = moved.mean_lon + 1e-4
    assert part.fingerprint() == noisy.fingerprint() != moved.fingerprint()
