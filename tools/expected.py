"""The verdicts the ``ci`` profile asserts, re-measured from the results of seed 0,
which pool seeds 0, 1 and 2 (``make book`` writes them in that order)::

    python -m tools.expected [results] [--within FILE] [-o FILE]

A verdict is listed when it is decisive (reproduced or not reproduced after Holm's
correction) and the same at every seed, in the regime named; every other verdict is
reported by the chapters and never asserted. Training differs in the last bits from
one CPU to another (AVX2 and AVX-512 kernels sum in different orders), which can move
a verdict near its threshold: ``--within`` keeps only the verdicts that a file written
from another machine's results lists too, so that what is asserted held at every seed
on every machine measured. The file it writes (``-o``) is
``geosurvey/chapters/expected.json``, which ``geosurvey.chapters.base`` reads.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from geosurvey.chapters.registry import CHAPTERS
from geosurvey.claims import DECISIVE
from geosurvey.files import write_text
from geosurvey.profiles import MEASURED_SEEDS

ABOUT = (
    "The verdicts the ci profile asserts: decisive and the same at seeds "
    f"{', '.join(map(str, MEASURED_SEEDS))} of the ci profile on the embedded "
    "GeoTiles, on every machine measured (an AVX2 and an AVX-512 CPU), each in the "
    "regime named (chapter -> claim -> [[regime, verdict]]). Written by python -m "
    "tools.expected from the results of make book; re-measure after changing what a "
    "chapter trains or how claims are tested."
)


def stable(name: str, results: dict) -> dict:
    """``{claim key: [[regime, verdict], ...]}``: the decisive verdicts over seeds of
    one chapter's seed-0 results (decisive only where every seed gives it: the rule of
    :mod:`geosurvey.claims`), which must pool every seed of ``MEASURED_SEEDS``."""
    judged = [
        (c["key"], r, j) for c in results["claims"] for r, j in c["judgements"].items()
    ]
    pooled = {tuple(j["seeds"]) for _, _, j in judged if j.get("seeds")}
    if pooled != {MEASURED_SEEDS}:
        raise ValueError(
            f"{name}: its results pool seeds {sorted(pooled)}, not {MEASURED_SEEDS}: "
            "run make book"
        )
    out = {}
    for key, regime, j in judged:
        if j.get("pooled_verdict") in DECISIVE:
            out.setdefault(key, []).append([regime, j["pooled_verdict"]])
    return out


def measure(root: Path) -> dict:
    """Every chapter's stable decisive verdicts; an error names a missing file."""
    out = {}
    for name in CHAPTERS:
        path = Path(root) / f"{name}.json"
        if not path.exists():
            raise FileNotFoundError(f"no results at {path}: run make book")
        found = stable(name, json.loads(path.read_text()))
        if found:
            out[name] = found
    return out


def within(found: dict, other: dict) -> dict:
    """The verdicts of ``found`` that ``other`` (another machine's) lists too."""
    out = {}
    for chapter, claims in found.items():
        theirs = other.get(chapter, {})
        kept = {
            key: [v for v in verdicts if v in theirs.get(key, [])]
            for key, verdicts in claims.items()
        }
        kept = {key: v for key, v in kept.items() if v}
        if kept:
            out[chapter] = kept
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.expected")
    parser.add_argument("results", nargs="?", default="results")
    parser.add_argument(
        "--within", help="an expected.json from another machine's results"
    )
    parser.add_argument("-o", "--output", help="the file to write (default: stdout)")
    args = parser.parse_args(argv)
    found = measure(Path(args.results))
    if args.within:
        found = within(found, json.loads(Path(args.within).read_text())["verdicts"])
    text = json.dumps({"about": ABOUT, "verdicts": found}, indent=1)
    if args.output:
        write_text(args.output, text + "\n")
    else:
        sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
