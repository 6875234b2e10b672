"""Uncertainty of the book's numbers: block bootstrap, seeds, and many claims at once.

Three things vary between two runs of the same experiment, and an interval should cover
each:

* **Which test images.** Test locations cluster (about a third have another within 5
  km), so resampling single images pretends to more independent evidence than there is.
  We resample *spatial blocks*: S2 cells of level :data:`BLOCK_LEVEL` (about 300 km
  across) holding the true locations, all images of a drawn block together. On the
  new-places test of GeoTiles the block is the held-out disc: the images of one disc
  share which ground was held out, so the discs, not cells inside them, are the
  independent evidence. A difference resting on fewer than :data:`MIN_BLOCKS` blocks
  (a continent's two discs) is never decisive: so few draws make no interval.
* **Which seed.** A seed changes the split, the rendering and the training. Where
  results of several seeds exist, a replicate first draws seeds with replacement, then
  blocks within each, and averages the seeds' differences (a two-level bootstrap).
* **How many claims.** A chapter judges dozens of claims; at 95 % one in twenty would
  pass by chance. Verdicts use Holm's step-down correction of the claims' p-values
  within a chapter.

Every replicate is a vector of row *weights* (how often each row was drawn), so one
matrix product gives a metric for all replicates, and two methods evaluated on the same
rows share the same replicates: the interval of their difference is paired.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from . import s2
from .cache import fingerprint
from .geo import geoscore

N_BOOTSTRAP = 1000
BLOCK_LEVEL = 5
MIN_BLOCKS = 5
ALPHA = 0.05


def blocks(lat, lon, level: int = BLOCK_LEVEL) -> np.ndarray:
    """Block index (0..k-1) of every point: the S2 cell of ``level`` that holds it."""
    return np.unique(s2.cell_ids(lat, lon, level), return_inverse=True)[1].reshape(-1)


def block_weights(block, n_boot: int = N_BOOTSTRAP, seed: int = 0) -> np.ndarray:
    """(n_boot, rows) weights: each replicate draws as many blocks as there are, with
    replacement, and a row weighs as often as its block was drawn. The draws depend only
    on ``block`` and ``seed``, so every method evaluated on these rows gets the same
    replicates."""
    block = np.asarray(block)
    n_blocks = int(block.max()) + 1 if block.size else 0
    rng = np.random.default_rng([seed, int(fingerprint(block)[:8], 16)])
    drawn = rng.integers(0, n_blocks, (n_boot, n_blocks))
    counts = np.zeros((n_boot, n_blocks), np.float64)
    np.add.at(counts, (np.arange(n_boot)[:, None], drawn), 1.0)
    return counts[:, block]


def weighted_quantile(values, weights, q: float) -> np.ndarray:
    """Per replicate (row of ``weights``), the smallest value whose cumulative weight
    reaches ``q`` of the total: numpy's ``inverted_cdf`` quantile of the resampled rows.
    """
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[:, order], axis=1)
    idx = (cum < q * cum[:, -1:] - 1e-9).sum(1)
    return np.asarray(values)[order][np.minimum(idx, len(order) - 1)]


def weighted_metrics(d, weights, thresholds, hits=None) -> dict:
    """Every metric of :func:`geosurvey.metrics.summarize` for each replicate of
    ``weights``."""
    d = np.asarray(d, np.float64)
    total = weights.sum(1)

    def mean(x):
        return weights @ np.asarray(x, np.float64) / total

    out = {f"acc@{t}km": 100.0 * mean(d <= t) for t in thresholds}
    out.update(
        median_km=weighted_quantile(d, weights, 0.5),
        mean_km=mean(d),
        q1_km=weighted_quantile(d, weights, 0.25),
        q3_km=weighted_quantile(d, weights, 0.75),
        geoscore=mean(geoscore(d)),
    )
    if hits is not None:
        out["country_acc"] = 100.0 * mean(hits)
    return out


def pooled(samples, seed: int = 0) -> np.ndarray:
    """Replicates of the mean over seeds: ``samples[s]`` are the (n_boot,) replicates of
    seed ``s``; replicate b draws ``len(samples)`` seeds with replacement and averages
    one replicate of each (a different one for each draw, so a seed drawn twice is not
    counted as the same evidence twice)."""
    samples = np.stack([np.asarray(s, np.float64) for s in samples])
    n_seeds, n_boot = samples.shape
    rng = np.random.default_rng([seed, 13, n_seeds])
    which = rng.integers(0, n_seeds, (n_boot, n_seeds))
    replicate = (np.arange(n_boot)[:, None] + 7919 * np.arange(n_seeds)[None]) % n_boot
    return samples[which, replicate].mean(1)


def interval(samples) -> list:
    """The central 95 % of bootstrap replicates."""
    lo, hi = np.percentile(np.asarray(samples, np.float64), [2.5, 97.5])
    return [float(lo), float(hi)]


def p_value(point: float, samples) -> float:
    """Two-sided p-value of "no difference": the point difference over the replicates'
    standard error, against a normal distribution."""
    se = float(np.std(np.asarray(samples, np.float64), ddof=1))
    if se == 0.0:
        return 1.0 if point == 0 else 0.0
    return float(2 * norm.sf(abs(point) / se))


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values: a claim passes at ``ALPHA`` when its adjusted
    p-value is below it, which keeps the chance of *any* false finding at ``ALPHA``."""
    p = np.asarray(p_values, np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out
