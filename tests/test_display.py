import numpy as np
import pandas as pd
import pytest

from geosurvey import display


def _shown(df, formats=None) -> pd.DataFrame:
    """The display table with its labels as the caller wrote them."""
    out = display.table(df, formats)
    out.columns = df.columns
    return out


def _one(column, value, formats=None) -> str:
    return display.table(pd.DataFrame({column: [value]}), formats).iloc[0, 0]


@pytest.mark.parametrize(
    ("column", "value", "shown"),
    [
        ("acc@25km", 12.345, "12.3"),
        ("country_acc", 100, "100.0"),
        ("dropped %", 0.04, "0.0"),
        ("top-1 accuracy", 41.26, "41.3"),
        ("median_km", 2296.334579, "2,296"),
        ("distance (km)", 80.6, "81"),
        ("geoscore", 2296.6, "2,297"),
        ("n", 6000, "6,000"),
        ("n_train", 85000.0, "85,000"),
        ("cells", 104.0, "104"),
        ("count", 1234567, "1,234,567"),
        ("year", 2016, "2016"),
        ("seed", 2.0, "2"),
        ("train_seconds", 104.0, "104"),
        ("ratio", 0.123456, "0.12"),
        ("learning_rate", 0.0003, "3.0e-04"),
        ("difference", -0.0001, "-1.0e-04"),
    ],
)
def test_each_kind_of_number(column, value, shown):
    assert _one(column, value) == shown


def test_one_precision_per_column_enough_for_its_smallest_value():
    df = pd.DataFrame(
        {"train_seconds": [104.0, 2.5, 0.0], "images_per_s": [1e4, 2e4, 3e4]}
    )
    out = _shown(df)
    assert list(out["train_seconds"]) == ["104.00", "2.50", "0.00"]
    assert list(out["images_per_s"]) == ["10,000", "20,000", "30,000"]


def test_missing_values_booleans_and_text():
    df = pd.DataFrame(
        {
            "acc@25km": [np.nan, 1.0],
            "note": [None, "a long sentence " * 20],
            "ok": [True, np.False_],
            "when": [pd.NaT, pd.Timestamp("2026-01-02")],
        }
    )
    out = _shown(df)
    assert list(out["acc@25km"]) == [display.DASH, "1.0"]
    assert out["note"].iloc[0] == display.DASH
    assert out["note"].iloc[1] == "a long sentence " * 20  # never truncated
    assert list(out["ok"]) == ["yes", "no"]
    assert out["when"].iloc[0] == display.DASH and out["when"].iloc[1].startswith(
        "2026-01-02"
    )
    assert "nan" not in out.to_string().lower()


def test_intervals_take_the_precision_of_their_value():
    df = pd.DataFrame(
        {
            "acc@750km": ["41.27 [38.0, 44.333]"],
            "median_km": ["2296.3 [2000.1, 2500.9]"],
            "geoscore": ["2296.334579 [2101.5, 2400.0]"],
            "difference": ["+3.21456 [1.2, 5.0]"],
        }
    )
    out = _shown(df).iloc[0].str.replace(display.NBSP, " ")
    assert out["acc@750km"] == "41.3 [38.0, 44.3]"
    assert out["median_km"] == "2,296 [2,000, 2,501]"
    assert out["geoscore"] == "2,296 [2,102, 2,400]"
    assert out["difference"] == "+3.21 [1.20, 5.00]"  # no rule: as written, 2 decimals


def test_an_interval_is_never_split_over_two_lines():
    shown = _one("acc@25km", "41.27 [38.0, 44.333]")
    assert shown == f"41.3{display.NBSP}[38.0,{display.NBSP}44.3]" and " " not in shown


def test_dicts_and_lists_are_formatted_by_their_keys():
    assert _one("info", {"acc@25km": 12.345, "n": 5000}) == "acc@25km: 12.3, n: 5,000"
    assert _one("ci95", [1.23456, 2.5]) == "[1.23, 2.50]"


def test_columns_of_a_multiindex_use_their_last_level():
    df = pd.concat({"Global": pd.DataFrame({"acc@25km": [1.234], "n": [1000]})}, axis=1)
    out = display.table(df)
    assert list(out.iloc[0]) == ["1.2", "1,000"]
    assert list(out.columns) == [("Global", "within 25 km %"), ("Global", "images")]


def test_headers_name_metrics_as_a_reader_does_and_wrap_only_where_they_may():
    df = pd.DataFrame(
        {"acc@25km": [1.0], "median_km": [2.0], "val_new_geoscore": [3], "top_k@1": [4]}
    )
    labels = list(display.table(df).columns)
    assert labels == [
        "within 25 km %",
        "median error (km)",
        "new-places validation GeoScore",
        f"top_{display.ZWSP}k@{display.ZWSP}1",
    ]
    assert display.table(df).iloc[0].tolist() == ["1.0", "2", "3", "4"]
    assert display.label("val_geoscore") == "seen-places validation GeoScore"


def test_explicit_formats_override_the_rule():
    assert _one("p", 0.123456, {"p": "{:.3f}"}) == "0.123"
    assert _one("p", 0.5, {"p": "percent"}) == "0.5"
    assert _one("p", 0.5, {"p": lambda x: f"{x:.0%}"}) == "50%"


def test_a_bad_format_names_the_column():
    with pytest.raises(KeyError, match="does not have: \\['q'\\]"):
        display.table(pd.DataFrame({"p": [1.0]}), {"q": "count"})
    with pytest.raises(ValueError, match="column 'p'"):
        display.table(pd.DataFrame({"p": [1.0]}), {"p": "pct"})


def test_the_index_and_the_shape_are_kept():
    df = pd.DataFrame({"n": [1, 2]}, index=pd.Index(["prior", "k-NN"], name="method"))
    out = display.table(df)
    assert out.index.equals(df.index) and out.shape == df.shape


def test_chapters_reach_it_as_gs_display():
    import geosurvey as gs

    assert gs.display.table is display.table


def test_a_table_of_measures_by_row_formats_each_row_by_its_label():
    df = pd.DataFrame(
        {"images": [1000, 20], "nearest training km (median)": [2.6, 835.26]},
        index=["seen", "new"],
    ).T
    shown = display.table(df, by_row=True)
    assert shown.loc["images"].tolist() == ["1,000", "20"]
    assert shown.loc["nearest training km (median)"].tolist() == ["3", "835"]
    assert list(shown.columns) == ["seen", "new"]


def test_show_displays_the_formatted_table_from_inside_a_branch():
    from IPython.utils.capture import capture_output

    with capture_output() as out:
        if True:
            display.show(pd.DataFrame({"median_km": [2296.33]}))
    shown = out.stdout + "".join(str(o.data) for o in out.outputs)
    assert "2,296" in shown and "2296.33" not in shown


def test_a_name_only_the_code_uses_is_caught_in_a_header_or_a_figure():
    import matplotlib

    matplotlib.use("Agg")
    from geosurvey import plots

    display.SHOWN.clear()
    display.table(pd.DataFrame({"acc@25km": [1.0], "median_km": [2.0]}))
    fig, ax = plots.figure()
    ax.plot([1, 2], [3, 4], label="a method")
    ax.set_xlabel("error (km)")
    ax.legend()
    fig.canvas.draw()
    assert display.internal_names() == []
    ax.set_ylabel("val_new_geoscore")
    fig.legend(["median_km"])
    fig.canvas.draw()
    shown = " ".join(display.internal_names())
    assert "'val_new_geoscore'" in shown and "'median_km'" in shown
    display.SHOWN.clear()
