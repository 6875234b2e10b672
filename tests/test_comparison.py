"""The comparison chapter's reading of every chapter's claims at every seed
(geosurvey.comparison), on results files written the way chapters write them."""

import itertools
import types

import numpy as np
import pandas as pd

from geosurvey import claims as cl
from geosurvey import comparison, plots, regimes, results
from geosurvey.chapters.registry import CHAPTERS
from geosurvey.claims import Claim, Claims
from geosurvey.evaluation import Evaluations
from geosurvey.geo import destination


def _ev(gap_km, seed, new_gap_km=None):
    rng = np.random.default_rng(seed)
    ev = Evaluations(
        {
            s: pd.DataFrame(
                {"lat": rng.uniform(-50, 50, 200), "lon": rng.uniform(-170, 170, 200)}
            )
            for s in ("test", "test_new")
        }
    )
    for split in ev.sets:
        meta = ev.sets[split].meta
        d = rng.uniform(0, 2000, 200)
        gap = gap_km if split == "test" or new_gap_km is None else new_gap_km
        for method, extra in (("a", 0.0), ("b", gap)):
            lat, lon = destination(
                meta["lat"].to_numpy(), meta["lon"].to_numpy(), 0.0, d + extra
            )
            ev.add(method, split, lat, lon)
    return ev


def _records(gap_km, seed):
    c = Claims(_ev(gap_km, seed), regimes.REGIMES, seed=seed)
    c.add(Claim("steady", "a beats b", "a", "b", "median_km"))
    c.add(Claim("flaky", "b beats a", "b", "a", "median_km", about="new"))
    c.add(Claim("never", "albums help", "a", "b", "median_km", untestable="no albums"))
    c.judge()
    return c.records()


def test_a_control_is_named_as_one_and_never_listed_as_a_finding(tmp_path):
    records = _records(300.0, 0)
    records[0]["control"] = True  # "a beats b": reproduced, but a check of the set-up
    found = {0: {"planet": {"chapter": "planet", "claims": records}}}
    table = comparison.stability_table(found)
    assert ("2 PlaNet", "a beats b (a control)") in table.index
    text = comparison.lessons(table, 1)
    assert "**reproduced**" not in text
    assert "**not reproduced** (1):\n\n- b beats a" in text
    assert "they are not findings:\n\n- a beats b: reproduced" in text


def test_stability_table_and_lessons_read_every_seed(tmp_path):
    # seed 0: a 300 km gap; seed 1: the same; seed 2: no gap at all
    for seed, gap in ((0, 300.0), (1, 300.0), (2, 0.0)):
        results.save_json(
            results.seed_dir(tmp_path, seed) / "planet.json",
            {"chapter": "planet", "claims": _records(gap, seed)},
        )
    by_seed = comparison.seed_verdicts(tmp_path)
    assert sorted(by_seed) == [0, 1, 2] and set(by_seed[0]) == {"planet"}
    table = comparison.stability_table({s: by_seed[s] for s in (0, 1)})
    steady = table.loc[("2 PlaNet", "a beats b")]
    assert (
        steady["seen places"] == "✓ ✓"
        and steady[comparison.SAME] == "yes"
        and steady["verdict"] == cl.REPRODUCED
    )
    assert table.loc[("2 PlaNet", "b beats a")]["verdict"] == cl.NOT_REPRODUCED
    untested = table.loc[("2 PlaNet", "albums help")]
    assert untested["new places"] == "n/t n/t"
    assert untested[comparison.SAME] == cl.NOT_TESTABLE  # never measured: not "same"
    three = comparison.stability_table(by_seed)
    assert three.loc[("2 PlaNet", "a beats b")]["seen places"] == "✓ ✓ ?"
    assert three.loc[("2 PlaNet", "a beats b")]["verdict"] == "seed-dependent"
    assert three.loc[("2 PlaNet", "albums help")]["verdict"] == cl.NOT_TESTABLE
    text = comparison.lessons(table, 2)
    assert text.startswith(
        "Of 3 claims, 2 have the same decisive verdict at all 2 seeds"
    )
    assert (
        "**reproduced** at every seed (1):\n\n- a beats b" in text
        and "**not reproduced** at every seed (1):\n\n- b beats a" in text
    )
    assert "0 have the same decisive verdict" in comparison.lessons(three, 3)
    assert "2 change verdict" in comparison.lessons(three, 3)
    one = comparison.lessons(comparison.stability_table({0: by_seed[0]}), 1)
    assert one.startswith("Only one seed") and "2 of 3 claims are decisive" in one
    assert one.endswith(
        "**reproduced** (1):\n\n- a beats b\n\n**not reproduced** (1):\n\n- b beats a"
    )


def test_the_comparisons_own_claims_join_the_table_from_this_run(tmp_path):
    from types import SimpleNamespace

    results.save_json(
        results.seed_dir(tmp_path, 1) / "comparison.json",
        {"chapter": "comparison", "claims": _records(300.0, 1)},
    )
    claims = Claims(_ev(300.0, 0), regimes.REGIMES, seed=0)
    claims.add(Claim("steady", "a beats b", "a", "b", "median_km"))
    claims.judge()
    current = SimpleNamespace(cfg=SimpleNamespace(seed=0), claims=claims)
    by_seed = comparison.seed_verdicts(tmp_path, current=current)
    assert sorted(by_seed) == [0, 1] and set(by_seed[0]) == {"comparison"}
    table = comparison.stability_table(by_seed)
    assert table.loc[("6 Comparison", "a beats b")]["seen places"] == "✓ ✓"
    # a claim this run does not judge shows as not run at seed 0
    assert table.loc[("6 Comparison", "b beats a")]["seen places"] == "– ✗"


def test_the_ranking_includes_the_prior_and_says_where_intervals_cannot_separate():
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    meta = pd.DataFrame(
        {"lat": rng.uniform(-50, 60, 400), "lon": rng.uniform(-170, 170, 400)}
    )
    ev = Evaluations({"test": meta})
    noise = rng.uniform(0, 50, 400)
    for method, km in (
        ("PlaNet", 100 + noise),
        ("PIGEON", 100 + noise[::-1]),
        ("prior", 4000 + noise),
    ):
        lat, lon = destination(meta.lat.to_numpy(), meta.lon.to_numpy(), 0.0, km)
        ev.add(method, "test", lat, lon)
    fams = {
        "prior": ("data_and_metrics", "prior"),
        "PlaNet": ("planet", "x"),
        "PIGEON": ("pigeon", "x"),
    }
    groups = comparison.grouped(SimpleNamespace(evaluations=ev), fams, regimes.SEEN)
    table = comparison.ranking_table({"seen places": groups})["seen places"]
    # the two families differ by noise only (one group); both clearly beat the prior
    first, second = table.index[:2]
    assert table.index[2] == "prior" and {first, second} == {"PlaNet", "PIGEON"}
    assert table[first].endswith("] a") and table[second].endswith("] a")
    prior = ev.metrics("prior", "test")["geoscore"]
    lo, hi = ev.intervals("prior", "test")["geoscore"]
    assert table["prior"] == f"{prior:,.0f} [{lo:,.0f} to {hi:,.0f}] b"
    # the letters follow the verdicts' paired test, uncorrected
    assert groups[3][first, "prior"].p < comparison.APART
    assert groups[3][first, second].p >= comparison.APART
    # the tie is explained by the blocks its test rests on
    pair = f"{first} and {second}"
    why = comparison.ties({"seen places": groups})
    assert why.startswith(f"On seen places, {pair} are ") and " S2 level-" in why
    # the summary's clause: both learned families are told apart from the prior
    clause = comparison.against_prior({"seen places": groups}, 0)
    assert clause.startswith(
        f"{first} leads the learned families at seed 0 on *seen places* ("
    )
    prior_score = f"{ev.metrics('prior', 'test')['geoscore']:,.0f}"
    both = pair.replace(" and ", ", ")
    assert clause.endswith(
        f"On *seen places*, 2 of 2 ({both}) score above the prior ({prior_score}), "
        "by the paired test at p < 0.05, uncorrected"
    )
    # told apart from none: the clause says the test could not, not that they lose
    order, score, letters, *rest = groups
    tied = (order, score, {f: "a" for f in letters}, *rest)
    clause = comparison.against_prior({"seen places": tied, "new places": tied}, 0)
    assert clause.startswith(f"{first} leads the learned families at seed 0 on *seen")
    told = "None of the 2 learned families is told apart from the prior"
    assert f"{told} ({prior_score} and {prior_score})" in clause
    assert clause.endswith("too few to decide, and no evidence against the families")


def test_the_blocks_sentence_says_where_the_prior_scores_and_who_beats_it():
    by_block = pd.DataFrame(
        {
            "images": [10, 30, 60, 5],
            "prior": [3000.0, 1000.0, 0.0, 0.1],
            "PlaNet": [100.0, 2000.0, 50.0, 0.4],  # 0 against 0 as shown: no win
            "frozen k-NN": [4000.0, 4000.0, 4000.0, 0.0],  # a floor: not counted
        },
        index=["Europe 1", "Asia 2", "Africa 3", "Oceania 4"],
    )
    text = comparison.blocks_sentence(by_block, ["prior", "PlaNet", "frozen k-NN"])
    # prior: 30,000 + 30,000 of 60,000.5 image-points come from its two best blocks
    assert "Europe 1 (3,000) and Asia 2 (1,000) give 100 % of its GeoScore" in text
    assert text.endswith(
        "Of the 4 blocks, the learned families beat it in: PlaNet in 2."
    )


def test_letter_groups_share_a_letter_exactly_where_a_pair_is_not_apart():
    # a ~ b ~ c but a is apart from c: the groups overlap and never chain a to c
    apart = {("a", "c"), ("a", "d"), ("b", "d")}
    groups = comparison.letter_groups(list("abcd"), lambda x, y: (x, y) in apart)
    assert groups == [["a", "b"], ["b", "c"], ["c", "d"]]
    # not monotone: b is apart from c, yet not from d below it (a wide interval)
    groups = comparison.letter_groups(list("abcd"), lambda x, y: (x, y) == ("b", "c"))
    for x, y in itertools.combinations("abcd", 2):
        shared = any(x in g and y in g for g in groups)
        assert shared == ((x, y) != ("b", "c")), (x, y, groups)
    assert comparison.letter_groups(list("abc"), lambda x, y: False) == [list("abc")]
    assert comparison.letter_groups(list("abc"), lambda x, y: True) == [
        ["a"],
        ["b"],
        ["c"],
    ]


def test_lessons_group_claims_by_idea_and_hold_an_idea_only_at_every_seed():
    def planet(gap, seed):
        # the chord claim is about new places, where b is no worse than a
        ev, about = _ev(gap, seed, new_gap_km=0.0), ("class_chord",)
        c = Claims(ev, regimes.REGIMES, seed=seed, generalisation=about)
        c.add(Claim("class_distance", "cells beat regression", "a", "b", "median_km"))
        c.add(Claim("class_chord", "cells beat chords", "a", "b", "median_km"))
        c.add(Claim("fine_coarse_25", "fine beats coarse", "b", "a", "median_km"))
        c.add(Claim("album_750", "albums", "a", "b", "median_km", untestable="none"))
        c.judge()
        return {"claims": c.records()}

    by_seed = {s: {"planet": planet(300.0 * (s < 2), s)} for s in (0, 1, 2)}
    two = comparison.lessons_table({s: by_seed[s] for s in (0, 1)})
    assert list(two.index.get_level_values("idea").unique()) == [
        "classify, do not regress",
        "more evidence at test time",
        "finer cells near, coarser cells far",
    ]
    untested = two.loc[("more evidence at test time", "albums")]  # no judgement at all
    assert untested["over seeds"] == cl.NOT_TESTABLE
    assert untested[comparison.EFFECT] == "–"
    row = two.loc[("classify, do not regress", "cells beat regression")]
    assert row["seen places"] == "✓ ✓" and row["over seeds"] == cl.REPRODUCED
    # a fall in km error is an effect the claim's way: positive
    assert row[comparison.EFFECT].startswith("+") and row["new places"] == "e e"
    kinds = comparison._idea_kinds(two)
    chords = two.loc[("classify, do not regress", "cells beat chords")]
    assert chords["judged on"] == "new places" and chords["seen places"] == "✓ ✓"
    assert "new places, 8 folds" not in two.columns  # no claim was judged there
    assert chords["over seeds"] == cl.INCONCLUSIVE  # judged where it is about
    assert kinds["partly"] == ["classify, do not regress (1 of 2 claims)"]
    assert kinds["failed"] == ["finer cells near, coarser cells far"]
    # the summary says the same as a list, in its own words
    stable = comparison.stability_table({s: by_seed[s] for s in (0, 1)})
    ch = types.SimpleNamespace(cfg=types.SimpleNamespace(seed=0))
    listed = comparison.summary(ch, {}, stable, two, n_seeds=2).split("\n")
    assert [line.split("**")[1] for line in listed] == [
        "Findings",
        "Ideas that held",
        "Ideas that failed",  # finer cells near, coarser far: not reproduced
        "New ground",
        "Not testable here",  # albums: no judgement at any seed
    ]
    assert listed[2] == "- **Ideas that failed**: finer cells near, coarser cells far."
    assert listed[0].startswith("- **Findings**: 2 of 4 claims keep one decisive")
    assert listed[1] == (
        "- **Ideas that held**: none; in part, classify, do not regress "
        "(1 of 2 claims)."
    )
    assert listed[3].startswith("- **New ground**: 0 of the 1 claims judged there")
    assert listed[4] == "- **Not testable here**: more evidence at test time."
    # seed 2 has no gap: nothing is decided at every seed any more
    three = comparison.lessons_table(by_seed)
    assert set(three["over seeds"]) == {
        "seed-dependent",
        cl.INCONCLUSIVE,
        cl.NOT_TESTABLE,
    }
    assert "classify, do not regress" in comparison._idea_kinds(three)["open"]
    one = comparison.lessons_table({0: by_seed[0]})  # one seed: failed, provisional
    assert comparison._idea_kinds(one)["failed"] == [
        "finer cells near, coarser cells far"
    ]


def test_a_claim_is_read_in_the_regime_that_can_detect_the_least():
    """A claim about new places judged on one model's 7 discs and on 38 blocks of
    folds is read on the folds, as its chapter's table shows it."""
    inf = float("inf")
    js = {
        "seen": {"verdict": cl.REPRODUCED, "detectable": 10.0},
        "new": {"verdict": cl.INCONCLUSIVE, "detectable": inf},
        "folds": {"verdict": cl.NOT_REPRODUCED, "detectable": 190.0},
    }
    rec = {"about": "new", "untestable": "", "judgements": js, "text": "a beats b"}
    assert comparison.judged_on(rec) == "folds"
    assert comparison.judged_on({**rec, "about": "seen"}) == "seen"
    del js["folds"]
    assert comparison.judged_on(rec) == "new"
    js["folds"] = {"verdict": cl.NOT_REPRODUCED, "detectable": 190.0}
    table = comparison.stability_table(
        {0: {"planet": {"claims": [{**rec, "key": "k"}]}}}
    )
    row = table.loc[("2 PlaNet", "a beats b")]
    assert row["judged on"] == "new places, 8 folds"
    assert row["verdict"] == cl.NOT_REPRODUCED
    assert row["new places, 8 folds"] == "✗"


def test_effects_point_the_claims_way_and_skip_what_cannot_be_tested():
    found = {"planet": {"claims": _records(300.0, 0)}}
    e = comparison.effects(found).set_index(["claim", "regime"])
    # b is 300 km worse than a: "a beats b" (lower km) is +300 in its direction,
    # "b beats a" about -300; the untestable claim has no row, and each claim is
    # shown in the one regime that decides it (its new-places estimate is not)
    steady = e.loc[("2 · a beats b", "seen places")]
    flaky = e.loc[("2 · b beats a", "seen places")]
    assert 200 < steady["effect"] < 400 and -400 < flaky["effect"] < -200
    assert steady["low"] < steady["effect"] < steady["high"]
    assert flaky["high"] < 0 and flaky["verdict"] == cl.NOT_REPRODUCED
    assert not e.index.get_level_values("regime").isin(["new places"]).any()
    assert steady["unit"] == "km of median error" and not any(
        "albums" in c for c, _ in e.index
    )
    # seeds that disagree, one of them decisive, are drawn as seed-dependent
    record = found["planet"]["claims"][0]["judgements"]["seen"]
    record["seed_verdicts"] = [cl.REPRODUCED, cl.INCONCLUSIVE]
    e = comparison.effects(found).set_index(["claim", "regime"])
    assert e.loc[("2 · a beats b", "seen places"), "verdict"] == cl.SEED_DEPENDENT
    fig = plots.forest(e.reset_index())
    assert [ax.get_ylim() for ax in fig.axes] == [(1.5, -0.5)]
    # a claim against the prior gets a panel of its own; a too-narrow interval says so
    record |= {"still_correlated": 0.4}
    found["planet"]["claims"][1] |= {"worse": "prior"}
    e = comparison.effects(found).set_index(["claim", "regime"])
    assert ("2 · a beats b (interval too narrow)", "seen places") in e.index
    against = e.loc[("2 · b beats a", "seen places"), "unit"]
    assert against == "km of median error, against the prior"


def test_a_family_is_read_on_the_folds_by_the_model_its_chapter_replicated():
    """The headline where the chapter evaluated it on the folds, else the method its
    ``fold_headlines`` names; a family with neither is left out of the folds."""
    chapters = {
        "planet": {"results": {"folds": {"mean": {}}}},
        "two_stage_vit": {
            "results": {
                "folds": {"stage 2": {}},
                "fold_headlines": {"contrastive retrieval": "stage 2"},
            }
        },
        "scene_networks": {"results": {"folds": {"hierarchy": {}}}},
    }
    fams = {
        "PlaNet": ("planet", "mean"),
        "direct regression": ("planet", "distance"),
        "contrastive retrieval": ("two_stage_vit", "control"),
        "scene-aware": ("scene_networks", "CSNs"),
    }
    assert comparison.fold_families(chapters, fams) == {
        "PlaNet": ("planet", "mean"),
        "contrastive retrieval": ("two_stage_vit", "stage 2"),
    }


def test_the_why_sentence_reads_look_ups_and_classifiers_from_their_errors():
    rng = np.random.default_rng(1)
    meta = pd.DataFrame(
        {"lat": rng.uniform(-50, 50, 300), "lon": rng.uniform(-170, 170, 300)}
    )
    ev = Evaluations({"test": meta, "test_new": meta})
    km = {  # every image's error in km, on seen and on new places
        "contrastive retrieval": (500.0, 3000.0),
        "frozen k-NN": (800.0, 3000.0),
        comparison.ORACLE: (10.0, 900.0),
        "prior": (4000.0, 2000.0),
        "PlaNet": (600.0, 2400.0),
        "PIGEON": (600.0, 2600.0),
        "scene-aware": (700.0, 2450.0),
    }
    for method, (seen_km, new_km) in km.items():
        for split, d in (("test", seen_km), ("test_new", new_km)):
            lat, lon = destination(meta.lat.to_numpy(), meta.lon.to_numpy(), 0.0, d)
            ev.add(method, split, lat, lon)
    text = comparison.why_sentence(ev, regimes.SEEN, regimes.NEW)
    gain = (
        ev.metrics("contrastive retrieval", "test")["geoscore"]
        - ev.metrics("frozen k-NN", "test")["geoscore"]
    )
    assert "the nearest one lies a median 900 km away" in text
    said = f"gains {gain:+,.0f} GeoScore over the frozen k-NN on seen places and +0 on"
    assert said in text
    shares = "PlaNet 100.0 %, PIGEON 0.0 %, scene-aware 100.0 %, prior 100.0 %, "
    shares += "contrastive retrieval 0.0 %."
    assert f"within 2,500 km: {shares}" in text
    # no classifier above the prior's share (100 %): said so
    assert text.endswith("on new ground the cells add little to where the photos are.")
    ev.done.pop(("PIGEON", "test_new"))  # a family not evaluated: nothing to say
    assert comparison.why_sentence(ev, regimes.SEEN, regimes.NEW) == ""


def test_forest_reads_a_panel_on_a_log_scale_only_when_one_effect_dwarfs_the_rest():
    e = pd.DataFrame(
        {
            "claim": list("abc"),
            "regime": "seen places",
            "unit": "GeoScore",
            "low": [-10.0, -5.0, 500.0],
            "effect": [0.0, 5.0, 1500.0],
            "high": [10.0, 15.0, 2500.0],
            "verdict": cl.INCONCLUSIVE,
        }
    )
    wide = plots.forest(e).axes[0]
    assert wide.get_xscale() == "symlog" and "log scale beyond ±10" in wide.get_xlabel()
    assert plots.forest(e.iloc[:2]).axes[0].get_xscale() == "linear"


def test_seed_ranks_read_other_seeds_from_their_results_and_name_a_new_leader():
    def run(scores):
        got = {f: {"Global": {"geoscore": v}} for f, v in scores.items()}
        return {"comparison": {"methods": {"test": got}}}

    groups = {"seen places": (["a", "prior", "b"], None, None, None, None)}
    by_seed = {0: {}, 1: run({"a": 1.0, "prior": 3.0, "b": 2.0}), 2: run({"b": 1.0})}
    ranks = comparison.seed_ranks(by_seed, groups, {"seen places": "test"}, seed=0)
    assert ranks["seen places"].to_dict() == {
        "a": "1 · 3 · –",
        "prior": "2 · 1 · –",
        "b": "3 · 2 · 1",
    }
    assert comparison.leaders_sentence(ranks, [0, 1, 2]) == (  # floors aside
        "On seen places, the learned leader changes with the seed: a at seed 0, b at "
        "seed 1, b at seed 2; the prior outranks every one at seed 1."
    )
    steady = comparison.seed_ranks(
        {0: {}, 1: run({"a": 5.0, "b": 1.0})}, groups, {"seen places": "test"}, seed=0
    )
    assert (
        comparison.leaders_sentence(steady, [0, 1])
        == "On seen places, a leads the learned families at every seed run."
    )


def test_cost_table_gives_each_timing_as_its_median_over_the_seeds_and_its_range():
    def run(seconds, speed):
        cost = {"train_seconds": seconds, "images_per_s": speed, "epochs": 8}
        return {"planet": {"cost": {"m": {**cost, "parameters_m": 1.0}}}}

    by_seed = {0: run(10.0, 100.0), 1: run(30.0, 300.0), 2: run(12.0, 50.0)}
    cost = comparison.cost_table(by_seed, {"PlaNet": ("planet", "m")})
    row = cost.loc["PlaNet"]
    assert (row["train_seconds"], row["images_per_s"]) == (12.0, 100.0)
    assert row["train_seconds_range"] == "10.0 to 30.0" and row["seeds_timed"] == 3
    assert row["images_per_s_range"] == "50 to 300"
    short = comparison.cost_table(
        {0: run(2.3, 9.0), 1: run(2.8, 9.0)}, {"p": ("planet", "m")}
    )
    assert short.loc["p", "train_seconds_range"] == "2.30 to 2.80"  # not "2 to 3"
    # the figure draws each timing's range as a bar through its median
    assert cost.attrs["ranges"]["train_seconds"]["PlaNet"] == (10.0, 30.0)
    fig = plots.accuracy_vs_cost(cost, pd.Series({"PlaNet": 2000.0}))
    bars = [c for ax in fig.axes for c in ax.collections if hasattr(c, "get_segments")]
    spans = sorted(tuple(b.get_segments()[0][:, 0]) for b in bars)
    assert spans == [(10.0, 30.0), (50.0, 300.0)]


def test_takeaways_say_only_what_held_at_every_seed():
    rows = [
        ("classify, do not regress", "cells beat regression"),
        ("more evidence at test time", "fusing three renderings beats one view"),
        ("beat the prior", "a beats the prior"),
    ]
    ideas = pd.DataFrame(
        {
            "over seeds": [cl.REPRODUCED, cl.REPRODUCED, cl.INCONCLUSIVE],
            "judged on": ["seen places", "seen places", "new places, 8 folds"],
        },
        index=pd.MultiIndex.from_tuples(rows, names=["idea", "claim"]),
    )
    ranks = pd.DataFrame(
        {
            "seen places": {"A": "1 · 1", "B": "2 · 2", "prior": "3 · 4"},
            "new places": {"A": "1 · 2", "B": "2 · 1", "prior": "3 · 3"},
        }
    )

    def take(table, views=(3194.0, 3277.0, 2940.0, 2270.0)):
        return comparison.takeaways(
            table, ranks, views=views, weak_regressors=True, nearest_km=875.0, seed=0
        )

    said = take(ideas)
    assert said[0].endswith(
        "though against regressors little better than the prior here."
    )
    # the split stated outright: more images +670, variety +254 over a typical one
    assert (
        "seen places, 3,194 GeoScore against one view's 2,270). Most of the gain "
        "comes from re-rendering, not mixing the conditions: one condition rendered "
        "three times already gives 2,940 on average and 3,277 for the best." in said[1]
    )
    mixing = take(ideas, views=(3194.0, 3277.0, 2400.0, 2270.0))
    assert "comes from mixing the conditions: one condition rendered" in mixing[1]
    assert "Crops cut from one image" not in said[1]  # crops were not judged here
    crops = [
        ("more evidence at test time", t) for t in ("3 crops beat 1", "5 crops beat 3")
    ]
    cropped = pd.concat(
        [
            ideas,
            ideas.iloc[[1, 1]].set_axis(
                pd.MultiIndex.from_tuples(crops, names=["idea", "claim"])
            ),
        ]
    )
    cropped.iloc[-2:, 0] = cl.INCONCLUSIVE  # neither number of crops held
    with_crops = take(cropped)
    assert with_crops[1].endswith(
        "stayed undecided at every seed, perhaps because the network never trained "
        "on crops (chapter 5)."
    )
    cropped.iloc[-1, 0] = cl.SEED_DEPENDENT  # five crops held at one seed
    assert "did not hold at every seed" in take(cropped)[1]
    assert "a median 875 km away" in said[2]
    # the learned families keep their seen-places ranks (the prior's moves), not new
    assert said[3].startswith("Trust a ranking on seen places")
    ideas["over seeds"] = cl.INCONCLUSIVE
    none = comparison.takeaways(
        ideas,
        ranks[["seen places"]],
        views=None,
        weak_regressors=False,
        nearest_km=None,
        seed=0,
    )
    assert none == []


def test_an_undecided_idea_leans_only_where_its_intervals_point_one_way():
    rows = [
        ("smooth labels by distance", "smoothing beats one-hot"),
        ("more to learn from", "an album model beats voting"),
        ("more to learn from", "extra targets help"),
        ("route by scene", "specialists beat one network"),
        ("route by scene", "the scene as an input helps"),
    ]
    verdicts = [
        cl.INCONCLUSIVE + comparison.LEANS[0],
        "seed-dependent" + comparison.LEANS[1],
        cl.INCONCLUSIVE,
        cl.INCONCLUSIVE + comparison.LEANS[0],
        cl.NOT_REPRODUCED,
    ]
    effects = ["+40 GeoScore", "-262 GeoScore", "+1", "+96 GeoScore", "-5"]
    ideas = pd.DataFrame(
        {"over seeds": verdicts, "judged on": ["seen places"] * 5},
        index=pd.MultiIndex.from_tuples(rows, names=["idea", "claim"]),
    ).assign(**{comparison.EFFECT: effects})
    kinds = comparison._idea_kinds(ideas)
    assert kinds["leans"] == ["smooth labels by distance"]
    assert kinds["leans against"] == ["more to learn from (1 of 2 claims)"]
    # claims pointing both ways (a lean for, a failure against) are mixed hints
    assert kinds["mixed"] == ["route by scene"]
    assert kinds["open"] == []
    stable = pd.DataFrame(
        {"verdict": [cl.INCONCLUSIVE], "control": [False], comparison.SAME: ["no"]}
    ).assign(**{"judged on": "seen places"})
    ch = types.SimpleNamespace(cfg=types.SimpleNamespace(seed=0))
    said = comparison.summary(ch, {}, stable, ideas, n_seeds=3)
    # every leaning claim is counted, whatever its idea's other claims do
    assert (
        "- **Undecided, leaning**: 2 of the ideas' claims lean their way and 1 " in said
    )


def test_how_sure_gives_each_idea_its_claims_regimes_and_strength():
    rows = [
        ("beat the prior", "PlaNet beats the prior"),
        ("route by scene", "specialists beat one network"),
        ("classify, do not regress", "cells beat regression"),
        ("classify, do not regress", "cells beat chords"),
    ]
    verdicts = [cl.INCONCLUSIVE, cl.INCONCLUSIVE + comparison.LEANS[1], cl.REPRODUCED]
    ideas = pd.DataFrame(
        {
            "over seeds": [*verdicts, cl.INCONCLUSIVE],
            "judged on": ["new places", "seen places", "seen places", "new places"],
        },
        index=pd.MultiIndex.from_tuples(rows, names=["idea", "claim"]),
    )
    table = comparison.how_sure(ideas)
    assert list(table.index) == [  # findings first, the open questions last
        "classify, do not regress",
        "route by scene",
        "beat the prior",
    ]
    assert table["claims"].tolist() == [2, 1, 1]
    classify = table.loc["classify, do not regress"]
    assert classify["judged on"] == "seen places; new places"
    assert classify["how sure"] == "held in part: 1 of 2 claims a finding at every seed"
    assert classify["question"] == comparison.IDEAS["classify, do not regress"][0]
    assert table.loc["route by scene", "how sure"] == (
        "undecided, leaning against it: a hint"
    )
    assert table.loc["beat the prior", "how sure"] == "undecided either way"
    # the introduction's short table keeps the ideas with a finding, qualified where
    # classification only beat a regressor near the prior
    short = comparison.how_sure(ideas, weak_regression=True, decided=True)
    assert list(short.index) == ["classify, do not regress"]
    assert short.iloc[0]["how sure"].endswith(", against regressors near the prior")


def test_the_ideas_table_marks_an_undecided_claim_whose_interval_leans():
    def record(ci, verdict=cl.INCONCLUSIVE):
        judged = {"verdict": verdict, "difference": 50.0, "detectable": 400.0}
        judged |= {"pooled_difference": 40.0, "pooled_ci95": ci}
        return {
            "key": "smooth_s2",
            "text": "smoothing beats one-hot labels (S2 cells)",
            "metric": "geoscore",
            "about": "seen",
            "untestable": "",
            "judgements": {"seen": judged},
        }

    for ci, marked in (
        ([12.0, 70.0], cl.INCONCLUSIVE + comparison.LEANS[0]),
        ([-70.0, -12.0], cl.INCONCLUSIVE + comparison.LEANS[1]),
        ([-12.0, 70.0], cl.INCONCLUSIVE),
    ):
        by_seed = {s: {"pigeon": {"claims": [record(ci)]}} for s in (0, 1)}
        table = comparison.lessons_table(by_seed)
        assert table["over seeds"].tolist() == [marked]
    # an interval its blocks leave too narrow is no hint, however far it leans
    narrow = record([12.0, 70.0])
    narrow["judgements"]["seen"]["still_correlated"] = 0.4
    table = comparison.lessons_table(
        {s: {"pigeon": {"claims": [narrow]}} for s in (0, 1)}
    )
    assert table["over seeds"].tolist() == [cl.INCONCLUSIVE]


def test_every_claim_but_the_controls_belongs_to_exactly_one_idea():
    listed = [key for _, keys in comparison.IDEAS.values() for key in keys.split(", ")]
    assert len(listed) == len(set(listed))  # no claim counts for two ideas
    claimed = {
        f"{name}:{c.key}": c.control
        for name, chapter in CHAPTERS.items()
        for c in chapter.claims
    }
    assert set(listed) == {key for key, control in claimed.items() if not control}
