"""Figures sized for their place on the page, in the book's style.

A chapter draws every figure through :func:`figure` (or a helper of
:mod:`geosurvey.plots` and :mod:`geosurvey.maps`, which do), so that it shows 1:1 in the
rendered book with text of at least 8 pt (11 px).
"""

from __future__ import annotations

# Where a figure goes on the page at a 1280-px window, in inches at DPI (100 px per
# inch): the content column is 676 px, a cell tagged `full-width` 919 px. The widths
# leave room for the 0.1-in margin the notebook's inline backend adds around a figure's
# tight bounding box, so a figure is shown 1:1, never scaled down, and its text keeps
# its size: 8 pt is 11 px.
WIDTHS = {"column": 6.5, "wide": 9.0}
DPI = 100
STYLE = {
    "figure.dpi": DPI,
    "savefig.dpi": "figure",
    "figure.figsize": (WIDTHS["column"], 0.6 * WIDTHS["column"]),
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "figure.titlesize": 10,
}


def figure(
    width="column",
    height: float | None = None,
    *,
    nrows: int = 1,
    ncols: int = 1,
    **subplots,
):
    """A figure and its axes (``plt.subplots``) sized for its place on the page, in the
    book's style: ``width`` is ``"column"`` (the text column), ``"wide"`` (for a cell
    tagged ``full-width``) or inches; ``height`` in inches (default 0.6 of the width).

    A chapter draws every figure of its own through this, so that it shows 1:1 with text
    at least 8 pt (11 px); e.g. ``fig, ax = gs.plots.figure(height=3)``, two panels side
    by side with ``fig, (a, b) = gs.plots.figure(ncols=2, height=2.6)``, a map with
    ``subplot_kw={"projection": ccrs.Robinson()}``. Put a legend that would stick out
    inside the figure (``fig.legend(loc="outside right upper")``): the layout is
    constrained, so nothing is drawn past the figure's edge. The style (:data:`STYLE`)
    stays set for the session, so text added later and figures made otherwise get the
    same fonts.
    """
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    if isinstance(width, str) and width not in WIDTHS:
        raise ValueError(
            f"width must be one of {sorted(WIDTHS)} or inches, not {width!r}"
        )
    inches = WIDTHS[width] if isinstance(width, str) else float(width)
    mpl.rcParams.update(STYLE)
    size = (inches, 0.6 * inches if height is None else height)
    return plt.subplots(nrows, ncols, figsize=size, layout="constrained", **subplots)


def blank(width="column", height: float = 3.0):
    """An empty figure of the book's size and style (for axes added one by one)."""
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    mpl.rcParams.update(STYLE)
    inches = WIDTHS[width] if isinstance(width, str) else float(width)
    return plt.figure(figsize=(inches, height), layout="constrained")
