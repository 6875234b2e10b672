"""Uncertainty of the book's numbers: spatial blocks, tests valid with few of them,
seeds, and many claims at once.

Three things vary between two runs of the same experiment, and a verdict should hold
against each:

* **Which test images.** Test locations cluster (about a third have another within 5
  km), and errors of nearby images go together, so resampling single images pretends to
  more independent evidence than there is. Images are grouped in *spatial blocks*, and
  blocks, not images, are the units of evidence. On seen places a block is an S2 cell,
  as coarse as the claim needs: the finest of :data:`BLOCK_LEVELS` (never smaller than
  a tile) at which the paired differences of images in *neighbouring* blocks no longer
  correlate (:func:`block_level`, a correlogram). On the new-places test of GeoTiles
  the block is the held-out disc (discs close enough to share ground merged into one).
* **Which model.** Training and model selection vary between runs. A seed changes the
  split, the rendering and the training; a verdict that holds at one seed is reported
  as that seed's, and is called *stable* only when every seed gives it.
* **How many claims.** A chapter judges dozens of claims; at 95 % one in twenty would
  pass by chance. Verdicts use Holm's step-down correction within a chapter.

Intervals come from the block bootstrap: every replicate is a vector of row *weights*
(how often each row's block was drawn), so one matrix product gives a metric for all
replicates, and two methods evaluated on the same rows share the same replicates: the
interval of their difference is paired. p-values come from a test that is valid with
few blocks (:func:`block_test`): a sign-flip test of the blocks' summed differences
where the metric is a mean, else a t test with ``blocks - 1`` degrees of freedom, never
below what a sign-flip test on that many blocks can give (``2 ** (1 - blocks)``).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.stats import t as student

from . import s2
from .cache import fingerprint
from .geo import EARTH_RADIUS_KM, geoscore, haversine

N_BOOTSTRAP = 1000
# seen-places block levels, finest first: S2 level 4 (~580 km across, a tile's side or
# more), 3 (~1,150 km), 2 (~2,300 km) and 1 (~4,600 km, a continent)
BLOCK_LEVELS = (4, 3, 2, 1)
# neighbouring blocks count as independent below this correlation of paired differences
INDEPENDENT_R = 0.1
CORRELOGRAM_ROWS = 2000  # rows the correlogram looks at (a seeded sample beyond)
EXACT_FLIPS = 16  # a sign-flip test enumerates every flip up to this many blocks
RANDOM_FLIPS = 20_000  # random flips beyond it
ALPHA = 0.05
POWER = 0.8  # of the minimum detectable effect


def blocks(lat, lon, level: int = BLOCK_LEVELS[0]) -> np.ndarray:
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
    flat = (np.arange(n_boot)[:, None] * n_blocks + drawn).ravel()
    counts = np.bincount(flat, minlength=n_boot * n_blocks).astype(np.float64)
    return counts.reshape(n_boot, n_blocks)[:, block]


def weighted_quantiles(values, weights, qs) -> list:
    """For each ``q`` of ``qs``, per replicate (row of ``weights``), the smallest value
    whose cumulative weight reaches ``q`` of the total: numpy's ``inverted_cdf``
    quantile of the resampled rows."""
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[:, order], axis=1)
    ranked = np.asarray(values)[order]
    last = len(order) - 1
    return [ranked[np.minimum((cum < q * cum[:, -1:] - 1e-9).sum(1), last)] for q in qs]


def weighted_metrics(d, weights, thresholds, hits=None) -> dict:
    """Every metric of :func:`geosurvey.metrics.summarize` for each replicate of
    ``weights``."""
    d = np.asarray(d, np.float64)
    total = weights.sum(1)

    def mean(x):
        return weights @ np.asarray(x, np.float64) / total

    out = {f"acc@{t}km": 100.0 * mean(d <= t) for t in thresholds}
    median, q1, q3 = weighted_quantiles(d, weights, (0.5, 0.25, 0.75))
    out.update(
        median_km=median,
        mean_km=mean(d),
        q1_km=q1,
        q3_km=q3,
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


def edge_km(level: int) -> float:
    """The mean side (km) of an S2 cell of ``level``: the square root of its mean
    area."""
    return float(np.sqrt(4 * np.pi * EARTH_RADIUS_KM**2 / (6 * 4**level)))


def neighbour_correlation(values, lat, lon, level: int, seed: int = 0) -> float:
    """The correlation of ``values`` (centred) between images in *different* S2 cells
    of ``level`` that lie within one cell side of each other: how much neighbouring
    blocks still share. NaN where fewer than 20 such pairs exist."""
    cells = s2.cell_ids(np.asarray(lat, np.float64), np.asarray(lon, np.float64), level)
    return blocks_correlation(values, lat, lon, cells, edge_km(level), seed=seed)


def blocks_correlation(values, lat, lon, block, km: float, seed: int = 0) -> float:
    """The correlation of ``values`` (centred) between images in *different* blocks
    (``block``: each image's) that lie within ``km`` of each other: how much
    neighbouring blocks still share. NaN where fewer than 20 such pairs exist."""
    values, lat, lon = (np.asarray(a, np.float64) for a in (values, lat, lon))
    block, keep = np.asarray(block, np.int64), np.arange(len(values))
    if len(values) > CORRELOGRAM_ROWS:
        keep = np.random.default_rng([seed, 17]).choice(
            len(values), CORRELOGRAM_ROWS, replace=False
        )
    x = values[keep] - values[keep].mean()
    args = (lat[keep], lon[keep], block[keep])
    i, j = _pairs_apart(*(a.tobytes() for a in args), km)
    if len(i) < 20 or x.var() == 0:
        return float("nan")
    return float(np.mean(x[i] * x[j]) / x.var())


@functools.lru_cache(maxsize=32)
def _pairs_apart(lat: bytes, lon: bytes, block: bytes, km: float) -> tuple:
    """(i, j), i < j: points in different blocks within ``km`` of each other."""
    lat, lon = np.frombuffer(lat), np.frombuffer(lon)
    block = np.frombuffer(block, np.int64)
    near = haversine(lat[:, None], lon[:, None], lat[None], lon[None]) <= km
    i, j = np.nonzero(np.triu(near & (block[:, None] != block[None]), 1))
    return i.astype(np.int32), j.astype(np.int32)


def block_level(values, lat, lon, levels=BLOCK_LEVELS) -> tuple:
    """(the finest of ``levels`` whose neighbouring blocks are independent for these
    paired differences, correlation below :data:`INDEPENDENT_R`, or the coarsest where
    none is; the neighbours' correlation at that level)."""
    for level in levels:
        r = neighbour_correlation(values, lat, lon, level)
        if not r >= INDEPENDENT_R:  # NaN: too few neighbours to share anything
            return level, r
    return levels[-1], r


def p_floor(n_blocks: int) -> float:
    """The smallest two-sided p-value a sign-flip test on ``n_blocks`` blocks can
    give."""
    return min(1.0, 2.0 ** (1 - n_blocks)) if n_blocks > 0 else 1.0


def sign_flip_p(block_sums, seed: int = 0) -> float:
    """Two-sided p-value of "no difference" from the blocks' summed paired differences:
    the share of sign flips (every one up to :data:`EXACT_FLIPS` blocks, else
    :data:`RANDOM_FLIPS` random ones and the observed) whose total is at least as far
    from zero as the observed one."""
    s = np.asarray(block_sums, np.float64)
    g = len(s)
    if g == 0:
        return 1.0
    # ties within rounding count as at least as far (sums often lie on a lattice)
    observed = abs(s.sum()) - 1e-9 * np.abs(s).sum()
    if g <= EXACT_FLIPS:
        signs = 1 - 2 * ((np.arange(2**g)[:, None] >> np.arange(g)) & 1)
        return float(np.mean(np.abs(signs @ s) >= observed))
    rng, hits = np.random.default_rng([seed, 19, g]), 0
    for start in range(0, RANDOM_FLIPS, 1000):  # in chunks: thousands of blocks fit
        signs = rng.choice([-1.0, 1.0], (min(1000, RANDOM_FLIPS - start), g))
        hits += int(np.sum(np.abs(signs @ s) >= observed))
    return float((1 + hits) / (1 + RANDOM_FLIPS))


def t_p(point: float, samples, n_blocks: int) -> float:
    """Two-sided p-value of "no difference": the point difference over the replicates'
    standard error, against a t distribution with ``n_blocks - 1`` degrees of freedom,
    never below :func:`p_floor`."""
    if n_blocks < 2:
        return 1.0
    se = float(np.std(np.asarray(samples, np.float64), ddof=1))
    if se == 0.0:
        return 1.0 if point == 0 else p_floor(n_blocks)
    return max(float(2 * student.sf(abs(point) / se, n_blocks - 1)), p_floor(n_blocks))


def block_test(point: float, samples, n_blocks: int, block_sums=None) -> tuple:
    """(p-value, the test's name): :func:`sign_flip_p` where the blocks' summed
    differences are given (a metric that is a mean over images), else :func:`t_p`."""
    if block_sums is not None:
        return sign_flip_p(block_sums), f"sign-flip over {n_blocks} blocks"
    return t_p(point, samples, n_blocks), f"t, {max(n_blocks - 1, 0)} df"


def detectable(se: float, n_blocks: int, alpha: float) -> float:
    """The minimum detectable effect: the difference a two-sided test at ``alpha``
    finds with probability :data:`POWER`, given the difference's standard error ``se``
    and a t with ``n_blocks - 1`` degrees of freedom; infinite where ``n_blocks``
    cannot reach ``alpha`` at all (:func:`p_floor`)."""
    if n_blocks < 2 or p_floor(n_blocks) > alpha:
        return float("inf")
    df = n_blocks - 1
    return float((student.ppf(1 - alpha / 2, df) + student.ppf(POWER, df)) * se)


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
