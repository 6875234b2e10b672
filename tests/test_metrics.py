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
    path = res.save(n_test=3, note="x")
    payload = json.loads(path.read_text())
    assert payload["profile"] == "ci" and payload["seed"] == 3 and payload["n_test"] == 3
    assert payload["methods"]["oracle"]["Global"]["country_acc"] == 100
    assert res.table().loc["oracle", "best_k"] == 1
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_load_results_reads_a_saved_chapter_and_names_a_missing_one(tmp_path):
    meta = pd.DataFrame({"lat": [1.0], "lon": [2.0], "continent": ["Africa"]})
    res = metrics.Results("chap", profile="ci", seed=0, root=tmp_path)
    res.add("m", [1.0], [2.0], meta)
    res.save(n_test=1)
    assert metrics.load_results("chap", root=tmp_path)["methods"]["m"]["Global"]["acc@1km"] == 100
    with pytest.raises(FileNotFoundError, match="other"):
        metrics.load_results("other", root=tmp_path)
