"""Figures made with plots.figure show 1:1 on the page: no wider than their place once
the notebook's inline backend has saved them (tight bounding box, 0.1-in margin)."""

import io

import matplotlib
import numpy as np
import pytest
from PIL import Image

from geosurvey import maps, plots

matplotlib.use("Agg")


def _saved_px(fig) -> tuple:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")  # as matplotlib-inline does
    buf.seek(0)
    with Image.open(buf) as im:
        return im.size


@pytest.mark.parametrize(("width", "room_px"), [("column", 676), ("wide", 919)])
def test_a_figure_fits_its_place_with_a_legend_outside_the_axes(width, room_px):
    fig, axes = plots.figure(width, 2.6, ncols=2)
    for ax in axes:
        ax.plot([1, 10], [0, 100], label="a method with a long name")
        ax.set(xlabel="distance (km)", ylabel="% within", title="accuracy")
    fig.legend(loc="outside right upper")
    w, h = _saved_px(fig)
    assert room_px - 40 <= w <= room_px and h <= 2.6 * plots.DPI + 20  # + the margin


def test_text_is_at_least_8_points():
    fig, ax = plots.figure()
    ax.plot([0, 1])
    fig.canvas.draw()
    sizes = [
        t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text()
    ]
    assert sizes and min(sizes) >= 8


def test_an_unknown_width_is_named():
    with pytest.raises(ValueError, match="'margin'"):
        plots.figure("margin")


def _index_rows():
    """(status, {notebook: [quoted section titles]}) of every row of the figure
    index."""
    import re
    from pathlib import Path

    text = (Path(__file__).parent.parent / "book" / "figures.md").read_text()
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("figure", "figure or table", "---"):
            continue
        refs = {}
        pattern = r"\{doc\}`chapter (\d) <(0\d_\w+)>`((?:, \"[^\"]+\")?)"
        for number, doc, rest in re.findall(pattern, cells[3]):
            assert doc.startswith(f"0{number}_"), (number, doc)
            refs.setdefault(doc, []).extend(re.findall(r"\"([^\"]+)\"", rest))
        yield cells[2], refs, re.findall(r"\{numref\}`([\w-]+)`", cells[3])


def test_the_figure_index_counts_its_rows_and_names_sections_that_exist():
    import json
    import re
    from collections import Counter
    from pathlib import Path

    root = Path(__file__).parent.parent
    rows = list(_index_rows())
    kinds = Counter(s.split(":")[0] for s, _, _ in rows)
    assert set(kinds) == {"computed", "partial", "impossible here"}
    intro = (root / "book" / "figures.md").read_text()
    said = {
        "computed": r"\*\*(\d+) are computed",
        "partial": r"\*\*(\d+) are partial",
        "impossible here": r"\*\*(\d+) cannot exist",
    }
    for kind, pattern in said.items():
        assert int(re.search(pattern, intro).group(1)) == kinds[kind], kind
    assert f"Of the {len(rows)} rows" in intro
    for status, refs, figures in rows:
        assert status.startswith("impossible here") or refs
        drawn = {
            c["metadata"].get("mystnb", {}).get("figure", {}).get("name")
            for doc in refs
            for c in json.loads((root / "book" / f"{doc}.ipynb").read_text())["cells"]
        }
        assert set(figures) <= drawn, (status, figures)
        if status.startswith("partial"):
            assert len(status) > len("partial: ") + 10  # says what is missing
        for doc, sections in refs.items():
            nb = json.loads((root / "book" / f"{doc}.ipynb").read_text())
            heads = {
                line.lstrip("#").strip()
                for c in nb["cells"]
                if c["cell_type"] == "markdown"
                for line in "".join(c["source"]).splitlines()
                if line.startswith("#")
            }
            for section in sections:
                assert section in heads, (doc, section)


def test_every_figure_of_a_chapter_is_numbered_captioned_and_referenced():
    import json
    import re
    from pathlib import Path

    draws = re.compile(r"gs\.(plots|maps)\.(?!caption\b)\w+\(")
    for path in sorted((Path(__file__).parent.parent / "book").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        text = "".join("".join(c["source"]) for c in cells)
        names = []
        for c in cells:
            source = "".join(c["source"])
            if c["cell_type"] != "code" or not draws.search(source):
                continue
            figure = c["metadata"].get("mystnb", {}).get("figure", {})
            assert figure.get("name", "").startswith("fig-"), (path.name, source[:80])
            assert len(figure.get("caption", "")) > 20, (path.name, figure["name"])
            assert "{numref}`" + figure["name"] + "`" in text, (path.name, figure)
            names.append(figure["name"])
        assert len(names) == len(set(names)), path.name


def test_the_error_histogram_marks_the_median_the_tables_show():
    from geosurvey import metrics

    d = [0.5, 3.0, 10.0, 2_000.0]  # an even count: interpolation would give 6.5
    ax = plots.error_histogram(d)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    median = metrics.summarize(d)["median_km"]
    assert labels == ["mean 503 km", f"median {median:,.0f} km"] and median == 3.0


def test_class_columns_are_bars_whatever_their_dtype():
    import pandas as pd

    table = pd.DataFrame(
        {
            "climate": pd.Series(["Cfb", "BSk", "Cfb", "Af"], dtype="string"),
            "land cover": pd.Categorical(["urban", "forest", "urban", "ice"]),
            "elevation_m": [1.0, 2.0, 3.0, 4.0],
        }
    )
    axes = plots.label_distributions(table).axes
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["Af", "BSk", "Cfb"]
    assert len(axes[1].patches) == 3 and axes[2].get_title() == "elevation (m)"
    assert axes[2].get_yscale() == "log"  # a few high places stay visible


def test_accuracy_by_regime_draws_a_panel_per_regime_and_one_legend_of_all_methods():
    import numpy as np
    import pandas as pd

    from geosurvey import regimes
    from geosurvey.evaluation import Evaluations

    meta = pd.DataFrame({"lat": [48.85, 40.71, 35.68], "lon": [2.35, -74.0, 139.69]})
    ev = Evaluations({"test": meta, "test_new": meta.iloc[:2]})
    for split, rows in (("test", meta), ("test_new", meta.iloc[:2])):
        ev.add("truth", split, rows["lat"], rows["lon"])
    ev.add("paris", "test_new", np.full(2, 48.85), np.full(2, 2.35))  # new places only
    fig = plots.accuracy_by_regime(ev, regimes.REGIMES, styles={"paris": {"ls": "--"}})
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["seen places", "new places"]
    assert all(ax.get_legend() is None for ax in axes)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["truth", "paris"]
    assert axes[1].get_lines()[1].get_linestyle() == "--"
    w, _ = _saved_px(fig)
    assert w <= 676


def test_an_error_cdf_climbs_to_every_image_and_names_each_method_once():
    from types import SimpleNamespace

    import numpy as np

    errors = {"a": np.array([5.0, 50.0, 500.0, 5000.0]), "b": np.array([0.0, 9e3])}
    ev = SimpleNamespace(
        errors=lambda m, split: errors[m], has=lambda m, s: m in errors
    )
    regimes = [SimpleNamespace(test=t, name=t) for t in ("seen", "new")]
    fig = plots.error_cdfs(ev, regimes, ["a", "b", "not run"])
    line = fig.axes[0].get_lines()[0]
    assert list(line.get_xdata()) == [5.0, 50.0, 500.0, 5000.0]
    assert list(line.get_ydata()) == [25.0, 50.0, 75.0, 100.0]
    # an exact answer is drawn at 1 km, the log axis's left edge
    assert fig.axes[0].get_lines()[1].get_xdata()[0] == 1.0
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["a", "b"]


def test_one_place_renders_in_every_condition_with_a_scale_bar():
    from geosurvey.data import geotiles

    spec = geotiles.GeoTilesSpec()
    looks = geotiles.renderings(46.5, 8.0, spec)  # the Alps
    assert list(looks) == list(spec.conditions)
    assert all(t.shape == (spec.tile_px, spec.tile_px, 3) for t in looks.values())
    # the conditions are different images of the same ground
    assert len({t.tobytes() for t in looks.values()}) == len(looks)
    fig = plots.renderings(looks, extent_km=spec.extent_km)
    (bar,) = fig.axes[0].get_lines()
    assert bar.get_xdata()[1] - bar.get_xdata()[0] == spec.tile_px * 100 / 500


def test_answer_lines_join_each_truth_to_its_answer_coloured_by_error():
    import numpy as np

    from geosurvey import maps

    ax = maps.world(title="answers")
    before = len(ax.get_lines())
    maps.answers(
        ax, [48.9, -33.9], [2.3, 151.2], [48.8, 40.7], [2.4, -74.0], [11.0, 9e3]
    )
    lines = ax.get_lines()[before:]
    assert len(lines) == 6  # a line, a dot and a cross per image
    near, far = lines[0].get_color(), lines[3].get_color()
    assert not np.allclose(near, far)  # 11 km green-ish, 9,000 km red
    assert far[0] > near[0] and near[1] > far[1]


@pytest.mark.parametrize("seconds", [[15.4, 21.5, 50.1], [22.0, 30.0, 45.0]])
def test_the_cost_plot_labels_each_tick_once_and_inside_its_axis(seconds):
    import pandas as pd

    cost = pd.DataFrame(
        {"train_seconds": seconds, "images_per_s": [249.4, 158.7, 88.9]},
        index=["a", "b", "c"],
    )
    fig = plots.accuracy_vs_cost(cost, {"a": 1.0, "b": 2.0, "c": 3.0})
    fig.canvas.draw()
    for ax in fig.axes:
        lo, hi = ax.get_xlim()
        shown = [(t.get_position()[0], t.get_text()) for t in ax.get_xticklabels()]
        assert len(shown) >= 2 and len({text for _, text in shown}) == len(shown)
        assert all(lo <= x <= hi for x, _ in shown)
        assert not ax.get_xticklabels(minor=True)


def test_a_belief_map_zooms_to_its_likely_cells_unless_they_span_the_world():
    from geosurvey.maps import around

    lon0, lon1, lat0, lat1 = around([40.0, 42.0], [-75.0, -73.0])
    assert lon0 <= -75 - 8 and lon1 >= -73 + 8 and lon1 - lon0 >= 60
    assert lat0 <= 40 - 8 and lat1 >= 42 + 8 and lat1 - lat0 >= 30
    lon0, lon1, lat0, lat1 = around([33.0, 37.0], [-117.0, 15.0])  # far apart
    assert lon1 - lon0 == 148 and lat1 - lat0 == 74  # half as tall as wide
    assert around([0.0, 10.0], [-150.0, 120.0]) is None  # New Zealand and Alaska
    assert around([-89.0], [179.0])[1:] == (180.0, -85.0, -74.0)  # clipped to the map


def test_the_k_figure_circles_the_k_validation_chose_in_each_regime():
    from geosurvey import regimes

    scores = {
        "a": {"seen": {1: 300.0, 10: 900.0, 50: 500.0}, "new": {1: 80.0, 10: 60.0}},
        "b": {"seen": {1: 200.0, 10: 100.0, 50: 50.0}, "new": {1: 10.0, 10: 70.0}},
    }
    fig = plots.by_k(scores, regimes.REGIMES)
    seen, new = (ax for ax in fig.axes if ax.get_title())
    assert (seen.get_title(), new.get_title()) == ("seen places", "new places")
    circled = [tuple(ln.get_xydata()[0]) for ln in seen.get_lines()[1::2]]
    assert circled == [(10.0, 900.0), (1.0, 200.0)]
    assert [tuple(ln.get_xydata()[0]) for ln in new.get_lines()[1::2]] == [
        (1.0, 80.0),
        (10.0, 70.0),
    ]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["a", "b"]


def test_touching_cells_get_different_colours():
    from scipy.spatial import Voronoi

    # 400 points in 25 square cells of a 5 x 5 grid: a cell touches up to 8 others
    pts = np.random.default_rng(0).uniform(0, 5, (400, 2))
    labels = (pts[:, 0] // 1 * 5 + pts[:, 1] // 1).astype(int)
    labels[:7] = -1  # dropped points are no cell
    ridges = Voronoi(pts).ridge_points
    colour = maps.touching_colours(labels, ridges, 20)
    a, b = labels[ridges[:, 0]], labels[ridges[:, 1]]
    touching = (a != b) & (a >= 0) & (b >= 0)
    assert touching.sum() > 40 and set(colour) == set(labels[labels >= 0])
    assert all(colour[x] != colour[y] for x, y in zip(a[touching], b[touching]))
    assert max(colour.values()) <= 8  # greedy: at most one more than the neighbours


def test_the_likeliest_cells_labels_never_overprint():
    """Three likely cells whose member means lie a few kilometres apart: their
    probabilities are written one above the other, not on top of each other."""
    import cartopy.crs as ccrs
    import matplotlib.pyplot as plt

    from geosurvey import cells

    lat, lon = np.array([48.0, 48.01, 48.02]), np.array([2.0, 2.03, 2.06])
    part = cells.uniform(lat, lon, level=12)
    assert len(part) == 3
    probs = np.array([0.5, 0.3, 0.2])[np.argsort(np.argsort(part.mean_lon))]
    fig, ax = plt.subplots(subplot_kw={"projection": ccrs.Robinson()})
    ax.set_extent((-10, 15, 40, 55), crs=ccrs.PlateCarree())
    maps.cell_probabilities(ax, part, probs, k=3)
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in ax.texts]
    assert len(boxes) == 3
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    plt.close(fig)
