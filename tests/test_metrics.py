import numpy as np
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
    assert m["median_km"] == pytest.approx(25.1) and m["mean_km"] == pytest.approx(
        np.mean(d)
    )
    assert m["q1_km"] == pytest.approx(25.0) and m["q3_km"] == pytest.approx(700)
    assert m["geoscore"] == pytest.approx(np.mean(5000 * np.exp(-np.array(d) / 1492.7)))
    assert m["n"] == 5 and "country_acc" not in m


def test_country_accuracy_and_errors():
    assert (
        metrics.summarize([1.0, 2.0], country_hits=[True, False])["country_acc"] == 50
    )
    m = metrics.evaluate([0, 0], [0, 0], [0, 0], [0, 0], ["FR", "US"], ["FR", "CA"])
    assert m["country_acc"] == 50
    assert "country_acc" not in metrics.evaluate([0], [0], [0], [0], ["FR"], None)
    with pytest.raises(ValueError, match="NaN"):
        metrics.evaluate([np.nan], [0], [0], [0])
    with pytest.raises(ValueError, match="empty"):
        metrics.evaluate([], [], [], [])


def test_values_with_their_intervals_are_shown_at_the_metrics_precision():
    assert (
        metrics.with_interval(41.26, [38.04, 44.9], "acc@25km") == "41.3 [38.0 to 44.9]"
    )
    assert (
        metrics.with_interval(1234.6, [1100.2, 1390.0], "median_km")
        == "1,235 [1,100 to 1,390]"
    )
    assert (
        metrics.with_interval(2871.4, [2800.0, 2950.6], "geoscore")
        == "2,871 [2,800 to 2,951]"
    )
    assert (  # a difference: every number signed
        metrics.with_interval(4.26, [-1.04, 9.5], "acc@25km", sign=True)
        == "+4.3 [-1.0 to +9.5]"
    )


def test_the_median_is_the_lower_median_the_bootstrap_resamples():
    d = np.array([9500.0, 1.0, 5426.0, 7406.0, 2.0, 8000.0, 100.0, 9000.0])
    m = metrics.summarize(d)
    # 8 errors: the smaller of the two middle ones, not their mean (np.median)
    assert m["median_km"] == 5426.0 and np.median(d) == 6416.0
