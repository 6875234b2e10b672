"""The peers' evaluation conventions: each differs from the book's where its code does,
and only there."""

import json

import numpy as np
import pandas as pd
import pytest

from geosurvey import cli, conventions, metrics
from geosurvey.data import places

TRUE = np.array([[48.85, 2.35], [40.71, -74.0], [-33.87, 151.2], [35.68, 139.69]])


def _shifted(km: float):
    """Predictions due north of TRUE by ``km`` under the book's radius."""
    return TRUE[:, 0] + np.degrees(km / 6371.0088), TRUE[:, 1]


def test_the_book_s_convention_is_the_book_s_evaluator():
    rng = np.random.default_rng(0)
    plat, plon = TRUE[:, 0] + rng.normal(0, 3, 4), TRUE[:, 1] + rng.normal(0, 3, 4)
    truth = ["FR", "US", "AU", "JP"]
    got = conventions.evaluate(plat, plon, TRUE[:, 0], TRUE[:, 1], true_country=truth)
    want = metrics.evaluate(
        plat, plon, TRUE[:, 0], TRUE[:, 1], places.countries(plat, plon), truth
    )
    assert got == pytest.approx(want) and list(got) == list(want)


def test_radius_and_hit_rule_follow_each_codebase():
    plat, plon = _shifted(24.99)
    book = conventions.evaluate(plat, plon, TRUE[:, 0], TRUE[:, 1])
    osv = conventions.evaluate(plat, plon, TRUE[:, 0], TRUE[:, 1], convention="osv5m")
    pigeon = conventions.evaluate(
        plat, plon, TRUE[:, 0], TRUE[:, 1], convention="pigeon"
    )
    assert (
        book["acc@25km"] == osv["acc@25km"] == 100 and pigeon["acc@25km"] == 0
    )  # 25.02 km on PIGEON's sphere
    assert pigeon["median_km"] == pytest.approx(24.99 * 6378.137 / 6371.0088)
    assert osv["median_km"] == pytest.approx(24.99 * 6371 / 6371.0088)
    on_the_line = np.array([25.0, 25.0, 3000.0])
    assert conventions.summarize(on_the_line, "osv5m")["acc@25km"] == 0  # d < t
    assert conventions.summarize(on_the_line, "geoestimation")[
        "acc@25km"
    ] == pytest.approx(200 / 3)  # d <= t
    assert (
        set(book)
        == set(osv)
        == set(pigeon)
        == set(metrics.evaluate(plat, plon, TRUE[:, 0], TRUE[:, 1]))
    )


def test_pigeon_rounds_each_image_s_geoscore():
    d = np.array([1492.7 * np.log(5000 / 4000.4)] * 3)  # a GeoScore of 4000.4 each
    assert conventions.summarize(d, "pigeon")["geoscore"] == 4000.0
    assert conventions.summarize(d, "geoestimation")["geoscore"] == pytest.approx(
        4000.4
    )


def test_country_accuracy_by_each_convention_s_method():
    # a prediction 3 km off the coast of Brittany: at sea for the polygons, France for
    # the gazetteer
    plat, plon = np.array([48.85, 48.40, 40.71]), np.array([2.35, -5.13, -74.0])
    tlat, tlon = np.array([48.85, 48.40, 40.71]), np.array([2.35, -4.9, -74.0])
    truth = ["FR", "FR", None]  # the third true country is unknown
    got = {
        c: conventions.evaluate(
            plat, plon, tlat, tlon, convention=c, true_country=truth
        )
        for c in conventions.CONVENTIONS
    }
    assert places.polygon_countries(plat[1:2], plon[1:2])[0] is None
    assert (
        got["geosurvey"]["country_acc"] == 100
    )  # the unknown one looked up: US, and the prediction is there
    assert got["osv5m"]["country_acc"] == 100 and got["pigeon"][
        "country_acc"
    ] == pytest.approx(200 / 3)
    assert "country_acc" not in got["geoestimation"]


def test_polygon_containment_finds_enclaves_and_the_sea():
    codes = places.polygon_countries(
        [-29.3, -26.2, 0.0, 51.5, -33.9], [27.5, 28.0, -30.0, -0.12, 18.4]
    )
    assert list(codes) == [
        "LS",
        "ZA",
        None,
        "GB",
        "ZA",
    ]  # Lesotho inside South Africa; mid-Atlantic


def test_conventions_table_has_one_row_per_convention():
    plat, plon = _shifted(100.0)
    table = conventions.conventions_table(
        plat, plon, TRUE[:, 0], TRUE[:, 1], ["FR", "US", "AU", "JP"]
    )
    assert list(table.index) == list(conventions.CONVENTIONS)
    assert (
        table.loc["pigeon", "median_km"]
        > table.loc["geosurvey", "median_km"]
        > table.loc["osv5m", "median_km"]
    )
    assert (
        pd.isna(table.loc["geoestimation", "country_acc"])
        and "R = 6371 km" in table.loc["osv5m", "convention"]
    )


def test_the_command_line_evaluates_under_a_convention(tmp_path, capsys):
    plat, plon = _shifted(24.99)
    pd.DataFrame(
        {
            "id": range(4),
            "pred_lat": plat,
            "pred_lon": plon,
            "lat": TRUE[:, 0],
            "lon": TRUE[:, 1],
            "country": ["France", "US", "AUS", ""],
        }
    ).to_csv(tmp_path / "p.csv", index=False)
    cli.main(["evaluate", str(tmp_path / "p.csv"), "--convention", "pigeon"])
    out = json.loads(capsys.readouterr().out)
    assert out["acc@25km"] == 0 and out["country_acc"] == 100 and out["n"] == 4
    cli.main(["evaluate", str(tmp_path / "p.csv")])
    assert json.loads(capsys.readouterr().out)["acc@25km"] == 100
    with pytest.raises(SystemExit, match="2"):
        cli.main(["evaluate", str(tmp_path / "p.csv"), "--convention", "mine"])
