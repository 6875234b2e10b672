"""The block bootstrap, seed pooling, p-values and Holm's correction of geosurvey.stats,
each checked against a reference written out the long way."""

import numpy as np
import pytest
from scipy.stats import t as student

from geosurvey import cache, metrics, s2, stats
from geosurvey.geo import geoscore

THRESHOLDS = metrics.THRESHOLDS_KM


def _drawn_blocks(block, n_boot, seed=0):
    """The blocks each replicate of ``stats.block_weights`` draws, as its docstring
    says: as many blocks as exist, with replacement, from a generator seeded by the seed
    and the block array's bytes."""
    block = np.asarray(block)
    n_blocks = int(block.max()) + 1
    rng = np.random.default_rng([seed, int(cache.fingerprint(block)[:8], 16)])
    return rng.integers(0, n_blocks, (n_boot, n_blocks))


def _example(n=60, n_blocks=9, seed=0):
    """Errors (km, with ties), country hits and block labels of a small test set."""
    rng = np.random.default_rng(seed)
    d = rng.choice([0.5, 3.0, 20.0, 25.0, 150.0, 700.0, 750.0, 1800.0, 2600.0], n)
    d = d + np.where(rng.random(n) < 0.5, 0.0, rng.uniform(0, 400, n))
    hits = rng.random(n) < 0.6
    block = rng.permutation(np.arange(n) % n_blocks)
    return d, hits, block


# --- block weights --------------------------------------------------------------------


def test_each_replicate_draws_as_many_blocks_as_exist_and_a_block_shares_its_weight():
    _, _, block = _example()
    w = stats.block_weights(block, n_boot=200)
    assert w.shape == (200, len(block))
    n_blocks = block.max() + 1
    first_row = np.array([np.flatnonzero(block == b)[0] for b in range(n_blocks)])
    per_block = w[:, first_row]  # how often each block was drawn in each replicate
    np.testing.assert_array_equal(per_block.sum(1), np.full(200, n_blocks))
    for b in range(n_blocks):  # every row of a block weighs what its block does
        np.testing.assert_array_equal(
            w[:, block == b], per_block[:, [b]].repeat((block == b).sum(), 1)
        )
    assert (w >= 0).all() and np.array_equal(w, np.round(w))
    # with replacement: some twice, some never
    assert (per_block == 0).any() and (per_block >= 2).any()


def test_weights_are_those_of_the_documented_draw():
    _, _, block = _example()
    drawn = _drawn_blocks(block, 50)
    expected = np.zeros((50, len(block)))
    for r in range(50):
        for b in drawn[r]:
            expected[r, block == b] += 1
    np.testing.assert_array_equal(stats.block_weights(block, n_boot=50), expected)


def test_weights_depend_only_on_the_blocks_and_the_seed():
    _, _, block = _example()
    a = stats.block_weights(block, n_boot=100)
    np.testing.assert_array_equal(a, stats.block_weights(block.copy(), n_boot=100))
    assert not np.array_equal(a, stats.block_weights(block, n_boot=100, seed=1))
    other = block.copy()
    j = int(np.flatnonzero(block != block[0])[0])
    other[[0, j]] = other[[j, 0]]  # two rows change blocks: other rows, other draws
    assert not np.array_equal(a, stats.block_weights(other, n_boot=100))


def test_two_methods_on_the_same_rows_get_the_same_replicates():
    """Paired intervals: the replicates of a difference are the difference of the
    replicates."""
    import pandas as pd

    from geosurvey.evaluation import Evaluations

    rng = np.random.default_rng(3)
    lat, lon = rng.uniform(-50, 50, 80), rng.uniform(-170, 170, 80)
    ev = Evaluations({"test": pd.DataFrame({"lat": lat, "lon": lon})})
    # degrees due north of the truth: errors differ by row
    north = rng.uniform(0.0, 5.0, 80)
    ev.add("a", "test", lat + north, lon)
    ev.add("b", "test", lat + north + 1.0, lon)  # 111 km worse on every row
    w = stats.block_weights(stats.blocks(lat, lon))
    np.testing.assert_array_equal(ev.sets["test"].bootstrap("Global"), w)
    sa, sb = ev.samples("a", "test")["mean_km"], ev.samples("b", "test")["mean_km"]
    np.testing.assert_allclose(sa, w @ ev.errors("a", "test") / w.sum(1), rtol=1e-12)
    np.testing.assert_allclose(
        sb - sa,
        w @ (ev.errors("b", "test") - ev.errors("a", "test")) / w.sum(1),
        rtol=1e-9,
    )
    assert np.std(sb - sa) < 0.05 * np.std(sa)  # the shared noise cancels


def test_blocks_are_the_cells_of_the_finest_block_level_by_default():
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(40, 50, 300), rng.uniform(0, 20, 300)
    b = stats.blocks(lat, lon)
    cells = s2.cell_ids(lat, lon, stats.BLOCK_LEVELS[0])
    assert b.min() == 0 and b.max() == len(np.unique(cells)) - 1
    for c in np.unique(cells):  # one block per cell, one cell per block
        assert len(np.unique(b[cells == c])) == 1
    assert len(np.unique(b)) == len(np.unique(cells))


# --- weighted metrics against the resampled rows --------------------------------------


def test_weighted_quantiles_are_the_inverted_cdf_quantiles_of_the_expanded_sample():
    rng = np.random.default_rng(1)
    values = rng.choice([1.0, 2.0, 2.0, 5.0, 7.5, 9.0, 11.0, 40.0], 30) + rng.integers(
        0, 3, 30
    )
    weights = rng.integers(0, 4, (40, 30)).astype(float)
    weights[:, 0] += 1  # no empty replicate
    qs = (0.1, 0.25, 0.5, 0.75, 0.9, 1.0)
    for q, got in zip(qs, stats.weighted_quantiles(values, weights, qs), strict=True):
        for r in range(len(weights)):
            expanded = np.repeat(values, weights[r].astype(int))
            assert got[r] == np.quantile(expanded, q, method="inverted_cdf")


def _naive_metrics(d, hits, rows):
    """Every metric of the resampled rows ``rows``, with numpy on the rows
    themselves."""
    x, h = d[rows], hits[rows]
    out = {f"acc@{t}km": 100.0 * np.mean(x <= t) for t in THRESHOLDS}
    out.update(
        median_km=np.percentile(x, 50, method="inverted_cdf"),
        mean_km=np.mean(x),
        q1_km=np.percentile(x, 25, method="inverted_cdf"),
        q3_km=np.percentile(x, 75, method="inverted_cdf"),
        geoscore=np.mean(geoscore(x)),
        country_acc=100.0 * np.mean(h),
    )
    return out


def test_weighted_metrics_equal_the_metrics_of_explicitly_resampled_rows():
    d, hits, block = _example()
    n_boot = 60
    drawn = _drawn_blocks(block, n_boot)
    got = stats.weighted_metrics(
        d, stats.block_weights(block, n_boot=n_boot), THRESHOLDS, hits
    )
    assert set(got) == {
        *(f"acc@{t}km" for t in THRESHOLDS),
        "median_km",
        "mean_km",
        "q1_km",
        "q3_km",
        "geoscore",
        "country_acc",
    }
    for r in range(n_boot):
        rows = np.concatenate([np.flatnonzero(block == b) for b in drawn[r]])
        expected = _naive_metrics(d, hits, rows)
        for name, value in expected.items():
            if name.endswith("_km") and name != "mean_km":
                # a quantile is one of the values
                assert got[name][r] == value, (name, r)
            else:
                assert got[name][r] == pytest.approx(value, rel=1e-12, abs=1e-12), (
                    name,
                    r,
                )


def test_weighted_metrics_without_hits_have_no_country_accuracy():
    d, _, block = _example()
    assert "country_acc" not in stats.weighted_metrics(
        d, stats.block_weights(block, n_boot=5), THRESHOLDS
    )


def test_the_replicate_that_draws_every_row_once_gives_the_point_estimate():
    """Weights of one for every row are the test set itself: every bootstrapped metric
    must then be the metric ``metrics.summarize`` reports, or an interval is not about
    its point."""
    d, hits, _ = _example(n=60)
    point = metrics.summarize(d, hits)
    once = stats.weighted_metrics(d, np.ones((1, len(d))), THRESHOLDS, hits)
    for name, value in once.items():
        assert value[0] == pytest.approx(point[name], rel=1e-12), name


# --- seeds ----------------------------------------------------------------------------


def _naive_pooled(samples, seed):
    """``stats.pooled`` written as a loop: replicate b draws as many seeds as there are,
    with replacement, and takes replicate (b + 7919 j) mod n_boot of the j-th seed it
    drew."""
    samples = np.asarray(samples, np.float64)
    n_seeds, n_boot = samples.shape
    which = np.random.default_rng([seed, 13, n_seeds]).integers(
        0, n_seeds, (n_boot, n_seeds)
    )
    out = np.empty(n_boot)
    for b in range(n_boot):
        out[b] = np.mean(
            [samples[which[b, j], (b + 7919 * j) % n_boot] for j in range(n_seeds)]
        )
    return out


@pytest.mark.parametrize("n_seeds", [2, 3])
def test_pooled_follows_its_documented_two_level_draw(n_seeds):
    rng = np.random.default_rng(5)
    samples = [rng.normal(s, 1.0, 400) for s in range(n_seeds)]
    np.testing.assert_allclose(
        stats.pooled(samples, seed=2), _naive_pooled(samples, 2), rtol=1e-12
    )


def test_identical_seeds_pool_to_the_same_centre_with_fresh_replicates():
    reps = np.random.default_rng(0).normal(10.0, 2.0, 1000)
    pooled = stats.pooled([reps, reps, reps])
    assert pooled.mean() == pytest.approx(reps.mean(), rel=1e-12)
    # a seed drawn several times contributes different replicates, never one replicate
    # twice: the pooled replicates are means of three distinct draws, about sqrt(3)
    # times tighter
    assert np.std(pooled) == pytest.approx(np.std(reps) / np.sqrt(3), rel=0.15)
    single = stats.pooled([reps])
    np.testing.assert_allclose(single, reps)


def test_a_shift_in_one_seed_moves_the_pooled_mean_by_shift_over_seeds():
    rng = np.random.default_rng(1)
    samples = [rng.normal(0.0, 1.0, 1000) for _ in range(4)]
    base = stats.pooled(samples)
    shifted = stats.pooled([samples[0], samples[1] + 8.0, samples[2], samples[3]])
    assert shifted.mean() - base.mean() == pytest.approx(8.0 / 4, rel=0.1)
    which = np.random.default_rng([0, 13, 4]).integers(0, 4, (1000, 4))
    assert shifted.mean() - base.mean() == pytest.approx(
        8.0 * np.mean(which == 1), rel=1e-9
    )


# --- p-values, intervals and Holm -----------------------------------------------------


def _enumerated_sign_flip(sums):
    """The sign-flip p-value written out the long way: every assignment of signs."""
    import itertools

    observed = abs(sum(sums))
    totals = [
        abs(sum(e * x for e, x in zip(signs, sums)))
        for signs in itertools.product((1, -1), repeat=len(sums))
    ]
    return sum(t >= observed - 1e-9 for t in totals) / len(totals)


@pytest.mark.parametrize("seed", range(4))
def test_sign_flip_p_is_the_enumerated_one(seed):
    rng = np.random.default_rng(seed)
    sums = rng.normal(0.8, 1.0, 9) * rng.integers(1, 30, 9)
    assert stats.sign_flip_p(sums) == pytest.approx(_enumerated_sign_flip(sums))


def test_sign_flip_p_beyond_exact_enumeration_is_close_to_it():
    rng = np.random.default_rng(5)
    sums = rng.normal(0.5, 1.0, stats.EXACT_FLIPS + 2)
    exact = _enumerated_sign_flip(sums)
    assert stats.sign_flip_p(sums) == pytest.approx(exact, abs=0.01)


def test_sign_flip_p_cannot_go_below_its_floor():
    for g in (3, 5, 8):
        assert stats.sign_flip_p(np.full(g, 7.0)) == pytest.approx(stats.p_floor(g))
    assert stats.p_floor(8) == pytest.approx(0.0078125) and stats.p_floor(0) == 1.0
    assert stats.sign_flip_p(np.zeros(5)) == 1.0 and stats.sign_flip_p([]) == 1.0


def test_t_p_has_blocks_minus_one_degrees_of_freedom_and_the_floor():
    reps = np.random.default_rng(0).normal(0.0, 2.0, 1000)
    se = np.std(reps, ddof=1)
    assert stats.t_p(0.0, reps, 30) == pytest.approx(1.0)
    assert stats.t_p(2.5 * se, reps, 30) == pytest.approx(2 * student.sf(2.5, 29))
    assert stats.t_p(-2.5 * se, reps, 30) == stats.t_p(2.5 * se, reps, 30)
    # heavier tails than the normal: fewer blocks, larger p
    assert stats.t_p(3 * se, reps, 6) > stats.t_p(3 * se, reps, 60)
    # however large the difference, never below what the blocks allow
    assert stats.t_p(100 * se, reps, 6) == stats.p_floor(6)
    assert stats.t_p(1.0, reps, 1) == 1.0


def test_block_test_uses_the_sign_flip_for_means_and_t_otherwise():
    reps = np.random.default_rng(0).normal(0.0, 1.0, 200)
    p, name = stats.block_test(1.0, reps, 5, block_sums=np.ones(5))
    assert p == pytest.approx(2 / 32) and name == "sign-flip over 5 blocks"
    p, name = stats.block_test(1.0, reps, 5)
    assert p == stats.t_p(1.0, reps, 5) and name == "t, 4 df"


def test_detectable_effect_is_the_power_formula_or_none():
    se, g, alpha = 2.0, 41, 0.001
    expected = (student.ppf(1 - alpha / 2, 40) + student.ppf(0.8, 40)) * se
    assert stats.detectable(se, g, alpha) == pytest.approx(expected)
    # eight blocks cannot reach 0.001 at all
    assert stats.detectable(se, 8, alpha) == float("inf")
    assert stats.detectable(se, 8, 0.05) < float("inf")


def test_block_level_is_coarse_where_neighbours_correlate():
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(-50, 60, 1500), rng.uniform(-150, 150, 1500)
    noise = rng.normal(0, 1, 1500)
    assert stats.block_level(noise, lat, lon)[0] == stats.BLOCK_LEVELS[0]
    # a smooth field over thousands of km: neighbouring cells share it
    smooth = np.sin(np.radians(lon) * 2) + np.cos(np.radians(lat) * 3)
    level, r = stats.block_level(smooth + 0.1 * noise, lat, lon)
    assert level == stats.BLOCK_LEVELS[-1] and r >= stats.INDEPENDENT_R
    assert stats.neighbour_correlation(smooth, lat, lon, 4) > 0.5
    assert abs(stats.neighbour_correlation(noise, lat, lon, 4)) < 0.1
    assert stats.edge_km(4) == pytest.approx(576, abs=5)


def test_interval_is_the_central_95_percent():
    reps = np.arange(1001.0)
    assert stats.interval(reps) == [25.0, 975.0]


def test_holm_on_a_hand_computed_example():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 ->
    # running max 0.06
    np.testing.assert_allclose(stats.holm(p), [0.03, 0.06, 0.06, 0.02])
    # capped at one
    np.testing.assert_allclose(stats.holm([0.2, 0.5, 0.9]), [0.6, 1.0, 1.0])
    # one claim: nothing to correct
    np.testing.assert_allclose(stats.holm([0.03]), [0.03])
    assert stats.holm([]).shape == (0,)


def test_holm_is_monotone_at_least_the_raw_p_and_at_most_one():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = rng.uniform(0, 0.2, rng.integers(2, 30)) ** 2
        adj = stats.holm(p)
        order = np.argsort(p)
        assert np.all(np.diff(adj[order]) >= 0)
        assert np.all(adj >= p) and np.all(adj <= 1.0)
        assert adj.min() == pytest.approx(min(1.0, p.min() * len(p)))


def test_fixed_blocks_that_share_a_smooth_field_are_flagged_as_correlated():
    rng = np.random.default_rng(1)
    centres = rng.uniform([-40, -120], [60, 120], (30, 2))  # 30 discs
    disc = rng.integers(0, 30, 1500)
    lat = centres[disc, 0] + rng.normal(0, 1, 1500)
    lon = centres[disc, 1] + rng.normal(0, 1, 1500)
    smooth = np.sin(np.radians(lon) * 2) + np.cos(np.radians(lat) * 3)
    far = stats.edge_km(stats.BLOCK_LEVELS[-1])
    assert stats.blocks_correlation(smooth, lat, lon, disc, far) > 0.3
    # noise shared only within a disc is no correlation between discs
    own = rng.normal(0, 1, 30)[disc] + 0.1 * rng.normal(0, 1, 1500)
    assert abs(stats.blocks_correlation(own, lat, lon, disc, far)) < 0.1
    # one block, or blocks farther apart than the distance, give no pairs at all
    assert np.isnan(stats.blocks_correlation(smooth, lat, lon, np.zeros(1500), far))
    assert np.isnan(stats.blocks_correlation(smooth, lat, lon, disc, 1.0))
