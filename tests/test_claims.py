"""Claims judged over regimes, seeds and many claims at once (geosurvey.claims), on
synthetic methods whose errors are known exactly."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from geosurvey import claims as cl
from geosurvey import regimes, report, stats
from geosurvey.claims import Claim, Claims
from geosurvey.evaluation import Evaluations
from geosurvey.geo import destination


def _meta(n, seed):
    rng = np.random.default_rng(seed)
    continent = np.where(np.arange(n) % 2 == 0, "Europe", "Asia")
    return pd.DataFrame(
        {
            "lat": rng.uniform(-55, 55, n),
            "lon": rng.uniform(-170, 170, n),
            "continent": continent,
        }
    )


def _add(ev, method, split, d_km):
    """Predictions ``d_km`` due north of the true locations: errors of exactly
    ``d_km``."""
    meta = ev.sets[split].meta
    lat, lon = destination(
        meta["lat"].to_numpy(), meta["lon"].to_numpy(), 0.0, np.asarray(d_km, float)
    )
    ev.add(method, split, lat, lon)


def _evaluations(
    gap_seen=300.0, gap_new=300.0, n=300, seed=0, splits=("test", "test_new")
):
    """Methods "a" and "b" on the same rows of each split, "b" ``gap`` km worse on every
    row."""
    ev = Evaluations({s: _meta(n, seed + 10 * k) for k, s in enumerate(splits)})
    rng = np.random.default_rng(seed + 1)
    for split in splits:
        d = rng.uniform(0, 2000, n)
        gap = gap_new if split.startswith("test_new") else gap_seen
        _add(ev, "a", split, d)
        _add(ev, "b", split, d + gap)
    return ev


def _claims(ev, *claims, regs=regimes.REGIMES, **kw):
    c = Claims(ev, regs, **kw)
    for claim in claims:
        c.add(claim)
    c.judge()
    return c


def test_a_papers_claim_stays_on_seen_places_and_its_twin_asks_new_ground():
    from geosurvey import report

    paper = Claim("ab", "a beats b", "a", "b", "mean_km", source="Wu 2025, line 1")
    (twin,) = cl.on_new_ground((paper,), "ab")
    assert (twin.key, twin.text, twin.extends) == (
        "ab_new",
        "a beats b on new ground",
        "ab",
    )
    assert twin.source == "this book: Wu 2025, line 1, asked of new ground"
    c = _claims(_evaluations(), paper, twin, generalisation=("ab_new",))
    assert set(c.judged["ab_new"]) == {"new"}  # never measured on seen places
    assert c.judged["ab"]["new"].verdict == cl.ESTIMATE  # the paper's, on new places
    assert c.deciding("ab").regime == "seen" and c.deciding("ab_new").regime == "new"
    # the second claims table leaves new ground to the twin's row
    assert "a beats b" not in report.elsewhere_table(c).index  # its only row: new
    # one judgement per regime and comparison: the Holm family holds two, not three
    judged = [j for js in c.judged.values() for j in js.values()]
    assert sum(j.verdict != cl.ESTIMATE for j in judged) == 2


def test_findings_name_a_new_ground_claim_decided_only_on_seen_places():
    from geosurvey import report

    c = _claims(
        _evaluations(gap_seen=300.0, gap_new=0.0),
        Claim("ab", "a beats b", "a", "b", "median_km"),
        generalisation=("ab",),
    )
    assert c.deciding("ab").regime == "new" and c.verdict("ab", "seen") == cl.REPRODUCED
    # the summary counts it undecided (seen places never decide a new-ground claim)
    # and says, apart, that it held where it was checked
    assert report.findings(c) == (
        "\n\n- After Holm's correction none of the 1 claims is decided.\n- Decided on "
        "seen places, which check them but do not judge them: a beats b (reproduced "
        "there)."
    )
    assert "**reproduced**: a beats b." in report.findings(
        _claims(_evaluations(), Claim("ab", "a beats b", "a", "b", "median_km"))
    )


def test_a_clear_gain_is_reproduced_and_its_reverse_not_reproduced():
    ev = _evaluations()
    c = _claims(
        ev,
        Claim("ab", "a beats b", "a", "b", "median_km"),
        Claim("ba", "b beats a", "b", "a", "median_km"),
        Claim("acc", "a beats b at 750 km", "a", "b", "acc@750km"),
        generalisation=("ab", "ba", "acc"),
    )
    for regime in ("seen", "new"):
        j = c.judged["ab"][regime]
        assert j.verdict == cl.REPRODUCED == c.verdict("ab", regime)
        # lower is better
        assert j.difference == pytest.approx(-300, abs=1) and j.ci95[1] < 0
        assert j.value_better == pytest.approx(
            ev.metrics("a", regimes.BY_KEY[regime].test)["median_km"]
        )
        assert c.verdict("ba", regime) == cl.NOT_REPRODUCED
        assert (
            c.judged["acc"][regime].difference > 0
            and c.verdict("acc", regime) == cl.REPRODUCED
        )


def test_lower_is_better_for_distances_and_higher_for_accuracies():
    assert {cl.direction(m) for m in cl.LOWER_IS_BETTER} == {-1}
    assert (
        cl.direction("acc@25km")
        == cl.direction("geoscore")
        == cl.direction("country_acc")
        == 1
    )
    assert cl.verdict(-5.0, 0.001, "mean_km") == cl.REPRODUCED
    assert cl.verdict(-5.0, 0.001, "acc@25km") == cl.NOT_REPRODUCED
    assert cl.verdict(+5.0, 0.001, "q3_km") == cl.NOT_REPRODUCED
    # at alpha: not below it
    assert cl.verdict(+5.0, 0.05, "acc@25km") == cl.INCONCLUSIVE


def test_no_difference_is_inconclusive():
    ev = Evaluations({"test": _meta(300, 0)})
    rng = np.random.default_rng(2)
    d = rng.uniform(100, 2000, 300)
    noise = rng.permutation(np.repeat([-50.0, 50.0], 150))  # mean exactly zero
    _add(ev, "a", "test", d)
    _add(ev, "b", "test", d + noise)
    c = _claims(ev, Claim("ab", "a beats b", "a", "b", "mean_km"), regs=(regimes.SEEN,))
    j = c.judged["ab"]["seen"]
    assert j.difference == pytest.approx(0.0, abs=1e-9) and j.ci95[0] < 0 < j.ci95[1]
    assert j.p == pytest.approx(1.0) and j.verdict == cl.INCONCLUSIVE


def _borderline(n_null: int):
    """One claim at z = 2.8 (p about 0.005) in the seen regime, beside ``n_null`` claims
    of exactly no difference."""
    meta = _meta(300, 0)
    ev = Evaluations({"test": meta})
    rng = np.random.default_rng(4)
    # far enough from zero that every error stays positive
    d = rng.uniform(600, 2000, 300)
    e = rng.normal(0, 1, 300)
    e = (e - e.mean()) / e.std()
    w = stats.block_weights(ev.sets["test"].blocks("Global"))
    # the standard error the bootstrap will see, per km of noise
    se = np.std(w @ e / w.sum(1), ddof=1)
    scale = 100.0
    _add(ev, "a", "test", d)
    # mean gap 2.8 standard errors
    _add(ev, "b", "test", d + 2.8 * scale * se + scale * e)
    _add(ev, "a twin", "test", d)
    claims = [Claim("real", "a beats b", "a", "b", "mean_km")]
    claims += [
        Claim(f"null{k}", "a is no better than its twin", "a", "a twin", "mean_km")
        for k in range(n_null)
    ]
    return _claims(ev, *claims, regs=(regimes.SEEN,))


def test_holm_turns_a_borderline_claim_inconclusive_among_many():
    alone = _borderline(0).judged["real"]["seen"]
    assert alone.test.startswith("sign-flip over ") and 0.0025 < alone.p < 0.025
    assert alone.p_adjusted == alone.p and alone.verdict == cl.REPRODUCED
    many = _borderline(19)
    j = many.judged["real"]["seen"]
    assert j.p == pytest.approx(alone.p)  # the same measurement ...
    # ... corrected for 20 claims
    assert j.p_adjusted == pytest.approx(min(1.0, 20 * alone.p))
    assert j.verdict == cl.INCONCLUSIVE
    ps = [many.judged[k]["seen"].p for k in many.judged]
    np.testing.assert_allclose(
        [many.judged[k]["seen"].p_adjusted for k in many.judged], stats.holm(ps)
    )


def test_untestable_claims_are_not_testable_here_and_left_out_of_the_correction():
    ev = _evaluations(gap_seen=30.0)
    plain = _claims(ev, Claim("ab", "a beats b", "a", "b", "mean_km"))
    c = _claims(
        ev,
        Claim("ab", "a beats b", "a", "b", "mean_km"),
        Claim(
            "x", "albums help", "a", "b", "mean_km", untestable="the data has no albums"
        ),
    )
    for regime in ("seen", "new"):
        assert c.verdict("x", regime) == cl.NOT_TESTABLE
        assert (
            c.judged["ab"][regime].p_adjusted == plain.judged["ab"][regime].p_adjusted
        )
    assert "x" not in c.judged
    record = next(r for r in c.records() if r["key"] == "x")
    assert (
        record["judgements"] == {} and record["untestable"] == "the data has no albums"
    )


def test_expected_verdicts_are_asserted_only_when_asked():
    ev = _evaluations()
    claim = Claim(
        "ab",
        "a beats b",
        "a",
        "b",
        "median_km",
        expect=(("seen", cl.NOT_REPRODUCED), ("new", cl.REPRODUCED)),
    )
    strict = _claims(ev, claim, assert_claims=True, generalisation=("ab",))
    strict.check(True, "a check that holds")
    strict.check(False, "a check that fails")
    failures = strict.failures()
    assert len(failures) == 2
    assert "a check that fails" in failures
    assert any(
        "a beats b" in f and "seen places" in f and "expected not reproduced" in f
        for f in failures
    )
    quiet = _claims(ev, claim, assert_claims=False)
    quiet.check(False, "a check that fails")
    assert quiet.failures() == []
    with pytest.raises(ValueError, match="cannot expect"):
        strict.add(Claim("bad", "t", "a", "b", "median_km", expect=(("seen", "true"),)))
    with pytest.raises(ValueError, match="cannot expect"):
        strict.add(
            Claim("bad", "t", "a", "b", "median_km", expect=(("moon", cl.REPRODUCED),))
        )


def test_a_chapters_expected_verdicts_reach_its_claims_by_key():
    ev = _evaluations()
    expected = {"ab": (("seen", cl.REPRODUCED),), "gone": (("seen", cl.REPRODUCED),)}
    claims = _claims(
        ev,
        Claim("ab", "a beats b", "a", "b", "median_km"),
        Claim("ba", "b beats a", "b", "a", "median_km"),
        assert_claims=True,
        expected=expected,
    )
    assert claims.claims["ab"].expect == (("seen", cl.REPRODUCED),)
    assert claims.claims["ba"].expect == ()
    assert claims.failures() == [
        "claim 'gone' has an expected verdict but is not a claim of the chapter"
    ]
    flipped = _claims(
        ev,
        Claim("ab", "a beats b", "b", "a", "median_km"),
        assert_claims=True,
        expected={"ab": expected["ab"]},
    )
    assert flipped.failures() == [
        "claim 'a beats b' on seen places: expected reproduced, measured not reproduced"
    ]


def test_only_decisive_verdicts_are_expected_of_a_chapter_and_regime():
    from geosurvey.chapters.base import EXPECTED_FILE, expected
    from geosurvey.chapters.registry import CHAPTERS

    listed = json.loads(EXPECTED_FILE.read_text())["verdicts"]
    assert listed and set(listed) <= set(CHAPTERS)
    for chapter in listed:
        for key, pairs in expected(chapter).items():
            for regime, verdict in pairs:
                assert regime in regimes.BY_KEY, key
                assert verdict in (cl.REPRODUCED, cl.NOT_REPRODUCED), key


def test_every_chapters_claims_table_holds_what_it_names_and_asserts():
    from geosurvey.chapters.base import expected
    from geosurvey.chapters.registry import CHAPTERS

    for name, spec in CHAPTERS.items():
        keys = [c.key for c in spec.claims]
        assert keys and len(keys) == len(set(keys)), name
        assert set(spec.generalisation) <= set(keys), name
        assert set(expected(name)) <= set(keys), name
        for c in spec.claims:
            assert c.source and c.better != c.worse, c.key
            assert c.metric.startswith("acc@") or c.metric in (
                "geoscore",
                *cl.LOWER_IS_BETTER,
            ), c.key


def test_settling_names_run_dependent_methods_and_marks_missing_ones():
    c = Claims(_evaluations(), regimes.REGIMES)
    c.add(Claim("ab", "a beats {x}", "a", "{x}", "median_km"))
    c.add(Claim("ac", "a beats c", "a", "c", "median_km"))
    c.add(Claim("ba", "b beats a", "b", "a", "median_km"))
    with pytest.raises(ValueError, match="'ab' needs the name 'x'"):
        c.settle()
    with pytest.raises(ValueError, match=r"no claims named \['zz'\]"):
        c.settle(untestable={"zz": "why"}, names={"x": "b"})
    c.settle(untestable={"ba": "b was never trained", "ab": ""}, names={"x": "b"})
    c.judge()
    assert c.claims["ab"].text == "a beats b" and c.claims["ab"].worse == "b"
    assert c.verdict("ab", "seen") == cl.REPRODUCED
    assert c.claims["ac"].untestable == "this run has no c"
    assert c.claims["ba"].untestable == "b was never trained"
    assert c.verdict("ba", "seen") == cl.NOT_TESTABLE and "ba" not in c.judged


def test_a_claim_is_judged_in_both_regimes_on_each_regimes_test_set():
    ev = _evaluations(gap_seen=0.0, gap_new=300.0)
    c = _claims(
        ev, Claim("ab", "a beats b", "a", "b", "median_km"), generalisation=("ab",)
    )
    assert c.claims["ab"].about == "new" and set(c.judged["ab"]) == {"seen", "new"}
    assert c.verdict("ab", "seen") == cl.INCONCLUSIVE
    assert c.verdict("ab", "new") == cl.REPRODUCED
    assert c.judged["ab"]["new"].value_worse == pytest.approx(
        ev.metrics("b", "test_new")["median_km"]
    )
    # Holm runs over every (claim, regime) judged: two p-values here
    ps = [c.judged["ab"][r].p for r in ("seen", "new")]
    np.testing.assert_allclose(
        [c.judged["ab"][r].p_adjusted for r in ("seen", "new")], stats.holm(ps)
    )


def test_a_regime_without_both_methods_is_not_measured():
    ev = _evaluations(splits=("test",))
    c = _claims(
        ev, Claim("ab", "a beats b", "a", "b", "median_km"), regs=(regimes.SEEN,)
    )
    assert c.verdict("ab", "new") is None
    _add(ev, "c", "test", np.full(300, 10.0))
    c = _claims(
        ev, Claim("ac", "a beats c", "a", "nobody", "median_km"), regs=(regimes.SEEN,)
    )
    assert c.judged["ac"] == {} and c.verdict("ac", "seen") is None


def test_a_subset_claim_is_judged_on_the_subset_test_set():
    ev = _evaluations(
        gap_seen=0.0, gap_new=0.0, splits=("test", "test_albums", "test_new")
    )
    # only the album subset shows the gap
    for method, gap in (("a", 0.0), ("b", 300.0)):
        meta = ev.sets["test_albums"].meta
        _add(ev, method, "test_albums", np.linspace(0, 2000, len(meta)) + gap)
    c = _claims(
        ev,
        Claim("whole", "a beats b", "a", "b", "median_km"),
        Claim("albums", "a beats b on albums", "a", "b", "median_km", subset="_albums"),
    )
    assert c.verdict("whole", "seen") == cl.INCONCLUSIVE
    assert c.verdict("albums", "seen") == cl.REPRODUCED
    assert c.judged["albums"]["seen"].difference == pytest.approx(-300, abs=1)
    assert "new" not in c.judged["albums"]  # there is no test_new_albums


def test_a_claim_in_one_region_uses_the_rows_of_that_region():
    ev = Evaluations({"test": _meta(400, 0)})
    europe = (ev.sets["test"].meta["continent"] == "Europe").to_numpy()
    d = np.random.default_rng(1).uniform(0, 2000, 400)
    _add(ev, "a", "test", d)
    _add(ev, "b", "test", d + np.where(europe, 300.0, -300.0))
    c = _claims(
        ev,
        Claim("eu", "a beats b in Europe", "a", "b", "mean_km", region="Europe"),
        Claim("asia", "a beats b in Asia", "a", "b", "mean_km", region="Asia"),
        regs=(regimes.SEEN,),
    )
    assert c.judged["eu"]["seen"].difference == pytest.approx(-300)
    assert (
        c.verdict("eu", "seen") == cl.REPRODUCED
        and c.verdict("asia", "seen") == cl.NOT_REPRODUCED
    )


def test_other_seeds_are_judged_alike_and_decide_only_together():
    ev0, ev1 = (
        _evaluations(seed=0, gap_seen=300.0),
        _evaluations(seed=5, gap_seen=100.0),
    )
    c = _claims(
        ev0, Claim("ab", "a beats b", "a", "b", "mean_km"), seed=0, others={1: ev1}
    )
    j = c.judged["ab"]["seen"]
    assert j.seeds == [0, 1]
    d0 = ev0.metrics("a", "test")["mean_km"] - ev0.metrics("b", "test")["mean_km"]
    d1 = ev1.metrics("a", "test")["mean_km"] - ev1.metrics("b", "test")["mean_km"]
    assert j.difference == pytest.approx(d0) and j.pooled_difference == pytest.approx(
        (d0 + d1) / 2
    )
    assert j.pooled_difference == pytest.approx(-200.0)
    assert j.pooled_ci95[0] < j.pooled_ci95[1] < 0
    seed1 = _claims(ev1, Claim("ab", "a beats b", "a", "b", "mean_km"), seed=1)
    # the largest of the seeds' corrected p-values (an intersection-union test)
    assert j.pooled_p_adjusted == max(
        j.p_adjusted, seed1.judged["ab"]["seen"].p_adjusted
    )
    assert j.pooled_verdict == cl.REPRODUCED
    alone = _claims(ev0, Claim("ab", "a beats b", "a", "b", "mean_km"))
    for field in (
        "pooled_difference",
        "pooled_ci95",
        "pooled_p_adjusted",
        "pooled_verdict",
    ):
        assert getattr(alone.judged["ab"]["seen"], field) is None
    assert alone.judged["ab"]["seen"].seeds == []
    # a seed without the gain: decisive at seed 0, not over the seeds
    ev2 = _evaluations(seed=9, gap_seen=0.0)
    split = _claims(
        ev0, Claim("ab", "a beats b", "a", "b", "mean_km"), others={1: ev1, 2: ev2}
    ).judged["ab"]["seen"]
    assert split.verdict == cl.REPRODUCED and split.pooled_verdict == cl.INCONCLUSIVE


def test_a_seed_without_the_methods_is_left_out_of_the_pool():
    ev0 = _evaluations(seed=0)
    ev1 = Evaluations({"test": _meta(300, 3)})
    _add(ev1, "a", "test", np.full(300, 5.0))  # "b" was not run at seed 1
    ev2 = _evaluations(seed=7)
    c = _claims(
        ev0, Claim("ab", "a beats b", "a", "b", "mean_km"), others={1: ev1, 2: ev2}
    )
    assert c.judged["ab"]["seen"].seeds == [0, 2]


# --- the sentences and tables a chapter shows -----------------------------------------


def test_findings_say_how_the_papers_own_claims_fared_apart_from_the_books():
    from geosurvey import report

    ev0 = _evaluations(seed=0)
    c = _claims(
        ev0,
        Claim("ab", "a beats b", "a", "b", "mean_km", source="Lo 2025, line 1"),
        Claim("ba", "b beats a", "b", "a", "mean_km", source="Lo 2025, line 2"),
        Claim("own", "a beats b too", "a", "b", "mean_km", source="this book"),
    )
    assert [c.judged[k]["seen"].verdict for k in ("ab", "ba")] == [
        cl.REPRODUCED,
        cl.NOT_REPRODUCED,
    ]
    assert report.findings(c).endswith(
        "\n- Of the 2 claims taken from the surveys and papers, 1 reproduced here; "
        "1 failed and 0 are undecided or not testable."
    )
    # the book's own claims are named as such where the decided ones are listed
    assert "**reproduced**: a beats b; a beats b too (this book's claim)." in (
        report.findings(c)
    )
    # an undecided paper claim whose interval lies against it is named
    j = c.judged["ba"]["seen"]
    j.verdict, j.difference, j.ci95 = cl.INCONCLUSIVE, 200.0, [100.0, 300.0]
    assert report.findings(c).endswith(
        "1 is undecided or not testable. Undecided, but leaning against the paper: "
        "b beats a (+200 km of mean error [+100 to +300])."
    )


def test_claim_sentences_give_every_regimes_verdict_with_its_interval():
    from geosurvey import report

    ev0, ev1 = _evaluations(seed=0), _evaluations(seed=5)
    c = _claims(
        ev0,
        Claim("ab", "a beats b", "a", "b", "median_km"),
        Claim("x", "albums help", "a", "b", "median_km", untestable="no albums here"),
        Claim("none", "c beats a", "c", "a", "median_km"),
        others={1: ev1},
        generalisation=("ab",),
    )
    j, seen = c.judged["ab"]["new"], c.judged["ab"]["seen"]  # about new places
    text = report.claim_sentence(c, "ab")
    d, (lo, hi) = j.pooled_difference, j.pooled_ci95
    assert text == (
        f"**reproduced** on new places: {d:+,.0f} km of median error [{lo:+,.0f} to "
        f"{hi:+,.0f}] over seeds 0 and 1 ({j.difference:+,.0f} at seed 0). Every "
        "seed's own test passes Holm's correction."
    )
    assert report.claim_sentence(c, "x") == "**not testable here**: no albums here."
    assert report.claim_sentence(c, "none") == "not run."
    table = report.claims_table(c)
    assert list(table.index) == ["a beats b", "albums help", "c beats a"]
    assert list(table.columns) == list(report.CLAIM_COLUMNS)
    assert table.loc["albums help", "verdict"] == cl.NOT_TESTABLE
    assert table.loc["albums help", "difference"] == "–"  # its reason goes below
    assert report.untestable_notes(c) == (
        "Not testable here:\n\n- *albums help*: no albums here."
    )
    assert table.loc["c beats a", "verdict"] == "–"
    row = table.loc["a beats b"]
    assert row["judged on"] == "new places" and row["verdict"] == cl.REPRODUCED
    by_seed = [f"✓\u00a0{d:+,.0f}" for d in j.seed_differences]
    assert row["at each seed"] == ", ".join(by_seed)
    assert np.mean(j.seed_differences) == pytest.approx(j.pooled_difference)
    assert f": {row['difference']} over seeds 0 and 1 (" in text
    # the regime that does not decide it: only "a beats b" was judged elsewhere
    others = report.elsewhere_table(c)
    assert list(others.index) == ["a beats b"] and list(others.columns) == [
        "seen places"
    ]
    assert (
        others.iloc[0, 0]  # the mark at each seed, as in the claims table
        == report.effect(seen, "median_km", units=False) + "\u00a0✓\u00a0✓"
    )
    mde = j.detectable
    assert (
        row["smallest detectable"]
        == f"{mde:,.0f} km of median error ({j.blocks} blocks)"
    )
    assert 0 < mde < 300  # a 300 km gain is found
    assert report.findings(c) == (
        "\n\n- After Holm's correction, in the regime each claim is about and at every "
        "seed run:\n  - **reproduced**: a beats b.\n  - undecided or not testable "
        "here: 2 more."
    )
    assert (
        cl.unit("acc@25km") == " points"
        and cl.unit("median_km") == " km of median error"
        and cl.unit("q1_km") == " km of first-quartile error"
        and cl.unit("geoscore") == " GeoScore"
    )
    # a test with too few blocks ever to pass says so in its verdict
    j.pooled_verdict, j.detectable = cl.INCONCLUSIVE, float("inf")
    row = report.claims_table(c).loc["a beats b"]
    assert row["verdict"] == "inconclusive: too few blocks to decide"
    assert row["smallest detectable"] == f"none ({j.blocks} blocks)"
    # a test that could not detect even the widest gap between two methods says so;
    # one that could (b errs 300 km more than a on every image) stays plain
    widest = report.widest_gap(c.ev, c.claims["ab"], j.regime)
    assert widest == pytest.approx(300.0, abs=1.0)
    j.detectable = widest + 1
    row = report.claims_table(c).loc["a beats b"]
    assert row["verdict"].startswith(
        "inconclusive: underpowered, leans its way"
    )  # an underpowered test's interval still says where it lies
    assert row["smallest detectable"].endswith(
        f" ({j.blocks} blocks; widest gap here {widest:,.0f})"
    )
    j.detectable = widest - 1
    row = report.claims_table(c).loc["a beats b"]
    p = j.pooled_p_adjusted or j.p_adjusted
    assert row["verdict"] == f"inconclusive, leans its way (Holm p {p:#.2g})"
    assert "widest" not in row["smallest detectable"]
    # a control is reported apart from the findings
    c.claims["ab"] = dataclasses.replace(c.claims["ab"], control=True)
    assert "a beats b (a control)" in report.claims_table(c).index
    assert "**reproduced**" not in report.findings(c)
    assert report.findings(c).endswith(
        "\n- Controls, which check the set-up: a beats b, inconclusive."
    )


def test_blocks_come_from_the_block_column_and_few_cannot_be_decisive():
    meta = _meta(400, 0)
    # eight discs; Europe's rows (every other one) lie in four of them
    meta["block"] = [f"disc-{i % 8}" for i in range(400)]
    ev = Evaluations({"test": meta})
    assert ev.sets["test"].n_blocks("Global") == 8
    assert ev.sets["test"].n_blocks("Europe") == 4
    d = np.random.default_rng(1).uniform(0, 2000, 400)
    _add(ev, "a", "test", d)
    _add(ev, "b", "test", d + 300.0)
    c = _claims(
        ev,
        Claim("all", "a beats b", "a", "b", "mean_km"),
        Claim("eu", "a beats b in Europe", "a", "b", "mean_km", region="Europe"),
        regs=(regimes.SEEN,),
    )
    everywhere, europe = c.judged["all"]["seen"], c.judged["eu"]["seen"]
    # eight discs, all on one side: the smallest p a sign flip can give, 2 / 2**8
    assert everywhere.blocks == 8 and everywhere.p == pytest.approx(2 / 256)
    assert everywhere.p_adjusted == pytest.approx(4 / 256)
    assert everywhere.verdict == cl.REPRODUCED and everywhere.level is None
    # the same 300 km gain, measured on four blocks: 2 / 16 at best, no verdict
    assert europe.blocks == 4 and europe.difference == pytest.approx(-300)
    assert europe.p == pytest.approx(2 / 16) and europe.verdict == cl.INCONCLUSIVE
    assert europe.detectable == float("inf")
    # the bootstrap draws whole discs: every replicate's rows come in disc-sized groups
    w = ev.sets["test"].bootstrap("Global")
    assert w.shape == (stats.N_BOOTSTRAP, 400)
    assert np.all(w[:, :8] == w[:, 8:16])


def test_discs_close_enough_to_share_ground_are_one_block():
    from geosurvey.geo import destination as move

    centres = [(52.5, 13.4), (48.2, 16.4), (-33.9, 151.2)]  # Berlin, Vienna, Sydney
    rows = []
    for k, (lat, lon) in enumerate(centres):
        plat, plon = move(np.full(20, lat), np.full(20, lon), np.arange(20) * 18, 100)
        rows += [(a, b, f"disc-{k}") for a, b in zip(plat, plon)]
    meta = pd.DataFrame(rows, columns=["lat", "lon", "block"])
    assert Evaluations({"test": meta}).sets["test"].n_blocks("Global") == 3
    merged = Evaluations({"test": meta}, merge_km=1384.0).sets["test"]
    assert merged.n_blocks("Global") == 2  # Berlin and Vienna are 524 km apart
    assert len(set(merged.block[:40])) == 1 and merged.block[40] != merged.block[0]


def test_a_threshold_no_training_location_reaches_is_not_testable():
    ev = _evaluations(gap_seen=30.0, gap_new=30.0)
    n = len(ev.sets["test_new"].meta)
    reach = {"test_new": np.full(n, 600.0), "test": np.full(n, 2.0)}
    claims = (
        Claim("near", "a beats b at 25 km", "a", "b", "acc@25km"),
        Claim("far", "a beats b at 750 km", "a", "b", "acc@750km"),
    )
    c = _claims(ev, *claims, reach=reach, generalisation=("near", "far"))
    j = c.judged["near"]["new"]
    assert j.verdict == cl.NOT_TESTABLE and "nearest is 600 km away" in j.reason
    assert c.verdict("far", "new") != cl.NOT_TESTABLE
    assert c.verdict("near", "seen") != cl.NOT_TESTABLE
    # left out of the correction: three judgements, not four
    ps = [
        c.judged[k][r].p for k, r in (("near", "seen"), ("far", "seen"), ("far", "new"))
    ]
    np.testing.assert_allclose(
        [
            c.judged[k][r].p_adjusted
            for k, r in (("near", "seen"), ("far", "seen"), ("far", "new"))
        ],
        stats.holm(ps),
    )


def test_new_places_judge_only_the_claims_named_in_advance():
    ev = _evaluations(gap_seen=300.0, gap_new=300.0)
    c = _claims(
        ev,
        Claim("named", "a beats b", "a", "b", "mean_km"),
        Claim("other", "a beats b again", "a", "b", "mean_km"),
        generalisation=("named",),
    )
    assert c.claims["named"].about == "new" and c.claims["other"].about == "seen"
    assert c.verdict("named", "new") == cl.REPRODUCED
    other = c.judged["other"]["new"]
    assert other.verdict == cl.ESTIMATE and other.ci95[1] < 0  # measured, not judged
    judged = [
        c.judged["named"]["seen"],
        c.judged["other"]["seen"],
        c.judged["named"]["new"],
    ]
    np.testing.assert_allclose(
        [j.p_adjusted for j in judged], stats.holm([j.p for j in judged])
    )


def test_findings_say_so_when_nothing_is_decided():
    from geosurvey import report

    ev = _evaluations(seed=0)
    c = _claims(ev, Claim("ba", "b beats a", "b", "a", "median_km", untestable="no"))
    assert report.findings(c) == (
        "\n\n- After Holm's correction none of the 1 claims is decided."
    )


def test_an_inconclusive_claim_whose_interval_excludes_zero_says_which_side():
    from geosurvey import report

    c = _claims(
        _evaluations(seed=0),
        Claim("score", "a beats b", "a", "b", "geoscore"),
        Claim("km", "a is closer", "a", "b", "median_km"),
    )
    for key, side in (("score", "against the claim"), ("km", "the claim's way")):
        j = c.judged[key]["seen"]
        j.verdict, j.difference, j.ci95 = cl.INCONCLUSIVE, -234.0, [-336.0, -138.0]
        text = report.claim_sentence(c, key)
        p = f"{j.p_adjusted:#.2g}"
        assert text == (
            "**inconclusive** on seen places: -234 "
            f"{'GeoScore' if key == 'score' else 'km of median error'} [-336 to -138] "
            f"at seed 0. The interval lies {side}, but its test does not pass Holm's "
            f"correction (corrected p {p})"
            + (": a hint, not a finding." if side == "the claim's way" else ".")
        )
        lean = "against it" if key == "score" else "its way"
        verdict = report.claims_table(c, [key])["verdict"].iloc[0]
        assert verdict == f"inconclusive, leans {lean} (Holm p {p})"
        # the summary names only what was decided: the table holds the leanings
        assert "a beats b" not in report.findings(c)
        # a seed-dependent claim was decided at some seed: it does not "lean"
        j.seed_verdicts = [cl.REPRODUCED, cl.INCONCLUSIVE]
        assert report.claims_table(c, [key])["verdict"].iloc[0] == cl.SEED_DEPENDENT
        j.seed_verdicts = []
        j.ci95 = [-336.0, 12.0]  # an interval across zero says nothing more
        assert report.claim_sentence(c, key).endswith("[-336 to +12] at seed 0.")
        assert report.claims_table(c, [key])["verdict"].iloc[0] == "inconclusive"


@pytest.mark.parametrize(
    "value", ["a **sentence** with 1,234 km", 3, 2.5, np.float32(0.25), True]
)
def test_glue_records_what_myst_nb_glue_records(monkeypatch, value):
    import IPython.display
    import myst_nb.ext.glue

    shown = []
    monkeypatch.setattr(
        IPython.display, "display", lambda *a, **k: shown.append((a, k))
    )
    monkeypatch.setattr(
        myst_nb.ext.glue, "ipy_display", lambda *a, **k: shown.append((a, k))
    )
    report.glue("name", value)
    converted = IPython.display.Markdown(value) if isinstance(value, str) else value
    if isinstance(value, np.floating):
        converted = float(value)
    myst_nb.ext.glue.glue("name", converted, display=False)
    assert shown[0][1]["metadata"]["scrapbook"]["name"] == "name"
    assert shown[0] == shown[1]


def test_glue_leaves_myst_nb_unimported_in_the_kernel():
    code = (
        "import sys, geosurvey.report as r; r.glue('x', 1); "
        "print('nbformat' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_the_asserted_verdicts_are_those_decisive_and_alike_at_every_seed(tmp_path):
    from tools import expected as tool

    r, n, i = cl.REPRODUCED, cl.NOT_REPRODUCED, cl.INCONCLUSIVE

    def judged(verdicts, seeds=(0, 1, 2)):
        pooled = verdicts[0] if len(set(verdicts)) == 1 and verdicts[0] != i else i
        return {
            "seeds": list(seeds),
            "seed_verdicts": verdicts,
            "pooled_verdict": pooled,
        }

    results = {
        "claims": [
            {
                "key": "a",
                "judgements": {"seen": judged([r] * 3), "new": judged([i] * 3)},
            },
            {"key": "b", "judgements": {"seen": judged([r, n, r])}},
            {"key": "c", "judgements": {"seen": judged([n] * 3)}},
        ]
    }
    assert tool.stable("x", results) == {"a": [["seen", r]], "c": [["seen", n]]}
    one_seed = {"claims": [{"key": "a", "judgements": {"seen": judged([r], (0,))}}]}
    with pytest.raises(ValueError, match="pool seeds \\[\\(0,\\)\\]"):
        tool.stable("x", one_seed)
    with pytest.raises(FileNotFoundError, match="data_and_metrics.json: run make book"):
        tool.measure(tmp_path)
    # another machine's verdicts: only what both list is asserted
    mine = {"ch": {"a": [["seen", r]], "c": [["seen", n]]}, "only": {"d": [["new", r]]}}
    theirs = {"ch": {"a": [["seen", r]], "c": [["seen", r]]}}
    assert tool.within(mine, theirs) == {"ch": {"a": [["seen", r]]}}


def test_the_claims_table_is_shown_with_how_to_read_it(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **k: shown.append(obj))
    c = _claims(
        _evaluations(seed=0),
        Claim("ab", "a beats b", "a", "b", "median_km"),
        others={1: _evaluations(seed=5)},
    )
    report.show_claims(c, full_legend=True)
    table, key, intro, others = shown  # the table, then how to read it
    assert "do not decide" in intro.data
    assert others.loc["a beats b", "new places"].endswith("\u00a0e")  # an estimate
    assert "a beats b" in table.index
    assert "averaged over seeds 0, 1" in key.data and "✓ reproduced" in key.data
    assert "blocks correlated" not in key.data  # no row is flagged
    assert key.data.startswith("How to read the table, column by column")
    shown.clear()  # later chapters point to that legend instead of repeating it
    report.show_claims(c)
    assert f"]({report.LEGEND})" in shown[0].data and "✓ reproduced" in shown[0].data
    assert "*Smallest detectable*" not in shown[0].data  # the rest: chapter 1's


def test_an_effect_reads_its_interval_with_to_and_never_minus_zero():
    j = cl.Judgement("seen", 10.0, 9.0, 117.0, [-0.3, 1242.0], 0.5, blocks=9)
    assert report.effect(j, "geoscore") == "+117 GeoScore [+0 to +1,242]"
    j.ci95 = [-1230.0, 680.0]
    assert report.effect(j, "median_km", units=False) == "+117 [-1,230 to +680]"


def test_a_method_is_shown_unindented_as_its_own_block(monkeypatch):
    from geosurvey.scenes import SceneHierarchy

    said = []
    monkeypatch.setattr(report, "say", said.append)
    report.show(SceneHierarchy.probabilities)
    assert said[0].startswith("```python\ndef probabilities(self, fine_probs)")


def test_the_prior_blocks_sentence_gives_each_prior_claims_detectable_difference():
    from geosurvey import report

    ev = _evaluations(seed=0)
    ev.done[("prior", "test")] = ev.done[("b", "test")]  # "b" answers as a prior would
    c = _claims(
        ev,
        Claim("ap", "a beats the prior", "a", "prior", "median_km"),
        Claim("ab", "a beats b", "a", "b", "median_km"),
        regs=(regimes.SEEN,),
    )
    j = c.judged["ap"]["seen"]
    text = report.prior_blocks_sentence(c)
    assert f"down to S2 level {j.level} " in text and f"On {j.blocks} such" in text
    assert text.endswith(
        f"{report.detectable(j, 'median_km')} for “a beats the prior”."
    )
    assert "a beats b" not in text
    # a claim about new ground says where it is judged instead, and what it detects
    ev.done[("prior", "test_new")] = ev.done[("b", "test_new")]
    c = _claims(ev, Claim("ap", "a beats the prior", "a", "prior", "median_km"))
    c2 = _claims(
        ev,
        Claim("ap", "a beats the prior", "a", "prior", "median_km"),
        generalisation=("ap",),
    )
    new = c2.judged["ap"]["new"]
    assert report.prior_blocks_sentence(c2).endswith(
        "“a beats the prior”, judged instead on new places "
        f"({report.detectable(new, 'median_km')} there)."
    )
    assert report.prior_blocks_sentence(c).endswith("for “a beats the prior”.")
    assert (
        report.prior_blocks_sentence(
            _claims(ev, Claim("ab", "x", "a", "b", "median_km"))
        )
        == ""
    )


def test_a_difference_correlated_even_over_continents_is_flagged(monkeypatch):
    import IPython.display

    ev = Evaluations({"test": _meta(1500, 0)})
    meta = ev.sets["test"].meta
    d = np.random.default_rng(1).uniform(0, 2000, 1500)
    # "b" loses most in one hemisphere: a gap that neighbouring continents share
    smooth = 600 * (1 + np.sin(np.radians(meta["lon"].to_numpy())))
    _add(ev, "a", "test", d)
    _add(ev, "b", "test", d + smooth)
    _add(ev, "c", "test", d + np.random.default_rng(2).uniform(0, 1200, 1500))
    c = _claims(
        ev,
        Claim("smooth", "a beats b", "a", "b", "mean_km"),
        Claim("noise", "a beats c", "a", "c", "mean_km"),
        regs=(regimes.SEEN,),
    )
    smooth, noise = c.judged["smooth"]["seen"], c.judged["noise"]["seen"]
    assert smooth.level == stats.BLOCK_LEVELS[-1] and smooth.still_correlated > 0.1
    assert noise.still_correlated is None
    table = report.claims_table(c)
    verdicts = table["verdict"]
    assert "blocks correlated (r " in verdicts["a beats b"]
    assert "leans" not in verdicts["a beats b"]  # an interval too narrow hints nothing
    assert "blocks correlated" not in verdicts["a beats c"]
    # the interval itself says it is too narrow, not only the verdict beside it
    assert table.at["a beats b", "difference"].endswith("(interval too narrow)")
    assert "too narrow" not in table.at["a beats c", "difference"]
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **k: shown.append(obj))
    report.show_claims(c)
    assert "*Blocks correlated*" in shown[0].data


def test_a_claim_decisive_at_some_seeds_only_reads_seed_dependent():
    from geosurvey import report

    j = cl.Judgement("seen", 1.0, 0.0, 1.0, [0.5, 1.5], 0.01, blocks=10)
    j.seeds, j.pooled_verdict = [0, 1, 2], cl.INCONCLUSIVE
    j.seed_verdicts = [cl.REPRODUCED, cl.INCONCLUSIVE, cl.REPRODUCED]
    assert report._over_seeds(j) == cl.SEED_DEPENDENT
    # the summary names it with its seeds' marks, apart from the undecided
    c = _claims(_evaluations(), Claim("ab", "a beats b", "a", "b", "median_km"))
    j.seed_verdicts = [cl.NOT_REPRODUCED, cl.INCONCLUSIVE, cl.NOT_REPRODUCED]
    c.judged["ab"]["seen"] = j
    assert "**seed-dependent**: a beats b (✗\u00a0?\u00a0✗)." in report.findings(c)
    # its sentence says in words which seeds decided what
    said = report.claim_sentence(c, "ab")
    assert said.endswith(
        ". The seeds' own tests disagree: not reproduced at seeds 0 and 2, "
        "inconclusive at seed 1."
    )
    j.seed_verdicts = [cl.INCONCLUSIVE] * 3  # alike: the verdict over the seeds
    assert report._over_seeds(j) == cl.INCONCLUSIVE
