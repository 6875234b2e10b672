"""Prose computed from the run, and the library's own code shown on the page.

Chapters ``glue`` values (myst-nb) and cite them in markdown as
``{glue:text}`name:.1f``` (numbers) or ``{glue:md}`name``` (sentences), or print whole
sentences from a code cell with :func:`say`. A re-run with another seed or profile
therefore cannot leave stale text behind. A claim's sentence is glued as ``claim_<key>``
once the chapter has judged its claims (its last cell), and the text may cite it
anywhere above.

:func:`show` prints a function or class of the library as it is, so that the method a
page explains and the code that runs can never drift apart.
"""

from __future__ import annotations

import inspect
import numbers
import textwrap

import IPython.display
import pandas as pd
from IPython.core.formatters import format_display_data
from markdown_it import MarkdownIt

from . import stats
from .claims import (
    CONTROL,
    DECISIVE,
    INCONCLUSIVE,
    MARK,
    NOT_REPRODUCED,
    NOT_TESTABLE,
    REPRODUCED,
    SEED_DEPENDENT,
    TOO_NARROW,
    direction,
    over_seeds,
    paired,
    unit,
)
from .display import NBSP
from .display import table as formatted
from .losses import READER_NAMES
from .metrics import number, with_interval
from .regimes import BY_KEY, FOLDS


def glue(name: str, value, display: bool = False) -> None:
    """Record ``value`` under ``name`` for the text; strings are glued as Markdown.
    What myst-nb's ``glue`` records, without importing myst-nb: its import builds
    JSON-schema grammars for three seconds in every chapter's kernel."""
    if isinstance(value, str):
        value = IPython.display.Markdown(value)
    elif isinstance(value, numbers.Number) and not isinstance(value, bool):
        value = float(value) if not isinstance(value, numbers.Integral) else int(value)
    bundle, metadata = format_display_data(value)
    prefix = "" if display else "application/papermill.record/"
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    IPython.display.display(
        {prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata
    )


def glue_html(name: str, text: str) -> None:
    """Glue Markdown ``text`` as HTML, which other pages paste (``{glue:any}``)."""
    glue(name, IPython.display.HTML(MarkdownIt("commonmark").render(text)))


def say(text: str) -> None:
    """Show generated Markdown (a sentence or paragraph from this run's numbers)."""
    IPython.display.display(IPython.display.Markdown(text))


def show(*objects) -> None:
    """Show the source of library functions or classes, highlighted, one block each."""
    source = (textwrap.dedent(inspect.getsource(obj)).rstrip() for obj in objects)
    say("\n\n".join(f"```python\n{text}\n```" for text in source))  # unindented


def _with_interval(d: float, ci, metric: str, units: bool = True) -> str:
    """``+29.6 points [+17.0 to +41.7]``: a difference and its interval (or None)."""
    suffix = unit(metric) * units
    if ci is None:
        return f"{number(d, metric, True)}{suffix} (one block: no interval)"
    return with_interval(d, ci, metric, sign=True, unit=suffix)


def effect(j, metric: str, *, units: bool = True) -> str:
    """``+29.6 points [+17.0 to +41.7]``: a judgement's difference, over the seeds run
    where other seeds exist, with its 95 % interval (``units``: with the unit)."""
    pooled = "" if j.pooled_difference is None else "pooled_"
    ci = getattr(j, pooled + "ci95") if j.blocks >= 2 else None
    return _with_interval(getattr(j, pooled + "difference"), ci, metric, units)


def gap(ev, better: str, worse: str, split: str, metric: str = "geoscore") -> str:
    """``+120 GeoScore [+40 to +190]``: ``better``'s ``metric`` minus ``worse``'s on
    ``split``, with the 95 % interval of its paired block bootstrap (an estimate,
    outside any claim's test)."""
    return _with_interval(*difference(ev, better, worse, split, metric), metric)


def difference(ev, better: str, worse: str, split: str, metric="geoscore") -> tuple:
    """(``better`` minus ``worse`` in ``metric`` on ``split``, its block interval)."""
    a, b = (ev.metrics(m, split)[metric] for m in (better, worse))
    reps = ev.samples(better, split)[metric] - ev.samples(worse, split)[metric]
    return a - b, stats.interval(reps)


def detectable(j, metric: str) -> str:
    """The smallest difference the test could find (80 % power, Holm's strictest
    level), or why it can find none."""
    if j is None or j.verdict == NOT_TESTABLE:
        return "–"
    if j.detectable == float("inf"):
        return f"none ({j.blocks} blocks)"
    return f"{number(j.detectable, metric)}{unit(metric)}"


def _over_seeds(j) -> str:
    """A judgement's verdict over the seeds run (:func:`claims.over_seeds`)."""
    return over_seeds(j.seed_verdicts, j.pooled_verdict or j.verdict)


def verdict(claims, key: str, regime: str | None = None) -> str:
    """Claim ``key``'s verdict over the seeds, in ``regime`` or where it is about."""
    j = claims.judged.get(key, {}).get(regime) if regime else claims.deciding(key)
    return _over_seeds(j) if j and not claims.claims[key].untestable else NOT_TESTABLE


def claim_sentence(claims, key: str) -> str:
    """The claim's verdict over the seeds run where it is about, then what decided it:
    "**reproduced** on seen places: +8.0 points [+5.9 to +9.9] over seeds 0, 1 and 2
    (+7.1 at seed 0). Every seed's own test passes Holm's correction." """
    c, j = claims.claims[key], claims.deciding(key)
    if c.untestable or j is None:
        return f"**{NOT_TESTABLE}**: {c.untestable}." if c.untestable else "not run."
    return _judged(c, j, claims.seed) + "."


def _judged(c, j, seed: int) -> str:
    """Judgement ``j`` of claim ``c`` in words (:func:`claim_sentence`)."""
    where = BY_KEY[j.regime].name
    if j.verdict == NOT_TESTABLE:
        return f"**{NOT_TESTABLE}** on {where}: {j.reason}"
    several = j.pooled_difference is not None
    *rest, last = map(str, j.seeds if several else [seed])
    alone = f" ({number(j.difference, c.metric, True)} at seed {seed})"
    said = f"over seeds {', '.join(rest)} and {last}" if several else f"at seed {last}"
    said = f"{effect(j, c.metric)} {said}" + alone * several
    return f"**{_over_seeds(j)}** on {where}: {said}{_decided_by(c, j)}"


def _decided_by(c, j) -> str:
    """What the seeds' own tests said, after Holm's correction, of judgement ``j``."""
    several = j.pooled_difference is not None
    tests = "Every seed's own test" if several else "Its test"
    at = {v: [] for v in j.seed_verdicts}  # each verdict once, by the seeds' order
    for s, v in zip(j.seeds, j.seed_verdicts):
        at[v].append(str(s))
    by = [f"{v} at seed{'s' * (len(s) > 1)} {' and '.join(s)}" for v, s in at.items()]
    said = {
        REPRODUCED: f". {tests} passes Holm's correction",
        NOT_REPRODUCED: f". {tests} finds the reverse after Holm's correction",
        SEED_DEPENDENT: ". The seeds' own tests disagree: " + ", ".join(by),
    }.get(_over_seeds(j))
    side, p = SIDES.get(_leaning(c, j)), j.pooled_p_adjusted or j.p_adjusted
    if said or not side:
        return said or ""
    fails = "no seed's own test passes" if several else "its test does not pass"
    tail = f"(corrected p {'up to ' * several}{p:#.2g})"
    tail += ": a hint, not a finding" * (side == SIDES["for"])
    pooled = "pooled " * several
    return f". The {pooled}interval lies {side}, but {fails} Holm's correction {tail}"


SIDES = {"for": "the claim's way", "against": "against the claim"}
LEANS_TO = {"for": "its way", "against": "against it"}  # in a claims table's cell


def _leaning(c, j) -> str:
    """Where an inconclusive verdict's 95 % interval lies wholly on one side of zero:
    "for" (the claim's side) or "against"; else ""."""
    lo, hi = j.pooled_ci95 or j.ci95
    undecided = _over_seeds(j) in (INCONCLUSIVE, SEED_DEPENDENT)
    if not undecided or j.blocks < 2 or lo <= 0 <= hi:
        return ""
    return "for" if (lo > 0) == (direction(c.metric) > 0) else "against"


def folds_sentence(claims, keys) -> str:
    """What the folds (:data:`~geosurvey.regimes.FOLDS`) say of claims ``keys``: each
    one's difference there, its blocks, the smallest difference its test could detect
    and its verdict; empty where the run has no folds."""
    parts = []
    for key in keys:
        c, j = claims.claims[key], claims.judged.get(key, {}).get(FOLDS.key)
        if j is None or j.verdict == NOT_TESTABLE:
            continue
        finds = f"would find a true gap of {detectable(j, c.metric)} 4 times in 5"
        finds = finds if j.detectable < float("inf") else "can pass nothing"
        parts.append(
            f"*{c.text[0].upper()}{c.text[1:]}*: {_judged(c, j, claims.seed)}. Its "
            f"test has {j.blocks} blocks and {finds}."
        )
    apart = " (chapter 1; their scores do not compare with one model's discs)"
    return f"On the eight folds{apart}: {' '.join(parts)}" if parts else ""


CLAIM_COLUMNS = ("paper", "judged on", "difference", "at each seed", "verdict")
CLAIM_COLUMNS += ("smallest detectable",)
LEGEND = "01_data_and_metrics.html#claims-legend"  # where the full legend is
SYMBOLS = ", ".join(f"{MARK[v]} {v}" for v in (*DECISIVE, INCONCLUSIVE))
SHORT_LEGEND = (  # later chapters' legend line
    f"each seed's verdict ({SYMBOLS}) and difference; the smallest detectable "
    "difference is the test's at the page's seed; an undecided claim *leans* where its "
    "interval over the seeds lies on one side of zero, and its Holm p is the largest "
    f"of the seeds' corrected p-values; the rest as [chapter 1]({LEGEND}) says."
)
ELSEWHERE = (  # what the second claims table shows
    "The same differences where they do not decide the claim, averaged over the seeds "
    "run (same units; e an estimate only, not judged; – not run; n/t not testable "
    "here):"
)


def _full_legend(seeds: list) -> dict:
    """Each column of the claims table in words (chapter 1 gives it in full)."""
    over = f"averaged over seeds {', '.join(map(str, seeds))}" * (len(seeds) > 1)
    return {
        "Paper": "the survey and the lines of its text that state the claim, each "
        "quoted with its section in the appendix *Sources of the claims*; the paper "
        "itself where no survey states the claim; or this book.",
        "Judged on": "the regime whose test gives the verdict (for a claim about new "
        "places, the eight folds where the chapter trained models in them, else one "
        "model's held-out discs).",
        "Difference": "the claimed-better method's value minus the claimed-worse "
        f"one's, {over or f'at seed {seeds[0]}'}, with its 95 % interval over blocks "
        "and seeds (the tables above show one seed); a claim about an error in km "
        "wants it negative, one about an accuracy or a GeoScore positive.",
        "At each seed": f"the verdict ({SYMBOLS}) and the difference at each seed "
        "run, in order. The interval pools the seeds, but a verdict needs each "
        "seed's own test to pass Holm's correction for all the chapter's claims, so an "
        "interval clear of zero can still be inconclusive or seed-dependent.",
        "Verdict": "the seeds' common verdict where every seed's own test gives it; "
        "seed-dependent where one seed decides and another does not; an undecided "
        "claim whose interval lies wholly on one side of zero leans that way (its "
        "Holm p: the largest of the seeds' corrected p-values).",
        "Smallest detectable": "the difference the test of the page's seed finds four "
        "times in five, and the blocks it rests on (none, where it has too few blocks "
        "ever to pass): a difference "
        "of this size is still missed one time in five, a larger one less often, and "
        "a smaller one more often, so one seed's test may pass and another's not.",
        "Underpowered": "an inconclusive test whose smallest detectable difference is "
        "wider than the widest gap between any two methods on its test images "
        "(oracles aside; given beside it), so no plausible effect could have been "
        "decided.",
    }


def show_claims(claims, *, full_legend: bool = False) -> None:
    """The claims table (claims_table) with how to read it (after it and in full in
    chapter 1, else a line before it), and the same claims in the regimes that do not
    decide them (elsewhere_table)."""
    judged = [j for js in claims.judged.values() for j in js.values()]
    seeds = sorted({s for j in judged for s in j.seeds}) or [claims.seed]
    table = claims_table(claims)
    legend = _full_legend(seeds) if full_legend else {"How to read it": SHORT_LEGEND}
    legend |= {
        "Blocks correlated": "the test's blocks (continent-sized cells on seen "
        "places, held-out discs on new ground) still share part of the difference "
        "(r, their neighbours' correlation), so its interval is narrower than it "
        "should be and a decisive verdict is weaker than it reads."
        * bool(table["verdict"].str.contains("blocks correlated").any()),
        "Against the prior": prior_blocks_sentence(claims),  # why it is hard to beat
    }
    said = "\n".join(f"- *{k}*: {v}" for k, v in legend.items() if v)
    if not full_legend:  # a line to read the table by, then the table
        say(said)
    IPython.display.display(formatted(table))
    if why := untestable_notes(claims):
        say(why)
    if full_legend:  # the table first, then each column in words
        say("How to read the table, column by column:\n\n" + said)
    if len(others := elsewhere_table(claims)):
        say(ELSEWHERE)
        IPython.display.display(formatted(others))


def untestable_notes(claims) -> str:
    """Why each claim the claims table marks not testable here cannot be tested, a
    line each (empty where every claim was tested)."""
    lines = []
    for key, c in claims.claims.items():
        j = claims.deciding(key)
        why = c.untestable or (j.reason if j and j.verdict == NOT_TESTABLE else "")
        if why:
            lines.append(f"- *{c.text}*: {why.rstrip('.')}.")
    return "Not testable here:\n\n" + "\n".join(lines) if lines else ""


def claims_table(claims, keys=None) -> pd.DataFrame:
    """One row per claim: its source; in the regime it is about, the difference (the
    claimed-better method's value minus the claimed-worse one's, over the seeds run,
    with its 95 % interval), the verdict at each seed and over them, and the smallest
    difference that test could detect. For an error in km a claim is supported by a
    negative difference, for an accuracy or a GeoScore by a positive one."""
    rows = {}
    for key in keys or claims.claims:
        c, j, gap = claims.claims[key], claims.deciding(key), ""
        paper = "this book" if c.source.startswith("this book") else c.source
        row = {"paper": paper, "judged on": BY_KEY[j.regime if j else c.about].name}
        if c.untestable or j is None or j.verdict == NOT_TESTABLE:
            row["difference"] = "–" if j or c.untestable else "not run"
            row["verdict"] = NOT_TESTABLE if c.untestable or j else "–"
        else:
            row["difference"] = effect(j, c.metric)
            row["at each seed"] = marks(j, c.metric)
            row["verdict"] = _over_seeds(j)
            if few := j.detectable == float("inf") and row["verdict"] == INCONCLUSIVE:
                row["verdict"] += ": too few blocks to decide"
            elif row["verdict"] == INCONCLUSIVE and j.detectable > (
                widest := widest_gap(claims.ev, c, j.regime)
            ):
                row["verdict"] += ": underpowered"
                gap = f"; widest gap here {number(widest, c.metric)}"
            undecided = row["verdict"].startswith(INCONCLUSIVE)  # not seed-dependent
            sure = j.still_correlated is None  # an interval too narrow leans nowhere
            if undecided and sure and (lean := _leaning(c, j)) and not few:
                p = j.pooled_p_adjusted or j.p_adjusted  # the largest of the seeds'
                row["verdict"] += f", leans {LEANS_TO[lean]} (Holm p {p:#.2g})"
            if j.still_correlated is not None:  # its interval is too narrow: say so
                row["verdict"] += f"; blocks correlated (r {j.still_correlated})"
                row["difference"] += TOO_NARROW
        row["smallest detectable"] = detectable(j, c.metric)
        if j is not None and 0 < j.detectable < float("inf"):  # what it rests on
            row["smallest detectable"] += f" ({j.blocks} blocks{gap})"
        rows[c.text + CONTROL * c.control] = row
    return (
        pd.DataFrame.from_dict(rows, orient="index", columns=CLAIM_COLUMNS)
        .replace("", "–")
        .fillna("–")
        .rename_axis("claim")
    )


def widest_gap(ev, c, regime: str) -> float:
    """The widest gap in ``c.metric`` between two methods (oracles aside) on the test
    set that judges claim ``c`` in ``regime``."""
    split = BY_KEY[regime].test + c.subset
    found = [m for m in ev.methods(split) if "oracle" not in m]
    values = pd.Series([ev.metrics(m, split, c.region).get(c.metric) for m in found])
    return float(values.max() - values.min()) if values.count() > 1 else 0.0


def marks(j, metric: str = "") -> str:
    """A judgement's verdict at each seed run, as marks: ``✓ ✓ ?``; with ``metric``,
    each followed by that seed's difference: ``✓ +6.9, ✓ +8.1, ? +4.2``."""
    verdicts = j.seed_verdicts or [j.verdict]
    if not metric:
        return NBSP.join(MARK[v] for v in verdicts)
    found = j.seed_differences or [j.difference]
    return ", ".join(
        f"{MARK[v]}{NBSP}{number(d, metric, True)}" for v, d in zip(verdicts, found)
    )


def elsewhere_table(claims) -> pd.DataFrame:
    """Per claim, its difference (no unit) and its marks at each seed in each regime
    that does not decide it: an estimate (e), or a verdict that does not count. A
    paper's claim whose twin asks it of new ground leaves new places to the twin."""
    rows, twinned = {}, {c.extends for c in claims.claims.values()}
    for key, c in claims.claims.items():
        j = claims.deciding(key)
        rows[c.text] = {
            BY_KEY[r].name: effect(o, c.metric, units=False) + NBSP + marks(o)
            for r, o in claims.judged.get(key, {}).items()
            if o is not j and o.verdict != NOT_TESTABLE
            if not (key in twinned and BY_KEY[r].about == "new")
        }
    table = pd.DataFrame.from_dict(rows, orient="index").dropna(how="all")
    table = table[[r.name for r in BY_KEY.values() if r.name in table]]
    return table.fillna("–").rename_axis("claim")


def block_sizes(claims, regime: str = "seen") -> pd.DataFrame:
    """Per claim on ``regime``'s test set: how much neighbouring blocks of each S2
    level still share (the correlation of the images' paired differences across
    neighbouring cells), the level the test used and how many blocks it had."""
    rows = {}
    for key, js in claims.judged.items():
        j, c = js.get(regime), claims.claims[key]
        if j is None or j.level is None:
            continue
        split = BY_KEY[regime].test + c.subset
        meta = claims.ev.sets[split].meta[claims.ev.sets[split].mask(c.region)]
        x = paired(claims.ev, c, split)
        r = stats.neighbour_correlation
        row = {
            f"r, level {lv} ({stats.edge_km(lv):,.0f}-km cells)": round(
                r(x, meta["lat"], meta["lon"], lv), 2
            )
            for lv in stats.BLOCK_LEVELS
        }
        rows[c.text] = {**row, "level used": j.level, "blocks": j.blocks}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("claim")


def findings(claims) -> str:
    """The chapter's findings, for its summary, as a list after a blank line: by name,
    the claims decided in the regime each is about (at every seed run) and those whose
    seeds disagree, with their marks; how many more stay undecided; how the papers'
    claims fared; the controls; new-ground claims decided on seen places only."""
    found, papers, controls, seen_only, against = {}, [], [], [], []
    for key, c in claims.claims.items():
        held = verdict(claims, key)
        if c.control:
            controls.append(f"{c.text}, {held}")
            continue
        if held not in DECISIVE and (seen := verdict(claims, key, "seen")) in DECISIVE:
            seen_only.append(f"{c.text} ({seen} there)")
        said = [marks(claims.deciding(key))] if held == SEED_DEPENDENT else []
        said += ["this book's claim"] * c.source.startswith("this book")
        text = (
            c.text.removesuffix(")") + "; " if c.text.endswith(")") else c.text + " ("
        )
        found.setdefault(held, []).append(
            text + f"{'; '.join(said)})" if said else c.text
        )
        if c.source and not c.source.startswith("this book"):
            papers.append(held)
            undecided = held in (INCONCLUSIVE, SEED_DEPENDENT)
            if undecided and _leaning(c, j := claims.deciding(key)) == "against":
                against.append(f"{c.text} ({effect(j, c.metric)})")
    named = (*DECISIVE, SEED_DEPENDENT)
    parts = [f"**{v}**: {'; '.join(found.pop(v))}." for v in named if v in found]
    rest = sum(map(len, found.values()))
    parts += [f"undecided or not testable here: {rest} more."] * bool(parts and rest)
    if not parts:
        said = f"After Holm's correction none of the {rest} claims is decided."
    else:  # a list within the list
        said = (
            "After Holm's correction, in the regime each claim is about and at every "
            "seed run:\n" + "\n".join(f"  - {p}" for p in parts)
        )
    checks = f"Controls, which check the set-up: {'; '.join(controls)}."
    seen = "Decided on seen places, which check them but do not judge them: "
    items = (said, _papers_share(papers, against), checks * any(controls))
    items += (f"{seen}{'; '.join(seen_only)}." * any(seen_only),)
    return "\n\n" + "\n".join(f"- {p.strip()}" for p in items if p)


def _papers_share(verdicts: list, against: list) -> str:
    """How the claims a paper states (not this book's own) fared, in a sentence, with
    the undecided ones whose interval lies ``against`` the claim."""
    n, held, failed = len(verdicts), *map(verdicts.count, DECISIVE)
    if not n:
        return ""
    open_ = n - held - failed
    verb = "is" if open_ == 1 else "are"
    lean = f" Undecided, but leaning against the paper: {'; '.join(against)}."
    return (
        f" Of the {n} claims taken from the surveys and papers, {held} reproduced "
        f"here; {failed} failed and {open_} {verb} undecided or not testable."
    ) + lean * any(against)


def prior_blocks_sentence(claims) -> str:
    """Why the claims against the prior decide little on seen places: the blocks their
    differences are judged on, and the smallest difference each can detect there (and,
    for a claim judged elsewhere, there)."""
    found = [  # the prior, or its family in chapter 6
        (c, j, claims.deciding(key))
        for key, c in claims.claims.items()
        if (j := claims.judged.get(key, {}).get("seen")) and j.level is not None
        if any(m.startswith("prior") for m in (c.better, c.worse))
    ]
    if not found:
        return ""
    j = found[0][1]
    least = "; ".join(_prior_detectable(*f) for f in found)
    return (
        "On seen places the prior answers every image with one point, so how far a "
        "method beats it goes together over whole continents: neighbouring blocks "
        f"of this difference stay correlated down to S2 level {j.level} (about "
        f"{stats.edge_km(j.level):,.0f} km across). On {j.blocks} such blocks a "
        f"seen-places test detects only large differences: {least}."
    )


def _prior_detectable(c, seen, deciding) -> str:
    """What the seen-places test of claim ``c`` can detect, and where the claim is
    judged when that is elsewhere (:func:`prior_blocks_sentence`)."""
    here = f"{detectable(seen, c.metric)} for “{c.text}”"
    if deciding is None or deciding is seen:
        return here
    there = detectable(deciding, c.metric)
    if (r := deciding.still_correlated) is not None:  # discs a continent apart share
        there += f", optimistic: neighbouring blocks there share part of it, r {r}"
    return f"{here}, judged instead on {BY_KEY[deciding.regime].name} ({there} there)"


def training(ch) -> pd.DataFrame:
    """How each model of ``ch``'s chapter that its run has trained (its checkpoints
    exist) was trained, one row per job's description: what it starts from, its loss,
    how many weights learn, the recipe, the epochs it ran and the epoch each regime's
    validation chose."""
    rows = {}
    for job in (j for j, spec in ch.registry.jobs.items() if spec.chapter == ch.name):
        have = [c for c, p in zip(ch.leaves(), ch.checkpoints(job)) if p.exists()]
        if not have:
            continue  # not trained by this run (e.g. a scene too small for its own)
        plan = have[0].plan(job)  # where a split lacks it, the runs that have it
        trained = ch.fit(job) if len(have) == len(ch.leaves()) else have[0].fit(job)
        r, h, loss = plan.recipe, trained.history, type(plan.loss).__name__
        learns = sum(p.numel() for p in trained.model.parameters() if p.requires_grad)
        top = getattr(trained.model, "top", None)  # a backbone's top, fine-tuned or not
        tuned = top is not None and any(p.requires_grad for p in top.parameters())
        start = "frozen features, new head" if top is not None else "new weights"
        start = "backbone, new head" if tuned else start
        lr = f"{r.lr:.0e}" + f", backbone top {r.lr * r.top_lr_scale:.0e}" * tuned
        spec = (jobs := ch.registry.jobs)[job]
        needs = "; ".join(jobs[n].description for n in spec.dependencies(ch))
        rows[spec.description] = {
            "starts from": needs if plan.init else start,
            "loss": READER_NAMES.get(loss, loss),
            "weights trained": f"{learns:,}",
            "learning rate": lr.replace("e-0", "e-"),
            "epochs run": f"{len(h.epochs)} of {r.epochs}",
            "best epoch": ", ".join(
                f"{BY_KEY[k].name} {b['epoch']}" for k, b in h.best.items()
            ),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")


def glue_claims(claims) -> None:
    """Glue every claim's sentence as ``claim_<key>`` for the chapter's text."""
    for key in claims.claims:
        glue(f"claim_{key}", claim_sentence(claims, key))
