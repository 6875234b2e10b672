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


def test_choose_k_scores_every_k_on_validation_and_prefers_the_mean_of_many():
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
    k, scores = retrieval.choose_k(index, q, lat_c[:10], lon_c[:10], (1, 3, 5, 10, 20))
    assert set(scores) == {1, 3, 5, 10, 20} and k == max(scores, key=scores.get) > 1
    # k = 1 answers the top neighbour's location exactly
    sims, idx = index.search(q, 1)
    lat1, lon1 = retrieval.knn_predict(index, q, 1)
    assert np.allclose(lat1, ref_lat[idx[:, 0]]) and np.allclose(
        lon1, ref_lon[idx[:, 0]]
    )


def test_neighbour_agreement_counts_same_label_neighbours():
    ref = np.array([[1.0, 0.0], [0.0, 1.0]])
    queries = np.array([[0.9, 0.1], [0.1, 0.9], [0.8, 0.3]])
    assert retrieval.neighbour_agreement(
        ref, queries, ["EU", "NA"], ["EU", "EU", "EU"]
    ) == pytest.approx(2 / 3)


def test_intra_cell_retrieval_answers_with_the_best_match_inside_the_chosen_cell():
    from geosurvey.retrieval import nearest_member

    emb = np.array([[1.0, 0.0], [0.0, 1.0], [0.8, 0.6], [0.6, 0.8]])
    group = np.array([0, 1, 1, 0])  # cell of each training image
    lat, lon = np.array([10.0, 20.0, 30.0, 40.0]), np.array([1.0, 2.0, 3.0, 4.0])
    queries = np.array([[1.0, 0.05], [1.0, 0.05], [0.0, 1.0]])
    got = nearest_member(np.array([1, 0, 0]), group, emb, lat, lon, queries)
    # the first query's best match overall is image 0, but its cell is 1: image 2
    assert list(got[0]) == [30.0, 10.0, 40.0] and list(got[1]) == [3.0, 1.0, 4.0]
