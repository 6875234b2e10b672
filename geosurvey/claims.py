"""A paper's claim, measured here: in both regimes, with an interval, a corrected
verdict.

A chapter states each claim it tests as a :class:`Claim` ("fine cells beat coarse cells
at 25 km": method A beats method B on one metric), adds it to its :class:`Claims`, and
judges them all at once at the end, because the correction for many claims needs every
p-value:

* in every regime the run has (:mod:`geosurvey.regimes`), the difference of the two
  methods on that regime's test set, its 95 % block-bootstrap interval and p-value
  (:mod:`geosurvey.stats`; no p-value below 1 on fewer than ``stats.MIN_BLOCKS``
  blocks);
* where results of other seeds exist, the same pooled over seeds (a two-level
  bootstrap);
* Holm's correction over every (claim, regime) the chapter judges, separately for this
  seed and for the pooled results;
* a verdict: **reproduced** (the corrected test passes on the claimed side), **not
  reproduced** (it passes on the other side), **inconclusive** (it does not pass), or
  **not testable here** when a prerequisite of the claim is missing (then nothing is
  measured under its name).

A claim also names the regime the paper's claim is about (``about``): most benchmark
claims are about places like the training places; a claim about generalisation is about
new places.
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
LOWER_IS_BETTER = ("median_km", "mean_km", "q1_km", "q3_km")


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
    about: str = "seen"  # the regime the paper's claim is about
    expect: tuple = ()  # ((regime key, verdict), ...) asserted by the ci profile
    untestable: str = ""  # why a prerequisite is missing here; empty when testable
    note: str = ""
    # judged on the test set "<regime's test split><subset>" (e.g. "_albums")
    subset: str = ""


@dataclass
class Judgement:
    """One claim in one regime: this seed alone, and pooled over the seeds that
    exist."""

    regime: str
    value_better: float
    value_worse: float
    difference: float
    ci95: list
    p: float  # 1 where fewer than stats.MIN_BLOCKS blocks hold the rows
    blocks: int = 0  # how many spatial blocks hold the rows compared
    verdict: str = INCONCLUSIVE
    p_adjusted: float = 1.0
    seeds: list = field(default_factory=list)
    pooled_difference: float | None = None
    pooled_ci95: list | None = None
    pooled_p: float | None = None
    pooled_p_adjusted: float | None = None
    pooled_verdict: str | None = None


def direction(metric: str) -> int:
    return -1 if metric in LOWER_IS_BETTER else 1


def verdict(difference: float, p_adjusted: float, metric: str) -> str:
    if p_adjusted >= stats.ALPHA:
        return INCONCLUSIVE
    return REPRODUCED if direction(metric) * difference > 0 else NOT_REPRODUCED


def unit(metric: str) -> str:
    return (
        " points"
        if metric.startswith(("acc@", "country"))
        else " km"
        if metric.endswith("_km")
        else ""
    )


def _difference(ev, claim: Claim, split: str):
    """(value better, value worse, difference, replicates of the difference) on
    ``split``."""
    a = ev.metrics(claim.better, split, claim.region)[claim.metric]
    b = ev.metrics(claim.worse, split, claim.region)[claim.metric]
    sa = ev.samples(claim.better, split, claim.region)[claim.metric]
    sb = ev.samples(claim.worse, split, claim.region)[claim.metric]
    return a, b, a - b, sa - sb


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
    ):
        self.ev, self.regimes, self.seed = evaluations, tuple(regimes), seed
        self.others = dict(others or {})
        self.assert_claims = assert_claims
        # {claim key: ((regime key, verdict), ...)} for claims added without expect
        self.expected = dict(expected or {})
        self.claims: dict[str, Claim] = {}
        self.judged: dict[str, dict[str, Judgement]] = {}
        self.checks: list = []  # (message, passed)

    def add(self, claim: Claim) -> None:
        if not claim.expect and claim.key in self.expected:
            claim = replace(claim, expect=tuple(self.expected[claim.key]))
        for regime, expected in claim.expect:
            if expected not in VERDICTS or regime not in BY_KEY:
                raise ValueError(
                    f"claim {claim.key!r}: cannot expect {expected!r} on {regime!r}"
                )
        self.claims[claim.key] = claim

    def check(self, condition, message: str) -> bool:
        """Record an assertion of the chapter (asserted by the ci profile)."""
        self.checks.append((message, bool(condition)))
        return bool(condition)

    def _measure(self, claim: Claim, regime) -> Judgement | None:
        split = regime.test + claim.subset
        if not (self.ev.has(claim.better, split) and self.ev.has(claim.worse, split)):
            return None
        if not self.ev.metrics(claim.better, split, claim.region):
            return None
        a, b, diff, samples = _difference(self.ev, claim, split)
        n_blocks = self.ev.sets[split].n_blocks(claim.region)
        few = n_blocks < stats.MIN_BLOCKS
        j = Judgement(
            regime.key,
            a,
            b,
            diff,
            stats.interval(samples),
            1.0 if few else stats.p_value(diff, samples),
            blocks=n_blocks,
        )
        pooled = [(self.seed, diff, samples)]
        for seed, ev in sorted(self.others.items()):
            if ev.has(claim.better, split) and ev.has(claim.worse, split):
                pooled.append((seed, *_difference(ev, claim, split)[2:]))
        if len(pooled) > 1:
            point = float(np.mean([d for _, d, _ in pooled]))
            reps = stats.pooled([s for _, _, s in pooled], seed=len(pooled))
            j.seeds = [s for s, _, _ in pooled]
            j.pooled_difference, j.pooled_ci95 = point, stats.interval(reps)
            j.pooled_p = 1.0 if few else stats.p_value(point, reps)
        return j

    def judge(self) -> None:
        """Measure every testable claim in every regime, then correct and give
        verdicts."""
        self.judged = {}
        for claim in self.claims.values():
            if claim.untestable:
                continue
            measured = {r.key: self._measure(claim, r) for r in self.regimes}
            self.judged[claim.key] = {
                k: j for k, j in measured.items() if j is not None
            }
        flat = [(c, j) for c, js in self.judged.items() for j in js.values()]
        if not flat:
            return
        for (c, j), p in zip(flat, stats.holm([j.p for _, j in flat])):
            j.p_adjusted, j.verdict = (
                float(p),
                verdict(j.difference, p, self.claims[c].metric),
            )
        pooled = [(c, j) for c, j in flat if j.pooled_p is not None]
        for (c, j), p in zip(pooled, stats.holm([j.pooled_p for _, j in pooled])):
            j.pooled_p_adjusted = float(p)
            j.pooled_verdict = verdict(j.pooled_difference, p, self.claims[c].metric)

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
