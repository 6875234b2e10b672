import json

import numpy as np
import pandas as pd
import pytest

from geosurvey import metrics
from geosurvey.geo import EARTH_RADIUS_KM


def _points_at(distances_km):
    """Predictions due north of (0, 0) at the given great-circle distances."""
    lat = np.degrees(np.asarray(distances_km, dtype=float) / EARTH_RADIUS_KM)
    return lat, np.zeros_like(lat)


def test_thresholds_are_inclusive_and_summaries_exact():
    d = [0.5, 25.0, 25.1, 700, 3000]
    m = metrics.summarize(d)
    plat, plon = _points_at([0.5, 24.9, 25.1, 700, 3000])
    assert metrics.evaluate(plat, plon, np.zeros(5), np.zeros(5))["acc@25km"] == 40
    assert m["acc@1km"] == 20 and m["acc@25km"] == 40 and m["acc@200km"] == 60
    assert m["acc@750km"] == 80 and m["acc@2500km"] == 80
    assert m["median_km"] == pytest.approx(25.1) and m["mean_km"] == pytest.approx(np.mean(d))
    assert m["geoscore"] == pytest.approx(np.mean(5000 * np.exp(-np.array(d) / 1492.7)))


def test_country_accuracy_and_errors():
    assert metrics.summarize([1.0, 2.0], country_hits=[True, False])["country_acc"] == 50
    m = metrics.evaluate([0, 0], [0, 0], [0, 0], [0, 0], ["FR", "US"], ["FR", "CA"])
    assert m["country_acc"] == 50
    with pytest.raises(ValueError, match="NaN"):
        metrics.evaluate([np.nan], [0], [0], [0])
    with pytest.raises(ValueError, match="empty"):
        metrics.evaluate([], [], [], [])


def test_regions_use_the_true_location_and_results_file(tmp_path):
    meta = pd.DataFrame({"lat": [48.8, 40.7, 35.7], "lon": [2.3, -74.0, 139.7],
                         "continent": ["Europe", "North America", "Asia"], "country": ["FR", "US", "JP"]})
    res = metrics.Results("demo", profile="ci", seed=3, root=tmp_path)
    glob = res.add("oracle", meta["lat"], meta["lon"], meta, pred_country=meta["country"], best_k=1)
    assert glob["acc@1km"] == 100 and glob["n"] == 3
    assert set(res.methods["oracle"]) == {"Global", "Europe", "North America"}
    assert res.methods["oracle"]["Europe"]["n"] == 1
    path = res.save(note="x")
    payload = json.loads(path.read_text())
    assert payload["profile"] == "ci" and payload["seed"] == 3 and payload["n_test"] == 3
    assert payload["test_regions"] == {"Global": 3, "Europe": 1, "North America": 1}
    assert payload["methods"]["oracle"]["Global"]["country_acc"] == 100
    assert payload["methods"]["oracle"]["Global"]["ci95"]["acc@1km"] == [100, 100]
    assert res.table().loc["oracle", "best_k"] == 1
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_load_results_reads_a_saved_chapter_and_names_a_missing_one(tmp_path):
    meta = pd.DataFrame({"lat": [1.0], "lon": [2.0], "continent": ["Africa"]})
    res = metrics.Results("chap", profile="ci", seed=0, root=tmp_path)
    res.add("m", [1.0], [2.0], meta)
    res.save()
    assert metrics.load_results("chap", root=tmp_path)["methods"]["m"]["Global"]["acc@1km"] == 100
    preds = metrics.load_predictions("chap", root=tmp_path)["m"]
    assert list(preds.columns[:4]) == ["pred_lat", "pred_lon", "lat", "lon"] and preds["continent"][0] == "Africa"
    with pytest.raises(FileNotFoundError, match="other"):
        metrics.load_results("other", root=tmp_path)


def _two_methods(n=400, gap_km=0.0, seed=0):
    """Two methods on the same n test rows: errors ~ U(0, 2000) km, the second `gap_km` worse."""
    rng = np.random.default_rng(seed)
    meta = pd.DataFrame({"lat": np.zeros(n), "lon": np.zeros(n), "continent": ["Europe"] * n})
    d = rng.uniform(0, 2000, n)
    res = metrics.Results("t", root="/nonexistent")
    res.add("a", *_points_at(d), meta)
    res.add("b", *_points_at(d + gap_km), meta)
    return res


def test_a_clear_gain_is_reproduced_and_no_gain_is_inconclusive():
    res = _two_methods(gap_km=300)
    c = res.claim("a beats b", "a", "b", "median_km")
    assert c.verdict == "reproduced" and c.difference == pytest.approx(-300, abs=1)
    assert c.ci95[1] < 0  # lower error is better: the whole interval is below zero
    assert res.claim("b beats a", "b", "a", "median_km").verdict == "not reproduced"
    same = _two_methods(gap_km=0)
    assert same.claim("a beats b", "a", "b", "acc@750km").verdict == "inconclusive"


def test_a_difference_is_measured_without_being_recorded_as_a_claim():
    res = _two_methods(gap_km=300)
    va, vb, ci = res.difference("a", "b", "median_km")
    assert va == pytest.approx(vb - 300, abs=1) and ci[1] < 0 and res.claims == []


def test_paired_bootstrap_is_tighter_than_the_marginal_intervals():
    res = _two_methods(gap_km=40)
    c = res.claim("a beats b", "a", "b", "mean_km")
    width = c.ci95[1] - c.ci95[0]
    marginal = res.intervals("a")["mean_km"]
    assert width < 0.2 * (marginal[1] - marginal[0])  # same resamples for both: the shared noise cancels
    assert c.verdict == "reproduced"


def test_intervals_cover_the_estimate_and_shrink_with_more_rows():
    small, large = _two_methods(n=100), _two_methods(n=2000)
    for res in (small, large):
        lo, hi = res.intervals("a")["acc@750km"]
        assert lo <= res.methods["a"]["Global"]["acc@750km"] <= hi
    width = {k: np.diff(r.intervals("a")["acc@750km"])[0] for k, r in (("small", small), ("large", large))}
    assert width["large"] < 0.5 * width["small"]


def test_failed_expectations_are_saved_then_raised(tmp_path):
    res = _two_methods(gap_km=0)
    res.root, res.path = tmp_path, tmp_path / "t.json"
    res.claim("a beats b", "a", "b", "median_km", expect="reproduced")
    res.check(False, "a check that fails")
    with pytest.raises(AssertionError, match="a beats b"):
        res.finish()
    saved = json.loads((tmp_path / "t.json").read_text())
    assert len(saved["failed_assertions"]) == 2 and saved["claims"][0]["verdict"] == "inconclusive"
    quiet = _two_methods(gap_km=0)
    quiet.assert_claims = False  # a profile too small for claims reports verdicts without failing
    quiet.root, quiet.path = tmp_path, tmp_path / "q.json"
    quiet.claim("a beats b", "a", "b", "median_km", expect="reproduced")
    quiet.finish()


def test_claims_need_the_same_test_rows():
    res = _two_methods()
    meta = pd.DataFrame({"lat": [1.0], "lon": [1.0], "continent": ["Europe"]})
    res.add("other rows", [1.0], [1.0], meta)
    with pytest.raises(ValueError, match="same rows"):
        res.claim("x", "a", "other rows", "median_km")
