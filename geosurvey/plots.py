"""Figures that several chapters draw: tile galleries, accuracy-vs-threshold curves, training curves."""

from __future__ import annotations

import numpy as np

from .metrics import THRESHOLDS_KM


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


def training_curves(history, metrics=("train_loss", "val_loss"), ax=None, title="Training"):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    epochs = history.column("epoch")
    for m in metrics:
        ax.plot(epochs, history.column(m), marker="o", label=m)
    ax.set_xlabel("epoch")
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
