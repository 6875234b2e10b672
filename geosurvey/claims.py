"""A paper's claim, measured here: in both regimes, with an interval, a corrected
verdict.

A chapter states each claim it tests as a :class:`Claim` ("fine cells beat coarse cells
at 25 km": method A beats method B on one metric), adds it to its :class:`Claims`, and
judges them all at once at the end, because the correction for many claims needs every
p-value:

* in every regime the run has (:mod:`geosurvey.regimes`), the difference of the two
  methods on that regime's test set, its 95 % block-bootstrap interval, a p-value from a
  test that is valid with few blocks and the minimum detectable effect
  (:mod:`geosurvey.stats`);
* every claim is judged on seen places; on new places only the claims the chapter names
  in advance (``generalisation`` in its ``ChapterSpec``): those are *about* new
  places. Every other new-places difference is an **estimate only**, with its interval
  and no verdict, so that the correction is not spent on questions nobody asked;
* a threshold that no test image has a training location within (accuracy within 25 km
  of a disc 600 km from any training photo) measures nothing learned: **not testable
  here**, and left out of the correction;
* Holm's correction over every judged (claim, regime) of the chapter;
* a verdict: **reproduced** (the corrected test passes on the claimed side), **not
  reproduced** (it passes on the other side), **inconclusive** (it does not pass), or
  **not testable here** when a prerequisite of the claim is missing;
* where results of other seeds exist, they are judged the same way, and the verdict
  over seeds is decisive only when every seed gives the same decisive verdict (each
  seed is one replicate of the training; an intersection-union test), beside the mean
  difference and its two-level bootstrap interval.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from . import stats
from .regimes import BY_KEY

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = (
    "reproduced",
    "not reproduced",
    "inconclusive",
)
NOT_TESTABLE = "not testable here"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_TESTABLE)
ESTIMATE = "estimate only"  # measured in a regime the claim is not about
SEED_DEPENDENT = "seed-dependent"  # decisive at some seeds, not alike at every one
DECISIVE = (REPRODUCED, NOT_REPRODUCED)
CONTROL = " (a control)"  # after a control's name in a table
TOO_NARROW = " (interval too narrow)"  # after an interval its blocks leave too narrow
# a verdict in a table cell (None: the seed was not run)
MARK = {REPRODUCED: "✓", NOT_REPRODUCED: "✗", INCONCLUSIVE: "?"}
MARK |= {NOT_TESTABLE: "n/t", ESTIMATE: "e", None: "–"}
LOWER_IS_BETTER = ("median_km", "mean_km", "q1_km", "q3_km")
NAMED = ("text", "better", "worse", "region")  # a claim's fields that take {names}


def over_seeds(seed_verdicts, pooled: str) -> str:
    """The verdict over the seeds run: :data:`SEED_DEPENDENT` where they differ and
    one was decisive, else ``pooled``."""
    mixed = len(set(seed_verdicts)) > 1 and set(seed_verdicts) & set(DECISIVE)
    return SEED_DEPENDENT if mixed else pooled


@dataclass(frozen=True)
class Claim:
    """``better`` beats ``worse`` on ``metric`` in ``region`` (of the true
    locations)."""

    key: str  # a short name for the glued sentence: claim_<key>
    text: str
    better: str
    worse: str
    metric: str
    region: str = "Global"
    source: str = ""
    about: str = "seen"  # set by Claims.add: "new" when the chapter names it in advance
    expect: tuple = ()  # ((regime key, verdict), ...) asserted by the ci profile
    untestable: str = ""  # why a prerequisite is missing here; empty when testable
    note: str = ""
    control: bool = False  # a check of the set-up: judged, reported apart from findings
    # judged on the test set "<regime's test split><subset>" (e.g. "_albums")
    subset: str = ""
    # the key of a paper's claim, judged on seen places, that this one asks of new
    # ground (:func:`on_new_ground`): it is measured on new places only
    extends: str = ""


def on_new_ground(claims: tuple, *keys: str) -> tuple:
    """The book's twins of the paper's claims ``keys`` (of ``claims``): the same
    comparison asked of ground no model trained on, keyed ``<key>_new``. The paper's
    claim stays on seen places, where its paper measured it; a chapter names the twin
    among its generalisation claims."""
    found = {c.key: c for c in claims}
    return tuple(
        replace(
            found[k],
            key=f"{k}_new",
            text=f"{found[k].text} on new ground",
            source=f"this book: {found[k].source}, asked of new ground",
            extends=k,
        )
        for k in keys
    )


@dataclass
class Judgement:
    """One claim in one regime: this seed alone, and over the seeds that exist."""

    regime: str
    value_better: float
    value_worse: float
    difference: float
    ci95: list
    p: float
    blocks: int = 0  # how many spatial blocks hold the rows compared
    level: int | None = None  # their S2 level (None: fixed blocks, the discs)
    # neighbouring blocks' correlation where even the coarsest level leaves one
    # (the interval is then too narrow); None where the blocks are independent
    still_correlated: float | None = None
    test: str = ""  # "sign-flip over 8 blocks" or "t, 30 df"
    se: float = 0.0  # the difference's block-bootstrap standard error
    detectable: float = float("inf")  # minimum detectable effect at the corrected level
    verdict: str = INCONCLUSIVE
    p_adjusted: float = 1.0
    reason: str = ""  # why it is not testable here
    seeds: list = field(default_factory=list)
    seed_verdicts: list = field(default_factory=list)  # at each of ``seeds``
    seed_differences: list = field(default_factory=list)  # at each of ``seeds``
    pooled_difference: float | None = None
    pooled_ci95: list | None = None
    pooled_p_adjusted: float | None = None  # the largest of the seeds' corrected p
    pooled_verdict: str | None = None


def _pool(j: Judgement, found: list) -> None:
    """Fill ``j``'s verdict over seeds from ``found`` = [(seed, judgement,
    replicates)]: the mean difference, its two-level bootstrap interval, and a decisive
    verdict only where every seed gives the same decisive one."""
    verdicts = {o.verdict for _, o, _ in found}
    j.seeds = [s for s, _, _ in found]
    j.seed_verdicts = [o.verdict for _, o, _ in found]
    j.seed_differences = [o.difference for _, o, _ in found]
    j.pooled_difference = float(np.mean([o.difference for _, o, _ in found]))
    j.pooled_ci95 = stats.interval(
        stats.pooled([r for _, _, r in found], seed=len(found))
    )
    j.pooled_p_adjusted = max(o.p_adjusted for _, o, _ in found)
    if j.verdict == ESTIMATE:
        j.pooled_verdict = ESTIMATE
    elif len(verdicts) == 1 and j.verdict in DECISIVE:
        j.pooled_verdict = j.verdict
    else:
        j.pooled_verdict = INCONCLUSIVE


def judged_on(about: str, detectable: dict) -> str | None:
    """Where a claim's verdict comes from, given ``{regime: smallest detectable
    difference}``: of the regimes about what it is about, the most sensitive test."""
    mine = (r for r in detectable if BY_KEY[r].about == about)
    return min(mine, key=detectable.get, default=None)


def direction(metric: str) -> int:
    return -1 if metric in LOWER_IS_BETTER else 1


def verdict(difference: float, p_adjusted: float, metric: str) -> str:
    if p_adjusted >= stats.ALPHA:
        return INCONCLUSIVE
    return REPRODUCED if direction(metric) * difference > 0 else NOT_REPRODUCED


QUARTILES = {"q1": "first-quartile", "q3": "third-quartile"}


def unit(metric: str) -> str:
    """What a difference in ``metric`` is counted in, e.g. " km of median error"."""
    if metric.startswith(("acc@", "country")):
        return " points"
    if metric.endswith("_km"):
        which = metric.removesuffix("_km")
        return f" km of {QUARTILES.get(which, which)} error"
    return " GeoScore"


def _unreachable(claim: Claim, split: str, reach: dict, mask) -> str:
    """Why ``claim`` measures nothing learned on ``split``: its accuracy threshold is
    nearer than any test image's nearest training location (empty when it is not)."""
    if not claim.metric.startswith("acc@") or split not in reach:
        return ""
    nearest = np.asarray(reach[split])[mask]
    threshold = float(claim.metric[4:-2])
    if not len(nearest) or nearest.min() <= threshold:
        return ""
    return (
        f"no test image has a training location within {threshold:,.0f} km (the "
        f"nearest is {nearest.min():,.0f} km away), so no method can learn to answer "
        "that close"
    )


def paired(ev, claim: Claim, split: str) -> np.ndarray:
    """Each image's paired difference for ``claim`` on ``split``: its share of the
    metric where the metric is a mean over images, else its error in km."""
    a = ev.per_image(claim.better, split, claim.metric, claim.region)
    if a is not None:
        return a - ev.per_image(claim.worse, split, claim.metric, claim.region)
    mask = ev.sets[split].mask(claim.region)
    return ev.errors(claim.better, split)[mask] - ev.errors(claim.worse, split)[mask]


def measure(ev, claim: Claim, regime, reach=None):
    """(judgement, replicates of the difference) of ``claim`` on ``regime``'s test set
    before any correction, or None where a method or the rows are missing."""
    split = regime.test + claim.subset
    if not (ev.has(claim.better, split) and ev.has(claim.worse, split)):
        return None
    if not ev.metrics(claim.better, split, claim.region):
        return None
    ts, m = ev.sets[split], claim.metric
    a = ev.metrics(claim.better, split, claim.region)[m]
    b = ev.metrics(claim.worse, split, claim.region)[m]
    mask, x = ts.mask(claim.region), paired(ev, claim, split)
    level, meta = None, ts.meta[mask]
    if ts.block is None:  # seen places: blocks as coarse as the differences need
        level, r = stats.block_level(x, meta["lat"], meta["lon"])
    block = ts.blocks(claim.region, level)
    if ts.block is not None:  # new ground's discs: do those a continent apart share?
        far = stats.edge_km(stats.BLOCK_LEVELS[-1])
        r = stats.blocks_correlation(x, meta["lat"], meta["lon"], block, far)
    still = round(r, 2) if r >= stats.INDEPENDENT_R else None
    reps = (
        ev.samples(claim.better, split, claim.region, level)[m]
        - ev.samples(claim.worse, split, claim.region, level)[m]
    )
    n_blocks = int(block.max(initial=-1)) + 1
    additive = ev.per_image(claim.better, split, m, claim.region) is not None
    sums = np.bincount(block, x, n_blocks) if additive else None
    p, test = stats.block_test(a - b, reps, n_blocks, sums)
    j = Judgement(
        regime.key,
        a,
        b,
        a - b,
        stats.interval(reps),
        p,
        blocks=n_blocks,
        level=level,
        still_correlated=still,
        test=test,
        se=float(np.std(reps, ddof=1)),
    )
    j.reason = _unreachable(claim, split, reach or {}, mask)
    if j.reason:
        j.verdict, j.p = NOT_TESTABLE, 1.0
    return j, reps


class Claims:
    """The claims of one chapter, judged over its regimes and, where they exist, its
    seeds.

    ``evaluations``: this run's :class:`~geosurvey.evaluation.Evaluations`; ``others``:
    the same chapter's evaluations at other seeds (``{seed: Evaluations}``);
    ``regimes``: the regimes this run judges in; ``assert_claims``: whether expected
    verdicts are asserted (the ci profile).
    """

    def __init__(
        self,
        evaluations,
        regimes,
        *,
        seed: int = 0,
        others=None,
        assert_claims: bool = False,
        expected=None,
        generalisation=(),
        reach=None,
    ):
        self.ev, self.regimes, self.seed = evaluations, tuple(regimes), seed
        self.others = dict(others or {})
        self.assert_claims = assert_claims
        # {claim key: ((regime key, verdict), ...)} for claims added without expect
        self.expected = dict(expected or {})
        # the keys of the claims judged on new places (named in advance)
        self.generalisation = tuple(generalisation)
        # {test split: each row's distance to its nearest training location, km}
        self.reach = dict(reach or {})
        self.claims: dict[str, Claim] = {}
        self.judged: dict[str, dict[str, Judgement]] = {}
        self.checks: list = []  # (message, passed)

    def add(self, claim: Claim) -> None:
        if not claim.expect and claim.key in self.expected:
            claim = replace(claim, expect=tuple(self.expected[claim.key]))
        about = "new" if claim.key in self.generalisation else "seen"
        claim = replace(claim, about=about)
        for regime, expected in claim.expect:
            if expected not in VERDICTS or regime not in BY_KEY:
                raise ValueError(
                    f"claim {claim.key!r}: cannot expect {expected!r} on {regime!r}"
                )
        self.claims[claim.key] = claim

    def settle(self, *, untestable=None, names=None) -> None:
        """Complete the run-dependent parts of the claims before they are judged.
        ``names`` fills the ``{field}`` placeholders of their texts, methods and
        regions (chapter 4's ``base``: the CNN or the ViT, chosen on validation);
        ``untestable`` = ``{key: reason}`` marks claims whose prerequisite this run
        lacks (an empty reason marks nothing). A claim whose methods no regime
        evaluated is not testable either, and says which it misses."""
        untestable, names = dict(untestable or {}), dict(names or {})
        if unknown := set(untestable) - set(self.claims):
            raise ValueError(f"no claims named {sorted(unknown)} in this chapter")
        for key, c in self.claims.items():
            try:
                c = replace(c, **{f: getattr(c, f).format(**names) for f in NAMED})
            except KeyError as e:
                raise ValueError(f"claim {key!r} needs the name {e}") from None
            missing = [
                m
                for m in (c.better, c.worse)
                if not any(self.ev.has(m, r.test + c.subset) for r in self.regimes)
            ]
            gone = f"this run has no {' and no '.join(missing)}" if missing else ""
            why = untestable.get(key) or c.untestable or gone
            self.claims[key] = replace(c, untestable=why)

    def check(self, condition, message: str) -> bool:
        """Record an assertion of the chapter (asserted by the ci profile)."""
        self.checks.append((message, bool(condition)))
        return bool(condition)

    def _judge(self, ev, reach, reasons=None) -> tuple:
        """({claim: {regime: Judgement}}, {(claim, regime): replicates}) of one seed's
        evaluations, corrected over the chapter's judged (claim, regime) pairs;
        ``reasons`` marks (claim, regime) pairs not testable without ``reach``."""
        judged, reps = {}, {}
        for c in self.claims.values():
            if c.untestable:
                continue
            judged[c.key] = {}
            for r in self.regimes:
                if c.extends and r.about == "seen":
                    continue  # the paper's claim it extends is judged there
                got = measure(ev, c, r, reach)
                if got is None:
                    continue
                judged[c.key][r.key], reps[c.key, r.key] = got
                if (c.key, r.key) in (reasons or {}):
                    got[0].verdict = NOT_TESTABLE
                    got[0].reason = reasons[c.key, r.key]
                if got[0].verdict != NOT_TESTABLE and r.about not in ("seen", c.about):
                    got[0].verdict = ESTIMATE
        family = [
            (c, j)
            for c, js in judged.items()
            for j in js.values()
            if j.verdict not in (NOT_TESTABLE, ESTIMATE)
        ]
        alpha = stats.ALPHA / max(len(family), 1)  # Holm's first, strictest step
        for js in judged.values():
            for j in js.values():
                j.detectable = stats.detectable(j.se, j.blocks, alpha)
        for (c, j), p in zip(family, stats.holm([j.p for _, j in family])):
            j.p_adjusted = float(p)
            j.verdict = verdict(j.difference, p, self.claims[c].metric)
        return judged, reps

    def judge(self) -> None:
        """Measure every testable claim in every regime, correct and give verdicts;
        then the same at the other seeds, and the verdict over seeds."""
        self.judged, reps = self._judge(self.ev, self.reach)
        reasons = {
            (k, r): j.reason for k, js in self.judged.items() for r, j in js.items()
        }
        reasons = {k: v for k, v in reasons.items() if v}
        others = {
            s: self._judge(ev, {}, reasons) for s, ev in sorted(self.others.items())
        }
        for key, js in self.judged.items():
            for regime, j in js.items():
                found = [(self.seed, j, reps[key, regime])] + [
                    (s, o[0][key][regime], o[1][key, regime])
                    for s, o in others.items()
                    if regime in o[0].get(key, {})
                ]
                if len(found) > 1 and j.verdict != NOT_TESTABLE:
                    _pool(j, found)

    def deciding(self, key: str):
        """Claim ``key``'s judgement in the regime of :func:`judged_on`, or None."""
        js = self.judged.get(key, {})
        on = judged_on(self.claims[key].about, {r: j.detectable for r, j in js.items()})
        return js.get(on)

    def verdict(self, key: str, regime: str) -> str | None:
        claim = self.claims[key]
        if claim.untestable:
            return NOT_TESTABLE
        j = self.judged.get(key, {}).get(regime)
        return None if j is None else j.verdict

    def failures(self) -> list:
        """Broken assertions: checks that failed and expected verdicts that were not
        measured."""
        if not self.assert_claims:
            return []
        out = [m for m, ok in self.checks if not ok]
        if self.claims:  # a chapter that judges claims judges every one it expects
            out += [
                f"claim {key!r} has an expected verdict but is not a claim of the "
                "chapter"
                for key in self.expected
                if key not in self.claims
            ]
        for c in self.claims.values():
            for regime, expected in c.expect:
                got = self.verdict(c.key, regime)
                if got is not None and got != expected:
                    out.append(
                        f"claim '{c.text}' on {BY_KEY[regime].name}: "
                        f"expected {expected}, measured {got}"
                    )
        return out

    def records(self) -> list:
        """Every claim with its judgements, for the results file."""
        return [
            {
                **asdict(c),
                "judgements": {
                    k: asdict(j) for k, j in self.judged.get(c.key, {}).items()
                },
            }
            for c in self.claims.values()
        ]
