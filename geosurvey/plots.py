"""Figures in the book's style, sized for their place on the page, and the figures
that several chapters draw: tile galleries, accuracy-vs-threshold curves, training
curves.

A chapter draws every figure through :func:`figure` (or a helper of this module or of
:mod:`geosurvey.maps`, which do), so that it shows 1:1 in the rendered book with text
of at least 8 pt (11 px).
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from .display import SHOWN
from .display import label as reader_name
from .metrics import THRESHOLDS_KM
from .regimes import FOLDS, NEW, SEEN

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
    if isinstance(width, str) and width not in WIDTHS:
        raise ValueError(
            f"width must be one of {sorted(WIDTHS)} or inches, not {width!r}"
        )
    inches = WIDTHS[width] if isinstance(width, str) else float(width)
    mpl.rcParams.update(STYLE)
    size = (inches, 0.6 * inches if height is None else height)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=size, layout="constrained", **subplots
    )
    fig.canvas.mpl_connect("draw_event", _record_labels)
    return fig, axes


def blank(width="column", height: float = 3.0):
    """An empty figure of the book's size and style (for axes added one by one)."""
    mpl.rcParams.update(STYLE)
    inches = WIDTHS[width] if isinstance(width, str) else float(width)
    fig = plt.figure(figsize=(inches, height), layout="constrained")
    fig.canvas.mpl_connect("draw_event", _record_labels)
    return fig


def _record_labels(event) -> None:
    """Note the titles, axis labels and legend entries a drawn figure shows
    (:func:`geosurvey.display.internal_names` checks them)."""
    fig = event.canvas.figure
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes)]
    SHOWN.update(
        t.get_text()
        for t in (
            *(x for ax in fig.axes for x in (ax.title, ax.xaxis.label, ax.yaxis.label)),
            *(
                t
                for legend in legends
                if legend is not None
                for t in legend.get_texts()
            ),
        )
    )


def caption(row) -> str:
    """A short label for one image from whatever its metadata holds: place, country,
    rendering."""
    place = ", ".join(
        str(row[c])
        for c in ("place", "country")
        if c in row and str(row[c]) not in ("", "nan")
    )
    return place + (f"\n{reader_name(row['condition'])}" if "condition" in row else "")


def gallery(images, index, titles=None, ncols: int = 4):
    """A grid of images from an :class:`~geosurvey.data.ImageSet` with optional titles,
    in the column's width (a title of three short lines fits under each)."""
    index = list(index)
    nrows = int(np.ceil(len(index) / ncols))
    side = WIDTHS["column"] / ncols
    fig, axes = figure(
        height=nrows * (side + 0.45), nrows=nrows, ncols=ncols, squeeze=False
    )
    for ax in axes.ravel():
        ax.axis("off")
    for k, (ax, i) in enumerate(zip(axes.ravel(), index)):
        ax.imshow(images.load(int(i)))
        if titles is not None:
            ax.set_title(titles[k], fontsize=8)
    return fig


def renderings(tiles: dict, *, extent_km: float, bar_km: float = 100.0):
    """One place's tiles side by side (``{condition: tile}``), each titled with the
    condition's reader name and the first with a ``bar_km`` scale bar."""
    fig, axes = figure(height=WIDTHS["column"] / len(tiles) + 0.4, ncols=len(tiles))
    for k, (ax, (name, tile)) in enumerate(zip(np.atleast_1d(axes), tiles.items())):
        ax.imshow(tile)
        ax.set_title(reader_name(name), fontsize=8)
        ax.axis("off")
        if k == 0:
            px = tile.shape[1] * bar_km / extent_km
            x0, y = 0.06 * tile.shape[1], 0.9 * tile.shape[0]
            ax.plot([x0, x0 + px], [y, y], color="white", linewidth=3)
            ax.text(x0, y - 0.04 * tile.shape[0], f"{bar_km:,.0f} km", color="white")
    return fig


def neighbours(query, found, titles, *, query_title: str = "query"):
    """A query image beside the images a retrieval found for it (``found``: arrays,
    best first), each with its title."""
    fig, axes = figure(
        height=WIDTHS["column"] / (len(found) + 1) + 0.6, ncols=len(found) + 1
    )
    for ax, image, title in zip(axes, [query, *found], [query_title, *titles]):
        ax.imshow(image)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    return fig


def accuracy_by_regime(ev, regimes, methods=None, *, styles=None, height=3.2):
    """Accuracy (%) at each threshold of ``methods`` (all, if None) on each regime's
    test set, side by side, one line per method (``styles`` maps a method to line
    keywords, its legend ``label`` included), with one legend below the panels."""
    styles = styles or {}

    def draw(ax, r):
        for name, row in ev.table(r.test, methods).iterrows():
            acc = [row[f"acc@{t}km"] for t in THRESHOLDS_KM]
            style = {"label": name, "marker": "o", **styles.get(name, {})}
            ax.plot(THRESHOLDS_KM, acc, **style)

    return _per_regime(regimes, draw, xlabel="threshold (km)", height=height)


def error_cdfs(ev, regimes, methods, *, styles=None, height=3.2):
    """The share of each regime's test images within every distance (the cumulative
    distribution of the error) for each method, the thresholds dotted; one legend."""
    styles = styles or {}

    def draw(ax, r):
        nearest = 20_000.0
        for m in (m for m in methods if ev.has(m, r.test)):
            d = np.sort(np.maximum(ev.errors(m, r.test), 1.0))
            share = 100 * np.arange(1, len(d) + 1) / len(d)
            ax.step(d, share, where="post", label=m, **styles.get(m, {}))
            nearest = min(nearest, d[0])
        for t in THRESHOLDS_KM:
            ax.axvline(t, color="0.6", linestyle=":", linewidth=0.8)
        ax.set_xticks([*THRESHOLDS_KM, 1e4], [*map(str, THRESHOLDS_KM), "10000"])
        ax.set_xlim(10 ** np.floor(np.log10(nearest)), 20_000)  # from its decade

    return _per_regime(regimes, draw, xlabel="error (km)", height=height)


def _per_regime(regimes, draw, *, xlabel: str, height: float):
    """A panel per regime filled by ``draw(ax, regime)``; log km axis, one legend."""
    fig, axes = figure(ncols=len(regimes), height=height, sharey=True, squeeze=False)
    for ax, r in zip(axes[0], regimes):
        ax.set_xscale("log")
        ax.set_xticks(THRESHOLDS_KM, [str(t) for t in THRESHOLDS_KM])
        draw(ax, r)  # after the ticks, so that it may set the axis' range
        ax.set_xlabel(xlabel)
        ax.set_title(r.name)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("% of test images within")
    shown = {t: h for ax in axes[0] for h, t in zip(*ax.get_legend_handles_labels())}
    fig.legend(shown.values(), shown.keys(), loc="outside lower center", ncols=3)
    return fig


def _errorbars(ax, xs, values, ci, **kwargs):
    """Points with their 95 % intervals (``ci``: one (low, high) per point)."""
    lo, hi = np.asarray(ci, np.float64).T
    yerr = [np.subtract(values, lo), np.subtract(hi, values)]
    ax.errorbar(xs, values, yerr=yerr, marker="o", **kwargs)


def training_curves(
    history, metrics=("train_loss",), ax=None, title="Training", ylabel=None
):
    """One line per epoch value (``train_loss``, ``val_geoscore``...) of a
    :class:`~geosurvey.train.History`."""
    if ax is None:
        _, ax = figure(height=2.8)
    epochs = history.column("epoch")
    for m in metrics:
        ax.plot(epochs, history.column(m), marker="o", label=reader_name(m))
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel or "")
    ax.legend()
    ax.grid(alpha=0.3)
    ax.set_title(title)
    return ax


def embedding_projection(
    emb, groups, ax=None, title="Embeddings, first two principal components", size=6
):
    """Scatter the first two principal components of ``emb`` coloured by ``groups``
    (e.g. continent)."""
    if ax is None:
        _, ax = figure(height=3.5)
    x = np.asarray(emb, dtype=np.float64)
    x = x - x.mean(0)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    xy = x @ vt[:2].T
    groups = np.asarray(groups, dtype=object)
    for g in sorted(set(groups), key=lambda v: -np.sum(groups == v)):
        m = groups == g
        ax.scatter(
            xy[m, 0],
            xy[m, 1],
            s=size,
            label=f"{g} ({m.sum()})",
            alpha=0.7,
            linewidths=0,
        )
    share = (s[:2] ** 2).sum() / (s**2).sum()
    ax.set_title(f"{title} ({100 * share:.0f} % of variance)")
    ax.set_xticks([]), ax.set_yticks([])
    ax.legend(markerscale=2)
    return ax


def histories(
    named: dict, panels: dict, height: float = 2.8, *, rows=None, colours=None
):
    """One panel per epoch value (``{"train_loss": "title", ...}``), one line per named
    history (in ``colours[name]`` where given, so a method keeps the colour an earlier
    figure gave it), the legend below the panels. ``rows`` groups the names into rows
    of panels, each row with its own y scale (losses of different kinds); default
    one."""
    rows = rows or [list(named)]
    fig, axes = figure(
        height=height * len(rows), nrows=len(rows), ncols=len(panels), squeeze=False
    )
    colour = {n: (colours or {}).get(n, f"C{k}") for k, n in enumerate(named)}
    for row, names in zip(axes, rows):
        for ax, (key, title) in zip(row, panels.items()):
            for name in names:
                h = named[name]
                ax.plot(
                    h.column("epoch"),
                    h.column(key),
                    marker="o",
                    color=colour[name],
                    label=name if ax is row[0] else None,
                )
            ax.set_title(title)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
    fig.legend(loc="outside lower center", ncols=3)
    return fig


def stages(histories: list, curves: dict, height: float = 2.8):
    """One model trained in stages, the weights carried from one to the next: each
    epoch value of ``curves`` (``{"train_loss": "training", ...}``) over all the
    stages' epochs on one axis, the stages marked."""
    fig, ax = figure(height=height)
    start = 0
    for k, h in enumerate(histories):
        epochs = start + np.arange(1, len(h.epochs) + 1)
        for j, (key, label) in enumerate(curves.items()):
            ax.plot(
                epochs,
                h.column(key),
                marker="o",
                ms=3,
                color=f"C{j}",
                label=label if k == 0 else None,
            )
        if k:
            ax.axvline(start + 0.5, color="grey", lw=0.8, ls="--")
        ax.annotate(
            f"stage {k + 1}",
            (start + 0.6, 1.01),
            xycoords=("data", "axes fraction"),
            va="bottom",
            fontsize=8,
        )
        start += len(h.epochs)
    ax.set_xlabel("epoch, the stages one after another")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    fig.legend(loc="outside right upper")
    return fig


def class_sizes(named: dict, height: float = 2.6):
    """Training images per class, one panel per partition (``{"coarse": partition,
    ...}``), the classes sorted from the largest."""
    fig, axes = figure(height=height, ncols=len(named), squeeze=False)
    for ax, (name, partition) in zip(axes[0], named.items()):
        counts = np.sort(np.asarray(partition.counts))[::-1]
        ax.bar(np.arange(1, len(counts) + 1), counts, width=1.0, color="C0")
        ax.set_title(f"{name}: {len(counts):,} cells")
        ax.set_xlabel("cell, largest first")
        ax.set_ylabel("training images")
        ax.grid(alpha=0.3, axis="y")
    return fig


def sweep(
    ev,
    split: str,
    settings: dict,
    chosen: dict,
    labels,
    *,
    metric: str = "geoscore",
    ax=None,
    title=None,
):
    """``metric`` with its 95 % interval on test set ``split`` for each setting (x) of
    each partition (``settings[partition]``: its methods in the order of ``labels``, one
    line each); the setting chosen on validation (``chosen[partition]``) is circled."""
    if ax is None:
        _, ax = figure(height=3)
    for k, (name, methods) in enumerate(settings.items()):
        values = [ev.metrics(m, split)[metric] for m in methods]
        xs = np.arange(len(methods)) + 0.08 * (k - 0.5)
        ci = [ev.intervals(m, split)[metric] for m in methods]
        _errorbars(ax, xs, values, ci, capsize=3, label=name)
        pick = methods.index(chosen[name])
        ax.plot(xs[pick], values[pick], "o", ms=12, mfc="none", color="k")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_xlabel("τ, as a multiple of the cell spacing")
    ax.set_ylabel(f"test {reader_name(metric)} (95 % CI)")
    ax.grid(alpha=0.3)
    ax.set_title(title or split)
    ax.legend(loc="lower center", ncols=len(settings))
    return ax


def by_k(scores: dict, regimes, *, height: float = 2.6):
    """Each model's validation GeoScore (a line) against the number of neighbours its
    k-NN answer averages, a panel per regime (``scores[model][regime key]``: ``{k:
    GeoScore}``); the k that validation chose is circled."""
    fig, axes = figure(ncols=len(regimes), height=height, squeeze=False)
    for ax, r in zip(axes[0], regimes):
        for model, by_regime in scores.items():
            ks, values = zip(*by_regime[r.key].items())
            (line,) = ax.plot(ks, values, marker="o", ms=3, label=model)
            best = int(np.argmax(values))
            ax.plot(
                ks[best], values[best], "o", ms=9, mfc="none", color=line.get_color()
            )
        ax.set_xscale("log")
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set(xlabel="k (neighbours averaged)", title=r.name)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("validation GeoScore")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3)
    return fig


def label_distributions(table):
    """Bar charts of the class columns and histograms of the numeric columns of a table,
    two panels a row."""
    cols = list(table.columns)
    rows = int(np.ceil(len(cols) / 2))
    fig, axes = figure(height=2.4 * rows, nrows=rows, ncols=2, squeeze=False)
    for ax, col in zip(axes.ravel(), cols):
        if table[col].dtype.kind not in "biuf":  # classes (object, string, category)
            counts = table[col].value_counts().head(8)[::-1]
            ax.barh([str(c)[:20] for c in counts.index], counts.to_numpy())
            ax.set_xlabel("training locations")
        else:  # a log count: most locations sit low and near the coast
            ax.hist(table[col], bins=40, log=True)
            ax.set_ylabel("training locations")
        ax.set_title(reader_name(col))
    for ax in axes.ravel()[len(cols) :]:
        ax.axis("off")
    return fig


def error_histogram(error_km, ax=None, title: str = "", bins: int = 40):
    """Histogram of errors on a log axis with the mean and the median marked (Lo et
    al.'s Figs. 13-14)."""
    if ax is None:
        _, ax = figure(height=2.8)
    d = np.asarray(error_km, np.float64)  # the median as the tables compute it
    median = np.percentile(d, 50, method="inverted_cdf")
    ax.hist(np.maximum(d, 1.0), bins=np.geomspace(1, 20000, bins), alpha=0.8)
    for value, colour, name in ((d.mean(), "C3", "mean"), (median, "k", "median")):
        ax.axvline(value, color=colour, ls="--", lw=1, label=f"{name} {value:,.0f} km")
    ax.set_xscale("log")
    ax.set_xlabel("error (km)")
    ax.set_ylabel("test images")
    ax.set_title(title)
    ax.legend()
    return ax


def confusion(true, pred, names, title: str = "Scene classifier (test split)"):
    """Confusion matrix normalised per true class (rows), with the share in each
    square."""
    n = len(names)
    m = np.zeros((n, n))
    np.add.at(m, (np.asarray(true), np.asarray(pred)), 1)
    share = m / np.maximum(m.sum(1, keepdims=True), 1)
    fig, ax = figure(width=4.6, height=3.4)
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                f"{100 * share[i, j]:.0f} %\n({int(m[i, j])})",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if share[i, j] > 0.6 else "black",
            )
    ax.set_xticks(range(n), names, rotation=30, ha="right")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted scene")
    ax.set_ylabel("true scene")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="share of the true class")
    return fig


def by_regime(ev, methods, regimes, *, metric="geoscore", ax=None, colours=None):
    """``metric`` with its 95 % interval for each method (in ``colours`` where given)
    on each regime's test set (x) that has it; points, not lines: a method's models may
    differ between regimes."""
    if ax is None:
        _, ax = figure(height=3)
    for k, m in enumerate(methods):
        at = [r for r in regimes if ev.has(m, r.test)]
        ys = [ev.metrics(m, r.test)[metric] for r in at]
        ci = [ev.intervals(m, r.test)[metric] for r in at]
        xs = np.array([regimes.index(r) for r in at]) + 0.06 * (k - len(methods) / 2)
        colour = (colours or {}).get(m)
        _errorbars(ax, xs, ys, ci, capsize=2, ls="none", label=m, color=colour)
    ax.set_xticks(range(len(regimes)), [r.name for r in regimes])
    ax.set_ylabel(f"{reader_name(metric)} (95 % CI)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def accuracy_vs_cost(cost, score, label="GeoScore (seen places)", colours=None):
    """Each family's score (in ``colours`` where given) against its training time and
    its inference speed (log scales), with each timing's range over the seeds where
    ``cost.attrs["ranges"]`` has one; one that trains nothing sits at the left edge."""
    fig, axes = figure(ncols=2, height=3, sharey=True)
    for ax, col, xlabel in (
        (axes[0], "train_seconds", "training time (s, this machine)"),
        (axes[1], "images_per_s", "inference speed (images/s)"),
    ):
        trained = cost[col] > 0
        low = float(cost.loc[trained, col].min()) / 3 if trained.any() else 1.0
        for k, (family, row) in enumerate(cost.iterrows()):
            x = float(row[col]) if row[col] > 0 else low
            colour = (colours or {}).get(family, f"C{k}")
            ax.scatter(x, score[family], color=colour, label=family * (ax is axes[0]))
            lo, hi = cost.attrs.get("ranges", {}).get(col, {}).get(family, (x, x))
            if row[col] > 0 and hi > lo:  # the timing's range over the seeds
                ax.hlines(score[family], lo, hi, color=colour, alpha=0.6)
        ax.set_xscale("log")
        lo, hi = ax.get_xlim()
        decades = range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
        for ms in ((1, 2, 5), (1, 1.5, 2, 3, 5, 7)):  # times a power of ten
            ticks = [t for e in decades for m in ms if lo <= (t := m * 10.0**e) <= hi]
            if len(ticks) >= 4:  # inside the axis only
                break
        if len(ticks) < 2:  # a narrow range: its ends, to two figures
            ticks = [float(f"{lo * 1.05:.2g}"), float(f"{hi / 1.05:.2g}")]
        ax.set_xticks(ticks, [f"{t:,g}" for t in ticks])
        ax.xaxis.set_minor_locator(mpl.ticker.NullLocator())
        ax.set_xlabel(xlabel + ("; none: at the left edge" if (~trained).any() else ""))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(label)
    fig.legend(loc="outside lower center", ncols=3)
    return fig


VERDICT_COLOURS = {"reproduced": "C2", "not reproduced": "C3", "inconclusive": "0.5"}
VERDICT_COLOURS |= {"estimate only": "C0", "seed-dependent": "C1"}


def _wide_scale(ax, e) -> str:
    """A symmetric log scale for a panel whose largest effect dwarfs its typical
    interval, linear within one typical half-width of zero, so narrow intervals stay
    readable beside wide ones; the words for its axis label ("" if linear)."""
    half = float(np.median(e.high - e.low)) / 2
    top = np.abs(e[["low", "high"]].to_numpy()).max()
    if half <= 0 or top < 20 * half:
        return ""
    step = 10 ** np.floor(np.log10(half))
    linear = step * min((m for m in (1, 2, 5, 10) if m * step >= half), default=10)
    ax.set_xscale("symlog", linthresh=linear, linscale=1.0)
    pad = 3  # room for the markers at the ends: half a decade on the log scale
    ax.set_xlim(min(e.low.min(), -linear) * pad, max(e.high.max(), linear) * pad)
    decades = 10.0 ** np.arange(np.ceil(np.log10(linear)), np.log10(top) + 1e-9)
    # labelled ticks a decade apart and none at ±linthresh, so labels never meet
    labelled = decades[1:] if len(decades) > 1 else decades
    ax.set_xticks([*-labelled[::-1], 0, *labelled], minor=False)
    ax.set_xticks([-decades[0], decades[0]], minor=True)
    ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda x, _: f"{x:,g}"))
    return f"\n(log scale beyond ±{linear:,g})"


MARKS = {"s": 22, "zorder": 3, "clip_on": False}  # an effect at the axis' end: whole


def forest(effects, width="column"):
    """A forest plot of :func:`geosurvey.comparison.effects`: a row per claim, a panel
    per unit, its effect (right of the line: the claim's direction) with its 95 %
    interval, coloured by verdict, the marker saying which regime it is judged on."""
    units = list(dict.fromkeys(effects["unit"]))
    names = [list(dict.fromkeys(effects.claim[effects.unit == u])) for u in units]
    fig, axes = figure(
        width,
        height=0.2 * len(effects.claim.unique()) + 0.8 * len(units),
        nrows=len(units),
        gridspec_kw={"height_ratios": [len(n) + 2 for n in names]},
    )
    regimes = list(dict.fromkeys(effects.regime))
    shape = {SEEN.name: "o", NEW.name: "s", FOLDS.name: "D"}
    for ax, unit, shown in zip(np.atleast_1d(axes), units, names):
        for regime in regimes:
            e = effects[(effects.unit == unit) & (effects.regime == regime)]
            y = [shown.index(c) for c in e.claim]
            colour = [VERDICT_COLOURS[v] for v in e.verdict]
            ax.hlines(y, e.low, e.high, colors=colour, lw=1.2)
            ax.scatter(e.effect, y, c=colour, marker=shape.get(regime, "o"), **MARKS)
        ax.axvline(0, color="k", lw=0.8)
        ax.set_yticks(range(len(shown)), shown, fontsize=8)
        ax.set_ylim(len(shown) - 0.5, -0.5)
        scale = _wide_scale(ax, effects[effects.unit == unit])
        ax.set_xlabel(f"{unit},\nin the claimed direction{scale}")
        ax.grid(axis="x", alpha=0.3)
    marks = [
        plt.Line2D([], [], color="0.3", marker=shape.get(r, "o"), ls="", label=r)
        for r in regimes
    ] + [
        plt.Line2D([], [], color=c, lw=2, label=v)
        for v, c in VERDICT_COLOURS.items()
        if v in set(effects.verdict)
    ]
    fig.legend(handles=marks, loc="outside upper center", ncols=3)
    return fig
