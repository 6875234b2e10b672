"""Figures made with plots.figure show 1:1 on the page: no wider than their place once
the notebook's inline backend has saved them (tight bounding box, 0.1-in margin)."""

import io

import matplotlib
import pytest
from PIL import Image

from geosurvey import plots

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
