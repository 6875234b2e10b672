import numpy as np
import pytest

from geosurvey import cells, s2
from geosurvey.geo import haversine


@pytest.fixture(scope="module")
def photos():
    """Clustered points like photo locations: dense cities plus a sparse background."""
    rng = np.random.default_rng(0)
    centres = np.array([[48.85, 2.35], [40.71, -74.0], [35.68, 139.69], [-33.87, 151.2]])
    parts = [np.column_stack([rng.normal(a, 0.3, 3000), rng.normal(b, 0.3, 3000)]) for a, b in centres]
    background = np.column_stack([np.degrees(np.arcsin(rng.uniform(-0.9, 0.9, 2000))), rng.uniform(-180, 180, 2000)])
    pts = np.concatenate(parts + [background])
    return pts[:, 0], pts[:, 1]


def test_adaptive_respects_tau_max_and_tau_min(photos):
    p = cells.adaptive(*photos, tau_max=500, tau_min=20)
    assert (p.counts <= 500).all() and (p.counts >= 20).all()
    label = p.assign(*photos)
    np.testing.assert_array_equal(np.bincount(label[label >= 0], minlength=len(p)), p.counts)
    assert p.n_dropped == (label < 0).sum() > 0
    assert p.n_points == len(photos[0])
    # dense cities get small (high-level) cells, the sparse background large ones
    lv = p.levels
    paris = p.assign(np.array([48.85]), np.array([2.35]))[0]
    assert lv[paris] >= lv.min() + 4


def test_adaptive_cells_are_disjoint_and_sorted(photos):
    p = cells.adaptive(*photos, tau_max=300, tau_min=1)
    assert np.all(np.diff(p.cell_ids.astype(np.float64)) > 0)
    assert np.all(s2.range_max(p.cell_ids[:-1]) < s2.range_min(p.cell_ids[1:]))
    assert p.n_dropped == 0


def test_mean_centre_is_nearer_to_members_than_geometric_centre(photos):
    p = cells.adaptive(*photos, tau_max=2000, tau_min=50)
    label = p.assign(*photos)
    ok = label >= 0
    d_mean = haversine(photos[0][ok], photos[1][ok], p.mean_lat[label[ok]], p.mean_lon[label[ok]]).mean()
    clat, clon = p.centers("center")
    d_centre = haversine(photos[0][ok], photos[1][ok], clat[label[ok]], clon[label[ok]]).mean()
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
        assert np.all(s2.range_min(coarse.cell_ids[parent]) <= s2.range_min(fine.cell_ids))
        assert np.all(s2.range_max(fine.cell_ids) <= s2.range_max(coarse.cell_ids[parent]))


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
    with pytest.raises(ValueError, match="empty"):
        cells.uniform(np.array([1.0, 2.0]), np.array([3.0, 50.0]), level=10, tau_min=5)


# --- semantic cells (PIGEON) --------------------------------------------------------------------

def _admin_points():
    """Points in three countries: FR with two regions (one tiny), DE large enough to split, LU tiny."""
    rng = np.random.default_rng(0)
    groups = [("FR", "Ile-de-France", 48.85, 2.35, 60), ("FR", "Corse", 42.0, 9.0, 3),
              ("DE", "Bayern", 48.5, 11.5, 130), ("LU", "Luxembourg", 49.6, 6.1, 4)]
    rows = [(c, a, la + rng.normal(0, 0.8), lo + rng.normal(0, 0.8)) for c, a, la, lo, n in groups for _ in range(n)]
    country, admin1, lat, lon = (np.array(v) for v in zip(*rows))
    return lat.astype(float), lon.astype(float), country, admin1


def test_semantic_cells_never_mix_countries_and_respect_the_bounds():
    lat, lon, country, admin1 = _admin_points()
    part = cells.semantic(lat, lon, country, admin1, tau_max=50, tau_min=10, drop_below=5)
    kept = part.labels >= 0
    for c in range(len(part)):
        assert len(set(country[part.labels == c])) == 1
    assert cells.country_mixing(part.labels, country) == 0.0
    assert part.counts.max() <= 50 and part.counts.sum() == kept.sum()
    assert set(country[~kept]) == {"LU"}  # 4 points, below drop_below: dropped, not merged abroad
    corsica = part.labels[admin1 == "Corse"]
    assert (corsica >= 0).all() and set(country[np.isin(part.labels, corsica)]) == {"FR"}  # merged within France
    assert (part.country[part.labels[country == "DE"]] == "DE").all() and len(set(part.labels[country == "DE"])) >= 3
    assert np.array_equal(part.assign(lat, lon), part.labels)  # training points keep their own cell


def test_s2_cells_do_mix_countries_where_semantic_ones_do_not():
    lat, lon, country, admin1 = _admin_points()
    s2cells = cells.adaptive(lat, lon, tau_max=400, tau_min=1)
    assert cells.country_mixing(s2cells.assign(lat, lon), country) > 0
