import numpy as np
import pytest

from geosurvey import retrieval
from geosurvey.geo import haversine


def _clustered(n_clusters=40, per=50, d=32, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, d))
    lat = rng.uniform(-60, 60, n_clusters)
    lon = rng.uniform(-180, 180, n_clusters)
    emb = np.repeat(centres, per, axis=0) + 0.3 * rng.normal(size=(n_clusters * per, d))
    return emb, np.repeat(lat, per), np.repeat(lon, per), centres, lat, lon


def test_top1_recovers_the_cluster_location():
    emb, lat, lon, centres, clat, clon = _clustered()
    index = retrieval.GeoIndex(emb, lat, lon)
    plat, plon = retrieval.knn_predict(index, centres, k=1)
    np.testing.assert_allclose(plat, clat)
    np.testing.assert_allclose(plon, clon)


def test_weighted_mean_is_on_the_sphere():
    sims = np.array([[0.9, 0.9]])
    idx = np.array([[0, 1]])
    plat, plon = retrieval.knn_locations(
        sims, idx, np.array([0.0, 0.0]), np.array([179.0, -179.0]), k=2
    )
    assert abs(plon[0]) == pytest.approx(180)  # averaging longitudes would give 0


def test_choose_k_uses_validation_and_prefers_averaging_noisy_neighbours():
    emb, lat, lon, centres, clat, clon = _clustered(per=30)
    rng = np.random.default_rng(1)
    # references scattered ~300 km around each cluster's location: averaging more of
    # them helps
    jitter_lat = lat + rng.normal(0, 2, len(lat))
    index = retrieval.GeoIndex(emb, jitter_lat, lon)
    k, scores = retrieval.choose_k(
        index, centres, clat, clon, ks=(1, 10), criterion="median_km"
    )
    assert k == 10 and scores[10] < scores[1]
    k, scores = retrieval.choose_k(index, centres, clat, clon, ks=(1, 10))
    assert k == 10 and scores[10] > scores[1]  # GeoScore is maximised


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_indexes_have_high_recall(kind):
    emb, lat, lon, centres, _, _ = _clustered(n_clusters=100, per=40)
    exact = retrieval.GeoIndex(emb, lat, lon)
    approx = retrieval.GeoIndex(emb, lat, lon, kind=kind)
    q = emb[::7]
    _, ie = exact.search(q, 10)
    _, ia = approx.search(q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ia, ie)])
    assert recall > 0.9
    assert haversine(
        *retrieval.knn_predict(approx, q, 1), lat[::7], lon[::7]
    ).max() == pytest.approx(0)


def test_knn_methods_pick_k_on_validation_and_keep_top1_exact():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(20, 8))
    lat_c, lon_c = rng.uniform(-60, 60, 20), rng.uniform(-180, 180, 20)
    which = rng.integers(0, 20, 400)
    ref = centres[which] + 0.3 * rng.normal(size=(400, 8))
    ref_lat, ref_lon = (
        lat_c[which] + rng.normal(0, 2, 400),
        lon_c[which] + rng.normal(0, 2, 400),
    )
    index = retrieval.GeoIndex(ref, ref_lat, ref_lon)
    q = centres[:10] + 0.3 * rng.normal(size=(10, 8))
    rules, scores = retrieval.knn_methods(index, q, lat_c[:10], lon_c[:10], q)
    assert set(scores) == {1, 3, 5, 10, 20, 50}
    best = max(scores, key=scores.get)
    assert (
        best > 1
        and list(rules) == ["top-1", f"weighted, k={best}"]
        and rules[f"weighted, k={best}"][2] == best
    )
    top_lat, top_lon = retrieval.knn_predict(index, q, 1)
    assert np.allclose(rules["top-1"][0], top_lat) and np.allclose(
        rules["top-1"][1], top_lon
    )
    # when validation prefers k = 1 the weighted rule *is* top-1 and is not listed twice
    exact = retrieval.GeoIndex(centres[which], lat_c[which], lon_c[which])
    rules, scores = retrieval.knn_methods(
        exact, centres[:10], lat_c[:10], lon_c[:10], centres[:10], ks=(1, 50)
    )
    assert list(rules) == ["top-1"]


def test_neighbour_agreement_counts_same_label_neighbours():
    ref = np.array([[1.0, 0.0], [0.0, 1.0]])
    queries = np.array([[0.9, 0.1], [0.1, 0.9], [0.8, 0.3]])
    assert retrieval.neighbour_agreement(
        ref, queries, ["EU", "NA"], ["EU", "EU", "EU"]
    ) == pytest.approx(2 / 3)
