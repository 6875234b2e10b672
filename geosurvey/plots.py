"""Figures that several chapters draw: tile galleries, accuracy-vs-threshold curves, training curves."""

from __future__ import annotations

import numpy as np

from .metrics import THRESHOLDS_KM


# Where a figure goes on the page at a 1280-px window, in inches at DPI (100 px per inch): the
# content column is 676 px, a cell tagged `full-width` 919 px. The widths leave room for the
# 0.1-in margin the notebook's inline backend adds around a figure's tight bounding box, so a
# figure is shown 1:1, never scaled down, and its text keeps its size: 8 pt is 11 px.
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


def figure(width="column", height: float | None = None, *, nrows: int = 1, ncols: int = 1,
           **subplots):
    """A figure and its axes (``plt.subplots``) sized for its place on the page, in the book's
    style: ``width`` is ``"column"`` (the text column), ``"wide"`` (for a cell tagged
    ``full-width``) or inches; ``height`` in inches (default 0.6 of the width).

    A chapter draws every figure of its own through this, so that it shows 1:1 with text at least
    8 pt (11 px); e.g. ``fig, ax = gs.plots.figure(height=3)``, two panels side by side with
    ``fig, (a, b) = gs.plots.figure(ncols=2, height=2.6)``, a map with
    ``subplot_kw={"projection": ccrs.Robinson()}``. Put a legend that would stick out inside the
    figure (``fig.legend(loc="outside right upper")``): the layout is constrained, so nothing is
    drawn past the figure's edge. The style (:data:`STYLE`) stays set for the session, so text
    added later and figures made otherwise get the same fonts.
    """
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    if isinstance(width, str) and width not in WIDTHS:
        raise ValueError(f"width must be one of {sorted(WIDTHS)} or inches, not {width!r}")
    inches = WIDTHS[width] if isinstance(width, str) else float(width)
    mpl.rcParams.update(STYLE)
    size = (inches, 0.6 * inches if height is None else height)
    return plt.subplots(nrows, ncols, figsize=size, layout="constrained", **subplots)


def caption(row) -> str:
    """A short label for one image from whatever its metadata holds: place, country, rendering."""
    place = ", ".join(str(row[c]) for c in ("place", "country") if c in row and str(row[c]) not in ("", "nan"))
    return place + (f"\n{row['condition']}" if "condition" in row else "")


def pairs(query, ref, nearest_idx, nearest_km, n: int = 6, size: float = 1.9):
    """Query images (top row) above their nearest reference image (bottom row), chosen at evenly
    spaced ranks of the distance between them, each captioned with its place and rendering."""
    import matplotlib.pyplot as plt

    order = np.argsort(nearest_km)
    picks = order[np.linspace(0, len(order) - 1, n).astype(int)]
    fig, axes = plt.subplots(2, n, figsize=(n * size, 2 * size + 1.2), squeeze=False)
    for k, i in enumerate(picks):
        j = int(nearest_idx[i])
        axes[0, k].imshow(query.load(int(i)))
        axes[0, k].set_title(f"test: {caption(query.meta.iloc[i])}", fontsize=7)
        axes[1, k].imshow(ref.load(j))
        axes[1, k].set_title(f"nearest train, {nearest_km[i]:.0f} km:\n{caption(ref.meta.iloc[j])}", fontsize=7)
    for ax in axes.ravel():
        ax.set_xticks([]), ax.set_yticks([])
    axes[0, 0].set_ylabel("test location", fontsize=8)
    axes[1, 0].set_ylabel("nearest training\nlocation", fontsize=8)
    fig.tight_layout()
    return fig


def gallery(images, index, titles=None, ncols: int = 6, size: float = 1.8):
    """A grid of images from an :class:`~geosurvey.data.ImageSet` with optional titles."""
    import matplotlib.pyplot as plt

    index = list(index)
    nrows = int(np.ceil(len(index) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * (size + 0.35)), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for k, (ax, i) in enumerate(zip(axes.ravel(), index)):
        ax.imshow(images.load(int(i)))
        if titles is not None:
            ax.set_title(titles[k], fontsize=7)
    fig.tight_layout()
    return fig


def accuracy_curves(table, ax=None, title="Accuracy within distance", styles=None):
    """One line per method (rows of a metrics table) over the 1..2500 km thresholds, log x axis."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for method, row in table.iterrows():
        ys = [row[f"acc@{t}km"] for t in THRESHOLDS_KM]
        ax.plot(THRESHOLDS_KM, ys, marker="o", label=method, **(styles or {}).get(method, {}))
    ax.set_xscale("log")
    ax.set_xticks(THRESHOLDS_KM, [f"{t} km" for t in THRESHOLDS_KM])
    ax.set_ylabel("% of test images within")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    return ax


def training_curves(history, metrics=("train_loss",), ax=None, title="Training", ylabel=None):
    """One line per epoch value (``train_loss``, ``val_geoscore``...) of a :class:`~geosurvey.train.History`."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    epochs = history.column("epoch")
    for m in metrics:
        ax.plot(epochs, history.column(m), marker="o", label=m)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel or ", ".join(metrics))
    ax.legend()
    ax.grid(alpha=0.3)
    ax.set_title(title)
    return ax


def embedding_projection(emb, groups, ax=None, title="Embeddings, first two principal components", size=6):
    """Scatter the first two principal components of ``emb`` coloured by ``groups`` (e.g. continent)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    x = np.asarray(emb, dtype=np.float64)
    x = x - x.mean(0)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    xy = x @ vt[:2].T
    groups = np.asarray(groups, dtype=object)
    for g in sorted(set(groups), key=lambda v: -np.sum(groups == v)):
        m = groups == g
        ax.scatter(xy[m, 0], xy[m, 1], s=size, label=f"{g} ({m.sum()})", alpha=0.7, linewidths=0)
    share = (s[:2] ** 2).sum() / (s ** 2).sum()
    ax.set_title(f"{title} ({100 * share:.0f} % of variance)")
    ax.set_xticks([]), ax.set_yticks([])
    ax.legend(fontsize=7, markerscale=2)
    return ax


def beliefs(images, partition, probs, picks, err_km, k: int = 10):
    """For each picked image: the image (top) and its ``k`` most probable cells on a map (bottom)."""
    import cartopy.crs as ccrs
    import matplotlib.pyplot as plt

    from . import maps

    fig = plt.figure(figsize=(5 * len(picks), 6))
    for j, i in enumerate(picks):
        ax_img = fig.add_subplot(2, len(picks), j + 1)
        ax_img.imshow(images.load(i))
        ax_img.axis("off")
        ax_img.set_title(f"{caption(images.meta.iloc[i]).replace(chr(10), ', ')}\nerror {err_km[i]:.0f} km, "
                         f"top cell p={probs[i].max():.2f}", fontsize=8)
        ax = fig.add_subplot(2, len(picks), len(picks) + j + 1, projection=ccrs.Robinson())
        maps.world(ax=ax)
        maps.cell_probabilities(ax, partition, probs[i], k=k, true=(images.meta.lat[i], images.meta.lon[i]))
    fig.tight_layout()
    return fig


def histories(named: dict, panels: dict, figsize=(11, 3.5)):
    """One panel per epoch value (``{"train_loss": "title", ...}``), one line per named history."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=figsize, squeeze=False)
    for ax, (key, title) in zip(axes[0], panels.items()):
        for name, h in named.items():
            ax.plot(h.column("epoch"), h.column(key), marker="o", label=name)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def retrieval_curves(table, learned, title: str = "Accuracy within distance"):
    """Accuracy curves of ``learned`` methods (solid, one colour each) against every other row
    of ``table`` (the floors: dashed, grey shades), with the legend outside the axes."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    floors = [m for m in table.index if m not in learned]
    styles = {m: {"ls": "--", "color": str(0.25 + 0.5 * k / max(len(floors) - 1, 1))} for k, m in enumerate(floors)}
    accuracy_curves(table.loc[list(learned) + floors], ax=ax, title=title, styles=styles)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def sweep(ev, split: str, settings: dict, chosen: dict, labels, *, metric: str = "geoscore",
          ax=None, title=None):
    """``metric`` with its 95 % interval on test set ``split`` for each setting (x) of each
    partition (``settings[partition]``: its methods in the order of ``labels``, one line each);
    the setting chosen on validation (``chosen[partition]``) is circled."""
    if ax is None:
        _, ax = figure(height=3)
    for k, (name, methods) in enumerate(settings.items()):
        values = [ev.metrics(m, split)[metric] for m in methods]
        ci = np.array([ev.intervals(m, split)[metric] for m in methods])
        xs = np.arange(len(methods)) + 0.08 * (k - 0.5)
        ax.errorbar(xs, values, yerr=[np.subtract(values, ci[:, 0]), np.subtract(ci[:, 1], values)],
                    marker="o", capsize=3, label=name)
        pick = methods.index(chosen[name])
        ax.plot(xs[pick], values[pick], "o", ms=12, mfc="none", color="k")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_xlabel("tau, as a multiple of the cell spacing")
    ax.set_ylabel(f"test {metric} (95 % CI)")
    ax.grid(alpha=0.3)
    ax.set_title(title or split)
    ax.legend(fontsize=7)
    return ax


def label_distributions(table):
    """Bar charts of the class columns and histograms of the numeric columns of a table."""
    import matplotlib.pyplot as plt

    cols = list(table.columns)
    fig, axes = plt.subplots(1, len(cols), figsize=(4 * len(cols), 3.6))
    for ax, col in zip(axes, cols):
        if table[col].dtype == object:
            counts = table[col].value_counts().head(10)[::-1]
            ax.barh([str(c)[:22] for c in counts.index], counts.to_numpy())
            ax.set_xlabel("training locations")
            ax.tick_params(axis="y", labelsize=7)
        else:
            ax.hist(table[col], bins=40)
            ax.set_xlabel(col)
            ax.set_ylabel("training locations")
        ax.set_title(col)
    fig.tight_layout()
    return fig


def error_distribution(errors: dict):
    """Cumulative share of test images within each error distance (log scale), one line per method."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, d in errors.items():
        d = np.sort(np.maximum(np.asarray(d), 0.1))
        ax.plot(d, 100 * np.arange(1, len(d) + 1) / len(d), label=name)
    for t in THRESHOLDS_KM:
        ax.axvline(t, color="grey", lw=0.5, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("error (km)")
    ax.set_ylabel("% of test images within")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def error_histogram(error_km, ax=None, title: str = "", bins: int = 40):
    """Histogram of errors on a log axis with the mean and the median marked (Lo et al.'s
    Figs. 13-14)."""
    if ax is None:
        _, ax = figure(height=2.8)
    d = np.maximum(np.asarray(error_km, np.float64), 1.0)
    ax.hist(d, bins=np.geomspace(1, 20000, bins), color="C0", alpha=0.8)
    for value, colour, name in ((d.mean(), "C3", "mean"), (np.median(d), "k", "median")):
        ax.axvline(value, color=colour, ls="--", lw=1, label=f"{name} {value:,.0f} km")
    ax.set_xscale("log")
    ax.set_xlabel("error (km)")
    ax.set_ylabel("test images")
    ax.set_title(title)
    ax.legend(fontsize=7)
    return ax


def confusion(true, pred, names, title: str = "Scene classifier (test split)"):
    """Confusion matrix normalised per true class (rows), with the share in each square."""
    import matplotlib.pyplot as plt

    n = len(names)
    m = np.zeros((n, n))
    np.add.at(m, (np.asarray(true), np.asarray(pred)), 1)
    share = m / np.maximum(m.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.2 * n + 2, 1.1 * n + 1))
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{100 * share[i, j]:.0f} %\n({int(m[i, j])})", ha="center", va="center", fontsize=8,
                    color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(n), names, rotation=30, ha="right")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted scene")
    ax.set_ylabel("true scene")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="share of the true class")
    fig.tight_layout()
    return fig


def by_regime(ev, methods, regimes, *, metric: str = "geoscore", ax=None):
    """``metric`` with its 95 % interval for each method (lines) on each regime's test set (x)."""
    if ax is None:
        _, ax = figure(height=3)
    for k, m in enumerate(methods):
        ys = [ev.metrics(m, r.test)[metric] for r in regimes]
        ci = np.array([ev.intervals(m, r.test)[metric] for r in regimes])
        xs = np.arange(len(regimes)) + 0.04 * (k - len(methods) / 2)
        ax.errorbar(xs, ys, yerr=[np.subtract(ys, ci[:, 0]), np.subtract(ci[:, 1], ys)], marker="o",
                    capsize=2, label=m)
    ax.set_xticks(range(len(regimes)), [r.name for r in regimes])
    ax.set_ylabel(f"{metric} (95 % CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    return ax


def accuracy_vs_cost(cost, score, label: str = "GeoScore (seen places)"):
    """Each family's score against its training time and its inference speed (log scales);
    a family that trains nothing is drawn at the left edge and says so."""
    fig, axes = figure(ncols=2, height=3, sharey=True)
    for ax, col, xlabel in ((axes[0], "train_seconds", "training time (s, this machine)"),
                            (axes[1], "images_per_s", "inference speed (images/s)")):
        trained = cost[col] > 0
        low = float(cost.loc[trained, col].min()) / 3 if trained.any() else 1.0
        for k, (family, row) in enumerate(cost.iterrows()):
            x = float(row[col]) if row[col] > 0 else low
            ax.scatter(x, score[family], color=f"C{k}", label=family if ax is axes[0] else None)
        ax.set_xscale("log")
        ax.set_xlabel(xlabel + ("; none: at the left edge" if (~trained).any() else ""))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(label)
    fig.legend(loc="outside lower center", ncols=3, fontsize=7)
    return fig
