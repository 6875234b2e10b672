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

import pandas as pd

from . import stats
from .claims import ESTIMATE, NOT_TESTABLE, paired, unit
from .regimes import BY_KEY


def glue(name: str, value, display: bool = False) -> None:
    """Record ``value`` under ``name`` for the text; strings are glued as Markdown."""
    from IPython.display import Markdown
    from myst_nb import glue as _glue

    if isinstance(value, str):
        value = Markdown(value)
    elif isinstance(value, numbers.Number) and not isinstance(value, bool):
        value = float(value) if not isinstance(value, numbers.Integral) else int(value)
    _glue(name, value, display=display)


def say(text: str) -> None:
    """Show generated Markdown (a sentence or paragraph built from this run's
    numbers)."""
    from IPython.display import Markdown, display

    display(Markdown(text))


def show(*objects) -> None:
    """Show the source of library functions or classes, highlighted, one block each."""
    blocks = [f"```python\n{inspect.getsource(obj).rstrip()}\n```" for obj in objects]
    say("\n\n".join(blocks))


def _number(value: float, metric: str, sign: bool = False) -> str:
    digits = 0 if metric.endswith("_km") or metric == "geoscore" else 1
    return f"{value:{'+' if sign else ''},.{digits}f}"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def judgement(j, metric: str, pooled: bool = False, with_p: bool = True) -> str:
    """``reproduced: +29.6 points [+17.0, +41.7], corrected p < 0.001`` for one regime
    (without the p-value for a table)."""
    if pooled:
        d, ci, p, v = (
            j.pooled_difference,
            j.pooled_ci95,
            j.pooled_p_adjusted,
            j.pooled_verdict,
        )
    else:
        d, ci, p, v = j.difference, j.ci95, j.p_adjusted, j.verdict
    if v == NOT_TESTABLE:
        return f"{v}: {j.reason}"
    span = f"[{_number(ci[0], metric, True)}, {_number(ci[1], metric, True)}]"
    text = f"{v}: {_number(d, metric, True)}{unit(metric)} {span}"
    if v == ESTIMATE or not with_p:
        return text
    if pooled:
        return text + f", largest corrected p of the seeds {_p(p)}"
    return text + f", corrected p {_p(p)} ({j.test})"


def detectable(j, metric: str) -> str:
    """The smallest difference the test could find (80 % power, Holm's strictest
    level), or why it can find none."""
    if j is None or j.verdict == NOT_TESTABLE:
        return "–"
    if j.detectable == float("inf"):
        return f"none: {j.blocks} blocks cannot reach the corrected level"
    return f"{_number(j.detectable, metric)}{unit(metric)}"


def claim_sentence(claims, key: str) -> str:
    """The verdicts of one claim in every regime it was judged in, as one Markdown
    sentence."""
    c = claims.claims[key]
    if c.untestable:
        return f"**{NOT_TESTABLE}**: {c.untestable}."
    parts = []
    for regime, j in claims.judged.get(key, {}).items():
        better = _number(j.value_better, c.metric)
        worse = _number(j.value_worse, c.metric)
        values = f"{c.metric} {better} vs {worse}"
        text = f"on **{BY_KEY[regime].name}** {judgement(j, c.metric)} ({values})"
        if j.pooled_verdict is not None:
            seeds = ", ".join(map(str, j.seeds))
            text += f"; over seeds {seeds}, {judgement(j, c.metric, pooled=True)}"
        parts.append(text)
    about = f" The claim is about {BY_KEY[c.about].name}." if c.about in BY_KEY else ""
    return ("; ".join(parts) + "." if parts else "not measured on this run.") + about


def claims_table(claims, keys=None) -> pd.DataFrame:
    """One row per claim: its source, the regime it is about, the verdict in each
    regime (this seed's, then over the seeds where other seeds exist) and the smallest
    difference the test in the regime it is about could detect. A difference
    is the claimed-better method's value minus the claimed-worse one's: for an error
    in km a claim is supported by a negative difference, for an accuracy or a GeoScore
    by a positive one."""
    rows = {}
    for key in keys or claims.claims:
        c = claims.claims[key]
        row = {
            "source": c.source,
            "about": BY_KEY[c.about].name if c.about in BY_KEY else "",
        }
        for r in claims.regimes:
            j = claims.judged.get(key, {}).get(r.key)
            row[r.name] = NOT_TESTABLE if c.untestable else _cell(j, c.metric)
        about = [  # the judgements in the regimes the claim is about: the best test's
            j
            for r in claims.regimes
            if (j := claims.judged.get(key, {}).get(r.key)) and r.about == c.about
        ]
        best = min(about, key=lambda j: j.detectable, default=None)
        row["smallest detectable difference"] = detectable(best, c.metric)
        rows[c.text] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("claim")


def _cell(j, metric: str) -> str:
    """A claims-table cell: this seed's verdict and, where other seeds exist, the
    pooled one."""
    if j is None:
        return "–"
    text = judgement(j, metric, with_p=False)
    if j.pooled_verdict is None:
        return text
    seeds = ", ".join(map(str, j.seeds))
    pooled = judgement(j, metric, pooled=True, with_p=False)
    return f"seed {j.seeds[0]}: {text}; seeds {seeds}: {pooled}"


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


def _counted(verdicts) -> str:
    counts = pd.Series(list(verdicts), dtype=object).value_counts()
    return ", ".join(f"{n} {v}" for v, n in counts.items())


def verdict_counts(claims) -> str:
    """How a chapter's judgements came out in each regime, at this seed and, where
    other seeds exist, over them: a sentence for the chapter's summary."""
    parts = []
    for r in claims.regimes:
        judged = [js[r.key] for js in claims.judged.values() if r.key in js]
        if not judged:
            continue
        text = f"on {r.name}, {_counted(j.verdict for j in judged)}"
        over = [j.pooled_verdict for j in judged if j.pooled_verdict is not None]
        if over:
            text += f" (over seeds {_seeds(judged)}: {_counted(over)})"
        parts.append(text)
    return (
        f"At seed {claims.seed}, after Holm's correction, the claims came out "
        + "; ".join(parts)
        + "."
    )


def _seeds(judged) -> str:
    return ", ".join(map(str, sorted({s for j in judged for s in j.seeds})))


def glue_claims(claims) -> None:
    """Glue every claim's sentence as ``claim_<key>`` for the chapter's text."""
    for key in claims.claims:
        glue(f"claim_{key}", claim_sentence(claims, key))
