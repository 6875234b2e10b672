"""Every method on every test set, measured by one evaluator (geosurvey.evaluation), and
the files a chapter writes (geosurvey.results)."""

import json

import numpy as np
import pandas as pd
import pytest

from geosurvey import evaluation, metrics, results
from geosurvey.evaluation import Evaluations

PARIS, NEW_YORK, TOKYO, NAIROBI = (
    (48.85, 2.35),
    (40.71, -74.0),
    (35.68, 139.69),
    (-1.29, 36.82),
)


def _meta():
    """Four test rows in four continents, with their countries and a scene column."""
    lat, lon = zip(PARIS, NEW_YORK, TOKYO, NAIROBI)
    return pd.DataFrame(
        {
            "lat": lat,
            "lon": lon,
            "continent": ["Europe", "North America", "Asia", "Africa"],
            "country": ["FR", "US", "JP", "KE"],
            "scene": ["urban", "urban", "urban", "natural"],
        }
    )


def _evaluations():
    ev = Evaluations({"test": _meta(), "test_new": _meta().iloc[[2, 0]]})
    meta = ev.sets["test"].meta
    ev.add("oracle", "test", meta["lat"], meta["lon"], best_k=1)
    # everything in Paris: right for the French row only
    ev.add("paris", "test", np.full(4, PARIS[0]), np.full(4, PARIS[1]))
    ev.add("paris", "test_new", np.full(2, PARIS[0]), np.full(2, PARIS[1]))
    return ev


def test_regions_are_those_of_the_true_location():
    ev = _evaluations()
    europe = ev.metrics("paris", "test", "Europe")
    # the French row, predicted in Paris
    assert europe["n"] == 1 and europe["acc@1km"] == 100
    asia = ev.metrics("paris", "test", "Asia")
    # predicted in Europe, judged in Asia
    assert asia["n"] == 1 and asia["acc@2500km"] == 0
    assert (
        ev.metrics("paris", "test", "urban")["n"] == 3
        and ev.metrics("paris", "test", "natural")["n"] == 1
    )
    assert ev.metrics("paris", "test", "Oceania") == {}  # no row there
    assert ev.metrics("paris", "test")["n"] == 4
    np.testing.assert_array_equal(
        ev.sets["test"].mask("North America"), [False, True, False, False]
    )
    np.testing.assert_array_equal(ev.sets["test"].mask("Global"), [True] * 4)


def test_country_accuracy_geocodes_the_predicted_points_unless_given():
    ev = _evaluations()
    assert ev.metrics("oracle", "test")["country_acc"] == 100
    assert ev.metrics("paris", "test")["country_acc"] == 25
    meta = ev.sets["test"].meta
    ev.add(
        "told", "test", meta["lat"], meta["lon"], pred_country=["FR", "CA", "JP", "TZ"]
    )
    assert ev.metrics("told", "test")["country_acc"] == 50
    no_country = Evaluations({"test": meta[["lat", "lon"]]})
    no_country.add("m", "test", meta["lat"], meta["lon"])
    assert "country_acc" not in no_country.metrics("m", "test")


def test_errors_are_the_haversine_of_each_row_and_the_metrics_summarize():
    ev = _evaluations()
    meta = ev.sets["test"].meta
    from geosurvey.geo import haversine

    d = haversine(PARIS[0], PARIS[1], meta["lat"], meta["lon"])
    np.testing.assert_allclose(ev.errors("paris", "test"), d)
    assert ev.metrics("paris", "test") == metrics.summarize(
        d, [True, False, False, False]
    )
    plat, plon = ev.predicted("paris", "test_new")
    assert np.allclose(plat, PARIS[0]) and len(plon) == 2
    assert ev.methods("test") == ["oracle", "paris"] and ev.methods("test_new") == [
        "paris"
    ]
    assert ev.has("paris", "test_new") and not ev.has("oracle", "test_new")
    with pytest.raises(ValueError, match="3 predictions for the 4 rows of test"):
        ev.add("short", "test", [1.0, 2.0, 3.0], [1.0, 2.0, 3.0])


def test_tables_and_interval_tables():
    ev = _evaluations()
    table = ev.table("test")
    assert list(table.index) == ["oracle", "paris"]
    assert table.loc["oracle", "best_k"] == 1 and table.loc["paris", "acc@1km"] == 25
    assert list(ev.table("test", columns=["median_km", "nothing"]).columns) == [
        "median_km"
    ]
    assert list(ev.table("test", ["paris"], region="Europe").index) == ["paris"]
    cols = ["acc@25km", "acc@750km", "acc@2500km", "median_km"]
    shown = ev.table("test", columns=cols, interval=cols)
    assert list(shown.columns) == cols
    assert shown.loc["oracle", "acc@25km"] == "100.0 [100.0 to 100.0]"
    assert shown.loc["oracle", "median_km"] == "0 [0 to 0]"
    scored = ev.table("test", ["paris"], columns=["geoscore"], interval="median_km")
    assert scored.loc["paris", "geoscore"] == ev.metrics("paris", "test")["geoscore"]
    assert ev.table("test", ["oracle"], interval="median_km").at[
        "oracle", "median_km"
    ] == ("0 [0 to 0]")
    ci = ev.intervals("paris", "test")
    lo, hi = ci["acc@2500km"]
    assert lo <= ev.metrics("paris", "test")["acc@2500km"] <= hi and lo < hi
    assert (
        metrics.with_interval(12.345, [10.0, 14.0], "acc@1km") == "12.3 [10.0 to 14.0]"
    )


def test_test_set_blocks_and_bootstrap_weights_are_shared_by_methods():
    ts = evaluation.TestSet.of(_meta())
    # four cities, four blocks
    assert ts.block is None  # no fixed blocks: S2 cells at the level a claim needs
    blocks = ts.blocks("Global")
    assert blocks.shape == (4,) and len(np.unique(blocks)) == 4
    w = ts.bootstrap("urban")
    assert w.shape == (1000, 3) and ts.bootstrap("urban") is w
    assert np.all(w.sum(1) == 3)  # three blocks drawn per replicate, one row each


# --- results files --------------------------------------------------------------------


def test_save_json_and_load_json(tmp_path):
    payload = {
        "chapter": "demo",
        "value": np.float32(1.5),
        "count": np.int64(3),
        "flags": np.array([True, False]),
    }
    path = results.save_json(tmp_path / "demo.json", payload)
    loaded = results.load_json("demo", tmp_path)
    assert (
        loaded["value"] == 1.5
        and loaded["count"] == 3
        and loaded["flags"] == [True, False]
    )
    assert loaded["evaluator"] == metrics.DESCRIPTION and "machine" in loaded
    assert json.loads(path.read_text()) == loaded
    # no temporary file left behind
    assert [p.name for p in tmp_path.iterdir()] == ["demo.json"]


def test_a_missing_chapter_names_the_chapter(tmp_path):
    with pytest.raises(FileNotFoundError, match="execute the 'planet' chapter first"):
        results.load_json("planet", tmp_path)
    with pytest.raises(FileNotFoundError, match="'pigeon'"):
        results.load_predictions("pigeon", tmp_path)


def test_predictions_round_trip(tmp_path):
    ev = _evaluations()
    results.save_predictions(tmp_path / "demo.predictions.npz", ev)
    # written atomically
    assert [p.name for p in tmp_path.iterdir()] == ["demo.predictions.npz"]
    back = results.load_predictions("demo", tmp_path)
    assert list(back.sets) == ["test", "test_new"] and sorted(back.done) == sorted(
        ev.done
    )
    for split in ev.sets:
        a, b = ev.sets[split].meta, back.sets[split].meta
        np.testing.assert_array_equal(a["lat"].to_numpy(), b["lat"].to_numpy())
        for col in ("continent", "country", "scene"):
            assert list(a[col]) == list(b[col])
    for method, split in ev.done:
        np.testing.assert_array_equal(
            ev.predicted(method, split)[0], back.predicted(method, split)[0]
        )
        np.testing.assert_array_equal(
            ev.predicted(method, split)[1], back.predicted(method, split)[1]
        )
        assert back.metrics(method, split, "Europe") == ev.metrics(
            method, split, "Europe"
        )
        assert back.metrics(method, split) == ev.metrics(method, split)


def test_method_table_holds_every_region_with_intervals_and_the_info():
    ev = _evaluations()
    table = results.method_table(ev, ("Global", "Europe", "Oceania"))
    oracle = table["test"]["oracle"]
    assert set(oracle) == {"Global", "Europe", "info"}  # no Oceania rows: no entry
    assert oracle["Global"]["ci95"]["acc@1km"] == [100.0, 100.0] and oracle["info"] == {
        "best_k": 1
    }
    assert table["test_new"]["paris"]["Europe"]["n"] == 1


def test_other_seeds_finds_the_results_of_the_other_seeds(tmp_path):
    ev = _evaluations()
    assert (
        results.seed_dir(tmp_path, 0) == tmp_path
        and results.seed_dir(tmp_path, 2) == tmp_path / "seed-2"
    )
    assert results.other_seeds("demo", tmp_path, 0) == {}
    results.save_predictions(tmp_path / "demo.predictions.npz", ev)
    results.save_predictions(tmp_path / "seed-1" / "demo.predictions.npz", ev)
    results.save_predictions(tmp_path / "seed-1" / "other.predictions.npz", ev)
    from_zero = results.other_seeds("demo", tmp_path, 0)
    assert list(from_zero) == [1] and from_zero[1].metrics(
        "paris", "test"
    ) == ev.metrics("paris", "test")
    # seed 1 finds seed 0 above it
    from_one = results.other_seeds("demo", tmp_path / "seed-1", 1)
    assert list(from_one) == [0]
    assert results.other_seeds("missing", tmp_path, 0) == {}


def test_results_by_block_are_the_metrics_of_each_blocks_rows():
    meta = pd.DataFrame(
        {
            "lat": [10.0, 10.5, 40.0, 40.5, 41.0],
            "lon": [0.0, 0.5, 20.0, 20.5, 21.0],
            "continent": ["Africa", "Africa", "Europe", "Europe", "Europe"],
            "block": ["disc-a", "disc-a", "disc-b", "disc-b", "disc-b"],
        }
    )
    ev = evaluation.Evaluations({"test_new": meta})
    ev.add("here", "test_new", meta.lat, meta.lon)
    ev.add("north", "test_new", meta.lat + 1.0, meta.lon)
    table = ev.by_block("test_new", ["here", "north"], metric="median_km")
    assert list(table.index) == ["Africa 1", "Europe 2"]
    assert list(table["images"]) == [2, 3]
    assert (table["here"] == 0).all()
    np.testing.assert_allclose(table["north"], 111.2, atol=0.5)  # one degree north


def test_bootstrap_replicates_are_reused_until_the_predictions_or_the_set_change():
    ev = _evaluations()
    first = ev.samples("paris", "test")
    assert ev.samples("paris", "test") is first  # one bootstrap per method and set
    ev.add("paris", "test", *ev.predicted("oracle", "test"))
    assert ev.samples("paris", "test")["geoscore"].min() == 5000  # new predictions
    again = ev.samples("paris", "test")
    ev.add_set("test", _meta().iloc[[0, 0, 0, 0]])  # the rows are now all in Paris
    assert ev.samples("paris", "test") is not again
