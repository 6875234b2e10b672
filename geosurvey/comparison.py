"""The comparison chapter's reading of the other chapters: one representative per method
family, evaluated again on the same test sets of both regimes, every claim's verdict at
every seed that was run, and every family's cost. Nothing is retrained."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from . import baselines, claims, folds, metrics, results, stats
from .chapters import pigeon
from .chapters.registry import CHAPTERS as ALL_CHAPTERS
from .chapters.registry import COMPARISON, FAMILIES
from .claims import CONTROL
from .metrics import THRESHOLDS_KM
from .regimes import BY_KEY, FOLDS

# the chapters it reads (results name: notebook), and what a table calls each chapter
CHAPTERS = {n: c.notebook for n, c in ALL_CHAPTERS.items() if n != COMPARISON.name}
TITLES = {n: c.label for n, c in ALL_CHAPTERS.items()}
SEEDS = (0, 1, 2)

# im2gps3k, accuracy % within 1 / 25 / 200 / 750 / 2500 km, as later papers quote it
PUBLISHED_IM2GPS3K = {
    "PlaNet": ("PlaNet, as reproduced in CPlaNet", (8.5, 24.8, 34.3, 48.4, 64.6)),
    "scene-aware": (
        "Müller-Budack et al. ISNs(M, f*, S3)",
        (10.5, 28.0, 36.6, 49.7, 66.0),
    ),
    "PIGEON": ("PIGEOTTO", (11.3, 36.7, 53.8, 72.4, 85.3)),
    "contrastive retrieval": ("GeoCLIP", (14.11, 34.47, 50.65, 69.67, 83.82)),
}
# the references beside the learned families: what needs no training, the simplest
# learned answer, and the nearest-training-location oracle (it reads the truth)
PRIOR, RAW, FROZEN = "prior", "raw-pixel k-NN", "frozen k-NN"
ORACLE = "nearest-training oracle"
FLOORS = (PRIOR, RAW, FROZEN, "direct regression", ORACLE)


def load_chapters(cfg) -> dict:
    """``{chapter: {"results": ..., "ev": Evaluations}}`` for the profile and seed of
    ``cfg``; a missing or mismatched chapter is an error that says which chapter to run.
    """
    out = {}
    for name, notebook in CHAPTERS.items():
        res = results.load_json(name, cfg.results_dir)
        if (res["profile"], res["seed"]) != (cfg.name, cfg.seed):
            raise ValueError(
                f"{cfg.results_dir / name}.json comes from profile "
                f"{res['profile']!r}, seed {res['seed']}; execute {notebook} with "
                f"profile {cfg.name!r}, seed {cfg.seed} first "
                f"(geosurvey run {name} --profile {cfg.name} --seed {cfg.seed})"
            )
        out[name] = {
            "results": res,
            "ev": results.load_predictions(name, cfg.results_dir),
        }
    return out


def families(chapters) -> dict:
    """``{family: (chapter, method)}``: the floors, then each family's representative,
    named by its chapter (its headline, chosen on validation)."""
    out = {
        PRIOR: ("data_and_metrics", baselines.PRIOR),
        RAW: ("data_and_metrics", baselines.RAW),
        FROZEN: ("data_and_metrics", baselines.FROZEN),
        ORACLE: ("data_and_metrics", baselines.ORACLE),
    }
    for family, chapter in FAMILIES:
        out[family] = (chapter, chapters[chapter]["results"]["headlines"][family])
    return out


def add_families(ch, chapters, fams: dict, regimes=None) -> None:
    """Every family's predictions, as its chapter made them, on the test sets of ``ch``
    (of ``regimes``: default, all of its regimes); the chapters must have used the same
    rows (the same profile and seed)."""
    for family, (chapter, method) in fams.items():
        ev = chapters[chapter]["ev"]
        for r in ch.regimes if regimes is None else regimes:
            mine = ch.evaluations.sets[r.test].meta[["lat", "lon"]].to_numpy()
            theirs = ev.sets[r.test].meta[["lat", "lon"]].to_numpy()
            if mine.shape != theirs.shape or not np.allclose(mine, theirs):
                raise ValueError(
                    f"{chapter} evaluated {family} on other {r.name} rows: "
                    "run every chapter with one profile and seed"
                )
            ch.evaluations.add(family, r.test, *ev.predicted(method, r.test))


def fold_families(chapters, fams: dict) -> dict:
    """``{family: (chapter, method)}`` on the folds: each family of ``fams`` whose
    chapter trained a model of it in the folds, represented by that model (its
    headline where the chapter evaluated the headline there, else the method the
    chapter's ``fold_headlines`` name)."""
    out = {}
    for family, (chapter, method) in fams.items():
        res = chapters[chapter]["results"]
        method = res.get("fold_headlines", {}).get(family, method)
        if method in res.get("folds", {}):
            out[family] = (chapter, method)
    return out


def add_fold_families(ch, chapters, fams: dict) -> dict:
    """The families of ``fams`` that have a model on the folds (:func:`fold_families`),
    evaluated on the folds' test set of ``ch``, which judges claims there too; what
    was added (none where the run has no folds)."""
    on_folds = fold_families(chapters, fams)
    if on_folds:
        folds.start(ch, folds.of_run(ch))
        add_families(ch, chapters, on_folds, regimes=(FOLDS,))
    return on_folds


def seed_verdicts(root, seeds=SEEDS, *, current=None) -> dict:
    """``{seed: {chapter: results}}`` of every seed whose results exist below
    ``root``, this chapter's included; ``current``: this run of the comparison, whose
    own claims (judged, not yet written) stand for its seed."""
    out = {}
    for seed in seeds:
        folder = results.seed_dir(root, seed)
        found = {
            c: results.load_json(c, folder)
            for c in TITLES
            if (folder / f"{c}.json").exists()
        }
        if found:
            out[seed] = found
    if current is not None:
        records = {"claims": current.claims.records()}
        out.setdefault(current.cfg.seed, {})["comparison"] = records
    return dict(sorted(out.items()))


def _verdict(record: dict, regime: str):
    if record["untestable"]:
        return claims.NOT_TESTABLE
    j = record["judgements"].get(regime)
    return None if j is None else j["verdict"]


def judged_on(record: dict) -> str:
    """The regime a claim's record is judged on (:func:`geosurvey.claims.judged_on`)."""
    about, js = record["about"], record["judgements"]
    return claims.judged_on(about, {r: j["detectable"] for r, j in js.items()}) or about


def _marks(table: pd.DataFrame, regimes) -> pd.DataFrame:
    """``table`` without the regimes' columns that hold no judgement at any seed (only
    not run, or untestable claims' n/t)."""
    names = [BY_KEY[r].name for r in regimes]
    empty = [n for n in names if table[n].str.fullmatch(r"(–|n/t| )*").all()]
    return table.drop(columns=empty)


ALL_REGIMES = ("seen", "new", "folds")
# the stability table's column: yes, "yes, undecided", no, not testable or ONE_SEED
SAME = "same verdict at every seed"
ONE_SEED = "one seed run"


def stability_table(by_seed: dict, regimes=ALL_REGIMES) -> pd.DataFrame:
    """Every claim of every chapter: its verdict at each seed in each regime (✓
    reproduced, ✗ not reproduced, ? inconclusive, n/t not testable here, e estimate
    only, – not run), and whether the verdict in the regime the claim is judged on
    (:func:`judged_on`) is the same at every seed."""
    rows = {}
    seeds = sorted(by_seed)
    for chapter in TITLES:
        records = {
            s: {c["key"]: c for c in by_seed[s].get(chapter, {}).get("claims", [])}
            for s in seeds
        }
        keys = list(dict.fromkeys(k for s in seeds for k in records[s]))
        for key in keys:
            recs = [records[s].get(key) for s in seeds]  # None: not run at that seed
            first = next(c for c in recs if c)
            on = judged_on(first)
            row = {"judged on": BY_KEY[on].name}
            for r in regimes:
                marks = (claims.MARK[_verdict(c, r) if c else None] for c in recs)
                row[BY_KEY[r].name] = " ".join(marks)
            about = [_verdict(c, on) if c else None for c in recs]
            same = None not in about and len(set(about)) == 1
            yes = {claims.NOT_TESTABLE: claims.NOT_TESTABLE}.get(about[0], "yes")
            yes += ", undecided" * (about[0] in (claims.INCONCLUSIVE, claims.ESTIMATE))
            row[SAME] = (yes if same else "no") if len(seeds) > 1 else ONE_SEED
            mixed = claims.over_seeds(about, claims.INCONCLUSIVE)  # as the forest plot
            row["verdict"] = about[0] if same or len(seeds) == 1 else mixed
            row["control"] = first.get("control", False)
            name = first["text"] + CONTROL * row["control"]
            rows[(TITLES[chapter], name)] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    return _marks(table.rename_axis(["chapter", "claim"]), regimes)


def _findings(table: pd.DataFrame, n_seeds: int) -> pd.DataFrame:
    """The stability table's findings: decisive, not controls, alike at every seed."""
    sure = table["verdict"].isin(claims.DECISIVE) & ~table["control"]
    return table[sure & (table[SAME].eq("yes") if n_seeds > 1 else True)]


def _counted(table: pd.DataFrame) -> str:
    """``50 claims (and 2 controls)``: the claims a finding can come from."""
    n = int(table["control"].sum())
    return f"{len(table) - n} claims" + f" (and {n} controls)" * bool(n)


def lessons(table: pd.DataFrame, n_seeds: int) -> str:
    """The findings (:func:`_findings`; provisional with one seed) and the rest."""
    decisive = _findings(table, n_seeds)
    if n_seeds < 2:
        head = (
            f"Only one seed's results exist, so no verdict is yet known to be stable "
            f"across seeds (`make book` executes seeds 1 and 2 as well). At this seed "
            f"{len(decisive)} of {_counted(table)} are decisive in the regime they "
            "are judged on, after Holm's correction: provisional findings until other "
            "seeds agree."
        )
    else:
        head = (
            f"Of {_counted(table)}, {len(decisive)} have the same decisive verdict "
            f"at all {n_seeds} seeds in the regime they are judged on, after Holm's "
            f"correction; {int(table['verdict'].eq(claims.SEED_DEPENDENT).sum())} "
            "change verdict with the seed."
        )
    parts = [head]
    checks = table.loc[table["control"], "verdict"].items()
    if said := [f"- {c.removesuffix(CONTROL)}: {v}" for (_, c), v in checks]:
        parts.append("Controls check the set-up; they are not findings:")
        parts.append("\n".join(said))
    for verdict in (claims.REPRODUCED, claims.NOT_REPRODUCED):
        found = decisive[decisive["verdict"] == verdict]
        names = found.index.get_level_values("claim").tolist()
        if names:
            every = " at every seed" * (n_seeds > 1)
            parts.append(f"**{verdict}**{every} ({len(names)}):")
            parts.append("\n".join(f"- {name}" for name in names))
    return "\n\n".join(parts)


# each idea the chapters test: the question it answers, and the claims that isolate it
IDEAS = {
    "beat the floors where the ground was seen": (
        "Do the learned families beat the prior and the frozen k-NN on seen places?",
        "comparison:PlaNet_frozen, comparison:PlaNet_prior, comparison:PIGEON_prior, "
        "comparison:contrastive retrieval_prior, comparison:scene-aware_prior, "
        "two_stage_vit:cnn_frozen",
    ),
    "one constant answer as a floor": (
        "Does a k-NN beat the prior's one answer within 2,500 km, on features and on "
        "pixels?",
        "data_and_metrics:frozen_prior_2500, data_and_metrics:raw_prior_2500",
    ),
    "pretrained features over pixels": (
        "Do a pretrained network's features find a place better than its raw pixels?",
        "data_and_metrics:frozen_raw_25, data_and_metrics:frozen_raw_2500",
    ),
    "classify, do not regress": (
        "Does a classifier over cells beat direct regression of the coordinates?",
        "planet:class_distance, planet:class_chord",
    ),
    "more evidence at test time": (
        "Do more views, crops or photos of a place, seen at test time, help?",
        "pigeon:views, planet:album_750, scene_networks:crops3, scene_networks:crops5",
    ),
    "combine a cell hierarchy": (
        "Does multiplying the probabilities of nested cells beat the finest alone?",
        "scene_networks:hier_fine, scene_networks:hier_fine_new",
    ),
    "finer cells near, coarser cells far": (
        "Do finer cells win at short distances and coarser cells at long ones?",
        "planet:fine_coarse_25, planet:coarse_fine_2500",
    ),
    "smooth labels by distance": (
        "Do labels smoothed by distance train a better classifier than one-hot?",
        "pigeon:smooth_semantic, pigeon:smooth_s2",
    ),
    "train beyond pretrained features (new ground)": (
        "Does training beyond pretrained features help on ground no image shows?",
        "planet:finetune_frozen, comparison:PIGEON_frozen, "
        "comparison:contrastive retrieval_frozen, comparison:scene-aware_frozen",
    ),
    "contrastive stages and schedules": (
        "Does a triplet stage, hierarchical loss or staged schedule help retrieval?",
        "two_stage_vit:triplet_median, two_stage_vit:triplet_median_new, "
        "two_stage_vit:triplet_25, two_stage_vit:triplet_europe, "
        "two_stage_vit:hierarchical, two_stage_vit:multistage, "
        "two_stage_vit:triplet_na, two_stage_vit:triplet_control",
    ),
    "route by scene": (
        "Do scene-routed specialists, or the scene as an input, beat one network?",
        "scene_networks:csn, scene_networks:csn_new, scene_networks:csn_1, "
        "scene_networks:csn_2, scene_networks:csn_3, scene_networks:scene_input",
    ),
    "the whole scene-aware model": (
        "Does Lo et al.'s whole scene-aware model beat one classifier at 2,500 km, "
        "and lose to it at 1 km?",
        "scene_networks:full_basic_2500, scene_networks:basic_full_1",
    ),
    "cells that follow geography": (
        "Do cells along borders and clusters beat S2 squares?",
        "pigeon:semantic_s2, pigeon:semantic_s2_new",
    ),
    "answer from inside the cell": (
        "Does answering with the predicted cell's photos beat its centre or mean?",
        "planet:mean_centre_median, pigeon:refine_25, pigeon:refine_200",
    ),
    "extra training targets": (
        "Do targets trained beside the cells (geography, coarser cells) help?",
        "pigeon:aux, scene_networks:multi_single",
    ),
    "a learned album model": (
        "Does a learned album model beat averaging its photos' predictions?",
        "planet:lstm_vote",
    ),
    "a transformer from scratch on a few thousand tiles": (
        "Does a transformer trained from scratch on frozen CNN features beat the CNN, "
        "and does its attention help?",
        "two_stage_vit:hybrid_cnn, two_stage_vit:attention",
    ),
    "a pretrained transformer over a CNN": (
        "Does a pretrained ViT beat a pretrained CNN?",
        "two_stage_vit:vit_cnn",
    ),
    "beat the prior": (
        "Does a learned method beat the prior's one answer on ground no image shows?",
        "data_and_metrics:frozen_prior_score, planet:class_prior, "
        "pigeon:semantic_prior, two_stage_vit:cnn_prior",
    ),
}


EFFECT = "mean effect [95 % interval] (+: as claimed)"
# an undecided claim whose interval over the seeds lies wholly on one side of zero
LEANS = (", leans its way", ", leans against")


def lessons_table(by_seed: dict) -> pd.DataFrame:
    """Each idea of :data:`IDEAS` with the claims that isolate it: the verdict at
    every seed in each regime (marks as in :func:`stability_table`), and in the regime
    the claim is judged on (:func:`judged_on`), the verdict over the seeds (decisive
    only where every seed gives it) and the mean effect, positive where it goes the
    claim's way (a fall in an error in km is positive, as in the forest plot)."""
    rows = {}
    for idea, (_, keys) in IDEAS.items():
        for chapter, key in (k.split(":") for k in keys.split(", ")):
            recs = [
                c
                for s in sorted(by_seed)
                for c in by_seed[s].get(chapter, {}).get("claims", [])
                if c["key"] == key
            ]
            if not recs:
                continue
            about = judged_on(recs[0])
            row = {"judged on": BY_KEY[about].name}
            for r in ALL_REGIMES:
                row[BY_KEY[r].name] = " ".join(
                    claims.MARK[_verdict(c, r)] for c in recs
                )
            v = [_verdict(c, about) for c in recs]
            mixed = claims.over_seeds(v, claims.INCONCLUSIVE)
            row["over seeds"] = v[0] if len(set(v)) == 1 else mixed
            js = [c["judgements"].get(about) for c in recs]
            sign = claims.direction(recs[0]["metric"])  # positive: the claim's way
            d = [sign * j["difference"] for j in js if j]
            unit = claims.unit(recs[0]["metric"])  # an error in km: less or more
            more = "less" if np.mean(d or [0]) >= 0 else "more"
            unit = unit.replace(" of ", f" ({more} ") + ")" if sign < 0 else unit
            digits = 1 if unit == " points" else 0
            row[EFFECT] = f"{np.mean(d):+,.{digits}f}{unit}" if d else "–"
            if pooled := next((j for j in js if j and j.get("pooled_ci95")), None):
                mean, ci = sign * pooled["pooled_difference"], pooled["pooled_ci95"]
                ci, metric = sorted(sign * float(x) for x in ci), recs[0]["metric"]
                row[EFFECT] = metrics.with_interval(mean, ci, metric, sign=True) + unit
                narrow = pooled.get("still_correlated") is not None  # no hint
                undecided = (claims.INCONCLUSIVE, claims.SEED_DEPENDENT)
                if row["over seeds"] in undecided and not narrow:
                    row["over seeds"] += LEANS[0] * (ci[0] > 0) + LEANS[1] * (ci[1] < 0)
            rows[(idea, recs[0]["text"])] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    return _marks(table.rename_axis(["idea", "claim"]), ALL_REGIMES)


def _idea_kinds(table: pd.DataFrame) -> dict:
    """The ideas of a :func:`lessons_table` that held (every claim reproduced at every
    seed, in its deciding regime), failed, held in part, lean one way (undecided,
    with intervals over the seeds on one side of zero: :data:`LEANS`), or are open."""
    found = {k: [] for k in SURE}
    for idea, rows in table.groupby(level="idea", sort=False):
        kind, count, n = _idea_kind(rows["over seeds"].tolist())
        found[kind].append(idea + f" ({count} of {n} claims)" * (count < n))
    return found


def _idea_kind(v: list) -> tuple:
    """(kind, how many claims it rests on, how many claims) of an idea whose claims
    have the verdicts over seeds ``v`` (:func:`_idea_kinds`)."""
    n, hits = len(v), v.count(claims.REPRODUCED)
    its, against = (sum(x.endswith(lean) for x in v) for lean in LEANS)
    against += v.count(claims.NOT_REPRODUCED)  # a failed claim leans against too
    ways = {
        (True, False): "leans",
        (False, True): "leans against",
        (True, True): "mixed",
    }
    lean = ways.get((its > 0, against > 0), "open")
    alike = {
        (claims.REPRODUCED,): "held",
        (claims.NOT_REPRODUCED,): "failed",
        (claims.NOT_TESTABLE,): "untestable",
    }
    kind = alike.get(tuple(set(v)), "partly" if hits else lean)
    rests = {"partly": hits, "leans": its, "leans against": against}
    count = (rests | {"mixed": its + against}).get(kind, n)
    return kind, count, n


# how sure an idea's evidence is, by its kind (:func:`_idea_kind`)
SURE = {
    "held": "held at every seed: a finding",
    "failed": "failed at every seed: a finding against it",
    "partly": "held in part: {count} of {n} claims a finding at every seed",
    "leans": "undecided, leaning its way: a hint",
    "leans against": "undecided, leaning against it: a hint",
    "mixed": "undecided, with hints both ways",
    "open": "undecided either way",
    "untestable": "not testable here",
}


REGRESSOR = "direct regression"  # the family classification is judged against


def weak_regressor(ev, tests) -> dict:
    """``{regime name: (direct regression's GeoScore, the prior's)}`` on each regime of
    ``tests`` where the regressor has answers, when it scores below 1.25 times the
    prior on every one (a weak baseline for "classify, do not regress"), else ``{}``."""
    found = {
        r.name: tuple(ev.metrics(f, r.test)["geoscore"] for f in (REGRESSOR, PRIOR))
        for r in tests
        if ev.has(REGRESSOR, r.test)
    }
    return found if found and all(a < 1.25 * b for a, b in found.values()) else {}


def how_sure(
    ideas: pd.DataFrame, *, weak_regression: bool = False, decided: bool = False
) -> pd.DataFrame:
    """Per idea of a :func:`lessons_table`, findings first: its question, its claims,
    where they are judged and how sure their verdicts over the seeds make it (with
    ``weak_regression``, classification's against a regressor near the prior;
    ``decided``: only the ideas with a finding)."""
    rows, order = {}, list(SURE)
    weak = {"classify, do not regress": ", against regressors near the prior"}
    for idea, group in ideas.groupby(level="idea", sort=False):
        kind, count, n = _idea_kind(group["over seeds"].tolist())
        rows[idea] = {
            "question": IDEAS[idea][0],
            "claims": n,
            "judged on": "; ".join(dict.fromkeys(group["judged on"])),
            "how sure": SURE[kind].format(count=count, n=n)
            + f" ({count} of {n} claims)" * (count < n and kind != "partly")
            + weak.get(idea, "") * weak_regression,
            "kind": order.index(kind),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    if decided:  # held, failed or held in part
        table = table[table["kind"] < order.index("leans")]
    table = table.sort_values("kind", kind="stable").drop(columns="kind")
    return table.rename_axis("idea")


def _new_ground(table: pd.DataFrame, verdict: str = "over seeds") -> tuple:
    """(claims of a :func:`lessons_table`, or of a :func:`stability_table` with
    ``verdict="verdict"``, judged on new ground, how many decisive)."""
    new = table[table["judged on"] != BY_KEY["seen"].name]
    return len(new), int(new[verdict].isin(claims.DECISIVE).sum())


def _questions(ideas: list) -> str:
    """The questions of :data:`IDEAS` that ``ideas`` ask, one after another."""
    return " ".join(IDEAS[idea][0] for idea in ideas)


def views_control(chapters) -> tuple | None:
    """(chapter 3's fused views, the best and the mean of its controls, one condition
    rendered three times, and its one view) as seen-places GeoScores, or None where
    the run has no views."""
    ev = chapters["pigeon"]["ev"]
    again = [m for m in ev.methods("test") if m.endswith(pigeon.AGAIN.format(""))]
    if not again or not ev.has(pigeon.FUSED, "test"):
        return None
    score = [ev.metrics(m, "test")["geoscore"] for m in (pigeon.FUSED, *again)]
    one = ev.metrics(pigeon.MAIN, "test")["geoscore"]
    return score[0], max(score[1:]), float(np.mean(score[1:])), one


def _views_lesson(fused, best, mean, one, *, seed: int) -> str:
    """The lesson of chapter 3's views (:func:`views_control`) where fusing held."""
    cause = (
        "re-rendering, not mixing the conditions: one condition rendered three times "
        f"already gives {mean:,.0f} on average and {best:,.0f} for the best"
        if mean - one > fused - mean
        else "mixing the conditions: one condition rendered three times gives "
        f"{mean:,.0f} on average"
    )
    return (
        "Add evidence of the place at test time where the input offers it. Averaging "
        "the predictions for three renderings of a place beat one view at every seed "
        f"(chapter 3, section 3; at seed {seed} on seen places, {fused:,.0f} GeoScore "
        f"against one view's {one:,.0f}). Most of the gain comes from {cause}. This is "
        "test-time augmentation of one place, not PIGEON's four street views: a single "
        "photo has no second rendering."
    )


def _crops_lesson(verdicts: dict) -> str:
    """What chapter 5's crops, the evidence one photo allows, add to the lesson of the
    views, where neither number of crops held (``verdicts``: claim -> over seeds)."""
    crops = [
        verdicts.get(c.text)
        for c in ALL_CHAPTERS["scene_networks"].claims
        if c.key.startswith("crops")
    ]
    if not crops or None in crops or claims.REPRODUCED in crops:
        return ""
    undecided = all(v.startswith(claims.INCONCLUSIVE) for v in crops)
    return (
        " Crops cut from one image, which a single photo allows, "
        f"{'stayed undecided' if undecided else 'did not hold'} at every seed, perhaps "
        "because the network never trained on crops (chapter 5)."
    )


def takeaways(ideas, ranks, *, views, weak_regressors: bool, nearest_km, seed) -> list:
    """What a student should take from the comparison, one sentence each, from the
    ideas that held (:func:`lessons_table`), the ranks at each seed
    (:func:`seed_ranks`), chapter 3's control of its views (:func:`views_control`),
    whether the regressors scored below the prior, and how far new ground lies from
    the nearest training image (km, or None)."""
    kinds, (_, carried) = _idea_kinds(ideas), _new_ground(ideas)
    held, said = kinds["held"], []
    if "classify, do not regress" in held:
        weak = ", though against regressors little better than the prior here"
        said.append(
            "Classify over cells rather than regress coordinates: it held by GeoScore "
            f"on seen places at every seed{weak * weak_regressors}."
        )
    if "finer cells near, coarser cells far" in held:
        said.append(
            "Choose the cell size for the distance that matters: finer cells won "
            "within 25 km and coarser cells within 2,500 km at every seed."
        )
    verdicts = dict(zip(ideas.index.get_level_values("claim"), ideas["over seeds"]))
    views_claim = next(c.text for c in pigeon.CLAIMS if c.key == "views")
    fused_held = verdicts.get(views_claim) == claims.REPRODUCED
    if views and fused_held:
        said.append(_views_lesson(*views, seed=seed) + _crops_lesson(verdicts))
    if not carried and nearest_km is not None:
        said.append(
            "Claims about ground no training image shows stay open at this scale: "
            f"on one model's held-out discs the nearest training image lies a median "
            f"{nearest_km:,.0f} km away, and no claim about new ground was decisive "
            "at every seed. That "
            "is no evidence that nothing carries: tests on a few dozen blocks detect "
            "only large gaps (each chapter's claims table gives the smallest)."
        )
    if _seen_order_holds(ranks):
        said.append(
            "Trust a ranking on seen places more than one on new places: the order of "
            "the learned families on seen places is the same at every seed, while on "
            "new places it changes."
        )
    return said


def _seen_order_holds(ranks: pd.DataFrame) -> bool:
    """Whether the learned families of a :func:`seed_ranks` table keep their ranks at
    every seed on its first test set (seen places) but not on every other."""
    learned = ranks.drop(index=[f for f in FLOORS if f in ranks.index])
    steady = [
        column.str.split(" · ").map(lambda r: len(set(r)) == 1).all()
        for _, column in learned.items()
    ]
    return len(steady) > 1 and steady[0] and not all(steady)


LOOK_UP, CLASSIFIERS = "contrastive retrieval", ("PlaNet", "PIGEON", "scene-aware")
APART = 0.05  # a ranking's pair differs where the verdicts' test gives p below it


def why_sentence(ev, seen, new) -> str:
    """Why the families rank as they do on new places, in numbers: a look-up answers
    with training locations, a classifier with its cells' means ("" where one is
    missing)."""
    names = (LOOK_UP, FROZEN, ORACLE, PRIOR, *CLASSIFIERS)
    if not all(ev.has(f, r.test) for f in names for r in (seen, new)):
        return ""
    m = {r.key: {f: ev.metrics(f, r.test) for f in names} for r in (seen, new)}
    gain = {r: m[r][LOOK_UP]["geoscore"] - m[r][FROZEN]["geoscore"] for r in m}
    share = {f: m[new.key][f]["acc@2500km"] for f in (*CLASSIFIERS, PRIOR, LOOK_UP)}
    near = ", ".join(f"{f} {v:.1f} %" for f, v in share.items())
    text = (
        "A look-up answers with the location of a training image, and on new places "
        "the nearest one lies a median "
        f"{m[new.key][ORACLE]['median_km']:,.0f} km away (the oracle's error). "
        f"Contrastive retrieval, a look-up in a learned embedding, gains "
        f"{gain[seen.key]:+,.0f} GeoScore over the frozen k-NN on seen places and "
        f"{gain[new.key]:+,.0f} on new places at one seed (a difference, "
        "not a finding). A classifier answers with the mean location of a cell. "
        "Adaptive cells sit where training images are dense, as the prior's one "
        "answer does. The share of new-places images each answers within 2,500 km: "
        f"{near}."
    )
    if min(share[f] for f in CLASSIFIERS) > share[LOOK_UP]:
        text += (
            " So a classifier can score above a look-up on new ground without "
            "recognising the ground: its answers sit near dense regions, as the "
            "prior's does."
        )
    if max(share[f] for f in CLASSIFIERS) <= share[PRIOR]:
        text += (
            " No classifier puts more of them within 2,500 km than the prior's one "
            "answer does: on new ground the cells add little to where the photos are."
        )
    return text


def blocks_sentence(by_block: pd.DataFrame, fams) -> str:
    """How the held-out blocks read (rows of :meth:`Evaluations.by_block`): where the
    prior's one answer scores, and in how many blocks each learned family beats it."""
    prior, n = by_block[PRIOR], by_block["images"]
    top = prior.nlargest(2).index
    share = (prior * n)[top].sum() / max((prior * n).sum(), 1e-9)
    learned = [f for f in fams if f not in FLOORS]
    # as the table shows them: a block both score 0 in is no win
    beats = {f: int((by_block[f].round() > prior.round()).sum()) for f in learned}
    wins = ", ".join(f"{f} in {n}" for f, n in beats.items())
    return (
        f"The prior answers every image with one point, so it scores only where that "
        f"point is near: {' and '.join(f'{b} ({prior[b]:,.0f})' for b in top)} give "
        f"{100 * share:.0f} % of its GeoScore over the whole test set. Of the "
        f"{len(by_block)} "
        f"blocks, the learned families beat it in: {wins}."
    )


def cost_table(by_seed: dict, fams) -> pd.DataFrame:
    """The cost each chapter measured for its family representative at every seed of
    ``by_seed``: each timing (training seconds, images a second) as its median over
    the seeds, since the machine may have been busy during any one, beside its
    range (as text, and as numbers in ``attrs["ranges"]``: ``{column: {family: (low,
    high)}}``, for :func:`geosurvey.plots.accuracy_vs_cost`)."""
    rows, ranges = {}, {"train_seconds": {}, "images_per_s": {}}
    for family, (chapter, method) in fams.items():
        runs = [
            cost
            for found in by_seed.values()
            if (cost := found.get(chapter, {}).get("cost", {}).get(method))
        ]
        if not runs:
            continue
        rows[family] = dict(runs[0])
        for col, v in ((c, [r[c] for r in runs]) for c in ranges):
            rows[family][col] = float(np.median(v))
            d = 2 if max(v) < 10 else int(max(v) < 100)  # "2.31 to 2.84", not "2 to 3"
            rows[family][f"{col}_range"] = f"{min(v):,.{d}f} to {max(v):,.{d}f}"
            ranges[col][family] = (min(v), max(v))
        rows[family]["seeds_timed"] = len(runs)
    order = ["train_seconds", "train_seconds_range", "epochs", "images_per_s"]
    order += ["images_per_s_range", "parameters_m", "database_mb", "seeds_timed"]
    table = pd.DataFrame.from_dict(rows, orient="index")
    first = [c for c in order if c in table]
    table = table[[*first, *table.columns.difference(first)]]
    table.attrs["ranges"] = ranges
    return table


def published_table() -> pd.DataFrame:
    """:data:`PUBLISHED_IM2GPS3K` as a table, each number as its source printed it."""
    return pd.DataFrame(
        {
            family: {
                "method (im2gps3k, published)": m,
                **{f"acc@{t}km": str(v) for t, v in zip(THRESHOLDS_KM, acc)},
            }
            for family, (m, acc) in PUBLISHED_IM2GPS3K.items()
        }
    ).T


def ranking_table(groups: dict) -> pd.DataFrame:
    """The families and floors of ``groups`` (``{test set: grouped}``) ranked by
    GeoScore on each test set: the score, its 95 % block-bootstrap interval and the
    letters of the groups it belongs to (families that share a letter are not told
    apart by the paired test the claims use, blocks sized as for a claim). The tests
    are not corrected for the many pairs: a ranking, not a verdict."""
    rows = {}
    for name, (order, score, letters, _, ci) in groups.items():
        for f in order:
            lo, hi = ci[f]
            rows.setdefault(f, {})[name] = (
                f"{score[f]:,.0f} [{lo:,.0f} to {hi:,.0f}] {letters[f]}"
            )
    return (
        pd.DataFrame.from_dict(rows, orient="index").fillna("–").rename_axis("family")
    )


def seed_ranks(by_seed: dict, groups: dict, splits: dict, *, seed: int) -> pd.DataFrame:
    """Each family's and floor's rank by GeoScore on each test set of ``groups`` at
    every seed of ``by_seed`` (``1 · 1 · 2``; ``–`` where a seed lacks it): ``seed``'s
    from ``groups``, the others' from their comparison results. ``splits``: the split
    of each test set, by name."""
    rows: dict = {}
    for name, (order, *_) in groups.items():
        for s, found in by_seed.items():
            got = found.get("comparison", {}).get("methods", {}).get(splits[name], {})
            score = {f: got[f]["Global"]["geoscore"] for f in order if f in got}
            ranked = order if s == seed else sorted(score, key=lambda f: -score[f])
            for f in order:
                rank = str(ranked.index(f) + 1) if f in ranked else "–"
                rows.setdefault(f, {}).setdefault(name, []).append(rank)
    table = {
        f: {n: " · ".join(r) for n, r in by_set.items()} for f, by_set in rows.items()
    }
    return pd.DataFrame.from_dict(table, orient="index").rename_axis("family")


def leaders_sentence(ranks: pd.DataFrame, seeds: list) -> str:
    """Which learned family ranks first on each test set of a :func:`seed_ranks`
    table (ranks at ``seeds``, in order), at every seed or seed by seed."""
    said = []
    for name, column in ranks.items():
        marks = column.str.split(" · ", expand=True)
        every = marks.apply(pd.to_numeric, errors="coerce")  # a column per seed
        rank = every.drop(list(FLOORS), errors="ignore")
        first = [" and ".join(r.index[r == r.min()]) or "–" for _, r in rank.items()]
        at = ", ".join(f"{f} at seed {s}" for f, s in zip(first, seeds))
        said.append(
            f"On {name}, {first[0]} leads the learned families at every seed run"
            if len(set(first)) == 1
            else f"On {name}, the learned leader changes with the seed: {at}"
        )
        won = every.loc[PRIOR] < rank.min() if PRIOR in every.index else []
        if at := " and ".join(str(s) for s, w in zip(seeds, won) if w):
            said[-1] += f"; the prior outranks every one at seed {at}"
    return " ".join(f"{s}." for s in said)


def ties(groups: dict) -> str:
    """Why, on each test set of ``groups``, the pair furthest apart that shares a
    letter is not told apart (:func:`widest_tie`)."""
    return " ".join(
        f"On {name}, {tie}."
        for name, (_, score, _, judged, _) in groups.items()
        if (tie := widest_tie(judged, score))
    )


def grouped(ch, fams, regime) -> tuple:
    """(the families and floors but the oracle, best first; their scores; letters
    (:func:`ranking_table`); the pairs judged; each one's 95 % interval)."""
    ev, names = ch.evaluations, dict.fromkeys([*fams, PRIOR])
    shown = [f for f in names if f != ORACLE and ev.has(f, regime.test)]
    score = {f: ev.metrics(f, regime.test)["geoscore"] for f in shown}
    ci = {f: ev.intervals(f, regime.test)["geoscore"] for f in shown}
    order = sorted(shown, key=lambda f: -score[f])
    judged = {}

    def apart(a, b) -> bool:
        step = claims.Claim(f"{a} > {b}", "", a, b, "geoscore")
        judged[a, b] = claims.measure(ev, step, regime)[0]
        return judged[a, b].p < APART

    letters = {f: "" for f in order}
    for letter, group in zip("abcdefghij", letter_groups(order, apart)):
        for f in group:
            letters[f] += letter
    return order, score, letters, judged, ci


def _against_prior(groups: tuple) -> tuple:
    """(the leading learned family, its score, the prior's, the learned families
    told apart above the prior, how many learned families, how many blocks the
    leader's test against the prior rests on) of one :func:`grouped` result."""
    order, score, letters, judged, _ = groups
    learned = [f for f in order if f not in FLOORS]
    prior, lead, low = set(letters[PRIOR]), learned[0], score[PRIOR]
    above = [f for f in learned if score[f] > low and not set(letters[f]) & prior]
    test = judged.get((lead, PRIOR)) or judged.get((PRIOR, lead))
    return lead, score[lead], score[PRIOR], above, len(learned), test and test.blocks


def against_prior(groups: dict, seed: int) -> str:
    """Which learned family leads on each test set of ``groups`` (``{name:
    grouped}``) at ``seed``, and which score above the prior by the paired test the
    verdicts use, uncorrected; said once where every test set agrees."""
    got = {name: _against_prior(g) for name, g in groups.items()}
    leaders = {g[0] for g in got.values()}
    if len(leaders) == 1:
        lead = f"{leaders.pop()} leads the learned families at seed {seed} on " + (
            _and([f"*{n}* ({g[1]:,.0f})" for n, g in got.items()])
        )
    else:
        lead = f"At seed {seed} the learned families are led by " + _and(
            [f"{g[0]} on *{n}* ({g[1]:,.0f})" for n, g in got.items()]
        )
    test = f"by the paired test at p < {APART}, uncorrected"
    if not any(g[3] for g in got.values()):
        n, blocks = max(g[4] for g in got.values()), [g[5] for g in got.values()]
        rests = f" (the leader's rests on {_and(list(map(str, blocks)))})"
        told = (
            f"None of the {n} learned families is told apart from the prior "
            f"({_and([f'{g[2]:,.0f}' for g in got.values()])}) {test}. The prior "
            "errs alike over whole regions, so these tests count whole regions as "
            f"blocks{rests * all(blocks)}. That is too few to decide, and no "
            "evidence against the families"
        )
    else:
        told = (
            "; ".join(
                f"on *{n}*, {len(g[3])} of {g[4]} ({', '.join(g[3])}) "
                f"{'scores' if len(g[3]) == 1 else 'score'} above the prior "
                f"({g[2]:,.0f})"
                if g[3]
                else f"on *{n}*, none is told apart from the prior ({g[2]:,.0f})"
                for n, g in got.items()
            )
            + f", {test}"
        )
        told = told[0].upper() + told[1:]
    return f"{lead}. {told}"


def new_ground_sentence(stability) -> str:
    """How many of the claims judged on new ground (a :func:`stability_table`'s) keep a
    decisive verdict at every seed."""
    n_new, carried = _new_ground(stability, "verdict")
    return (
        f"{carried} of the {n_new} claims judged there "
        f"{'is' if carried == 1 else 'are'} decisive"
        + ("; no idea is shown to carry there" if not carried else "")
    )


def _and(items: list) -> str:
    """``a, b and c``."""
    return ", ".join(items[:-1]) + " and " * (len(items) > 1) + items[-1]


def summary(ch, groups: dict, stability, ideas, *, n_seeds: int) -> str:
    """The chapter's summary, as a list: on each test set of ``groups`` (``{name:
    grouped}``) who leads and who is told apart from the prior; how many claims are
    findings; the ideas that held; what new ground decides; the questions left open."""
    seed = ch.cfg.seed
    kinds = _idea_kinds(ideas)
    held = "; ".join(kinds["held"]) or "none"
    part = f"; in part, {'; '.join(kinds['partly'])}" * bool(kinds["partly"])
    failed = f"- **Ideas that failed**: {'; '.join(kinds['failed'])}."
    seeds = "at every seed run" if n_seeds > 1 else "at the one seed run (provisional)"
    asked = _questions(kinds["mixed"] + kinds["open"])
    toward, against = (ideas["over seeds"].str.endswith(lean).sum() for lean in LEANS)
    return "\n".join(
        line.strip()
        for line in (
            (
                "- **Ranking** (GeoScore; a ranking, not a verdict): "
                f"{against_prior(groups, seed)}."
                if groups
                else ""
            ),
            f"- **Findings**: {len(_findings(stability, n_seeds))} of "
            f"{_counted(stability)} keep one "
            f"decisive verdict {seeds}, after Holm's correction (listed under "
            "Lessons).",
            f"- **Ideas that held**: {held}{part}.",
            failed if kinds["failed"] else "",
            f"- **New ground**: {new_ground_sentence(stability)}.",
            f"- **Undecided, leaning**: {toward} of the ideas' claims lean their way "
            f"and {against} against them (the table of ideas marks them)."
            * bool(toward + against),
            f"- **Open questions**: {asked}" if asked else "",
            f"- **Not testable here**: {'; '.join(kinds['untestable'])}."
            * bool(kinds["untestable"]),
        )
        if line
    )


def widest_tie(judged: dict, score: dict) -> str:
    """Why the pair furthest apart that shares a letter is not told apart: how many
    blocks its test rests on, and how large they are."""
    ties = [pair for pair, j in judged.items() if j.p >= APART]
    if not ties:
        return ""
    a, b = max(ties, key=lambda pair: score[pair[0]] - score[pair[1]])
    j = judged[a, b]
    apart = round(score[a]) - round(score[b])  # as the table shows them
    gap = f"{a} and {b} are {apart:,.0f} GeoScore apart yet share a letter"
    test = f"test at one seed (p {j.p:.2f})"
    if j.level is None:
        return f"{gap}: their {test} rests on {j.blocks} blocks"
    return (
        f"{gap}. Their paired differences vary together over whole regions. So their "
        f"{test} rests on only {j.blocks} S2 level-{j.level} blocks, each about "
        f"{stats.edge_km(j.level):,.0f} km across, and few blocks give it little power"
    )


def letter_groups(order: list, apart) -> list:
    """The groups of a compact letter display (insert and absorb, Piepho 2004): a pair
    shares a group unless ``apart``; each group in ``order``, sorted by its members."""
    groups, order_of = {frozenset(order)}, lambda g: [order.index(f) for f in g]
    for a, b in itertools.combinations(order, 2):
        if apart(a, b):  # split every group that holds both
            both = {g for g in groups if {a, b} <= g}
            groups = (groups - both) | {g - {x} for g in both for x in (a, b)}
    kept = [g for g in groups if not any(g < h for h in groups)]  # absorb
    return sorted(([f for f in order if f in g] for g in kept), key=order_of)


def effects(found: dict, regimes=ALL_REGIMES) -> pd.DataFrame:
    """Every judged claim of ``found`` (``{chapter: results}`` of one seed) in the
    regime that decides it (:func:`judged_on`): its effect signed so that positive
    favours the claim, the 95 % interval and the verdict over the seeds run (this
    seed's where it is the only one), for :func:`geosurvey.plots.forest`; claims
    against the prior, whose intervals are the widest, in units of their own."""
    rows = []
    for chapter, res in found.items():
        for c in res.get("claims", []):
            s = claims.direction(c["metric"])
            claim = f"{TITLES[chapter][0]} · {c['text'].removesuffix(' (GeoScore)')}"
            claim += CONTROL * bool(c.get("control"))  # a check, not a finding
            for r, j in c["judgements"].items():
                if r not in regimes or r != judged_on(c):
                    continue
                if j["verdict"] == claims.NOT_TESTABLE:
                    continue
                pooled = "" if j["pooled_difference"] is None else "pooled_"
                low, high = sorted(s * np.asarray(j[pooled + "ci95"]))
                narrow = claims.TOO_NARROW * (j.get("still_correlated") is not None)
                row = {"claim": claim + narrow, "regime": BY_KEY[r].name}
                floor = any(PRIOR in str(c.get(k, "")) for k in ("better", "worse"))
                unit = claims.unit(c["metric"]).strip() + ", against the prior" * floor
                row |= {"unit": unit, "low": low}
                row |= {"effect": s * j[pooled + "difference"], "high": high}
                verdict = claims.over_seeds(j["seed_verdicts"], j[pooled + "verdict"])
                rows.append({**row, "verdict": verdict})
    return pd.DataFrame(rows)
