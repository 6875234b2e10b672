"""The verdicts the ``ci`` profile asserts, re-measured from the results of seeds 0, 1
and 2 (``make book`` writes them)::

    python -m tools.expected [results] [-o geosurvey/chapters/expected.json]

A verdict is listed when it is decisive (reproduced or not reproduced after Holm's
correction) and the same at every seed, in the regime named; every other verdict is
reported by the chapters and never asserted. The file it writes is what
``geosurvey.chapters.base`` reads.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from geosurvey.chapters.registry import CHAPTERS
from geosurvey.claims import NOT_REPRODUCED, REPRODUCED
from geosurvey.files import write_text
from geosurvey.profiles import MEASURED_SEEDS
from geosurvey.results import seed_dir

ABOUT = (
    "The verdicts the ci profile asserts: decisive and the same at seeds "
    f"{', '.join(map(str, MEASURED_SEEDS))} of the ci profile on the embedded "
    "GeoTiles, each in the regime named (chapter -> claim -> [[regime, verdict]]). "
    "Written by python -m tools.expected from the results of make book; re-measure "
    "after changing what a chapter trains or how claims are tested."
)


def verdicts(results: dict) -> dict:
    """``{claim key: {regime: verdict}}`` of one chapter's results file."""
    return {
        c["key"]: {r: j.get("verdict") for r, j in c["judgements"].items()}
        for c in results["claims"]
    }


def stable(per_seed: list) -> dict:
    """``{claim key: [[regime, verdict], ...]}``: the decisive verdicts every seed
    gives."""
    out = {}
    for key, judged in per_seed[0].items():
        for regime, verdict in judged.items():
            same = all(s.get(key, {}).get(regime) == verdict for s in per_seed)
            if same and verdict in (REPRODUCED, NOT_REPRODUCED):
                out.setdefault(key, []).append([regime, verdict])
    return out


def measure(root: Path) -> dict:
    """Every chapter's stable decisive verdicts; an error names a missing file."""
    out = {}
    for name in CHAPTERS:
        files = [seed_dir(root, s) / f"{name}.json" for s in MEASURED_SEEDS]
        missing = [str(f) for f in files if not f.exists()]
        if missing:
            raise FileNotFoundError(
                f"no results at {', '.join(missing)}: run make book"
            )
        found = stable([verdicts(json.loads(f.read_text())) for f in files])
        if found:
            out[name] = found
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.expected")
    parser.add_argument("results", nargs="?", default="results")
    parser.add_argument("-o", "--output", help="the file to write (default: stdout)")
    args = parser.parse_args(argv)
    text = json.dumps(
        {"about": ABOUT, "verdicts": measure(Path(args.results))}, indent=1
    )
    if args.output:
        write_text(args.output, text + "\n")
    else:
        sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
