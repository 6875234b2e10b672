"""Where each chapter's time goes, cold and warm (``make profile``)::

    python -m tools.profile [--profile ci] [--seed 0] [-o bench/profile.json]

Cold is a fresh clone's first ``make book``: empty caches, checkpoints and results,
the data prepared first (``geosurvey data``), then every chapter in the book's
order. Warm is the same chapters run again on what the cold pass left. For each
chapter the time is split into: kernel start and papermill (the notebook's wall time
less its cells'), the library's timed spans (``geosurvey.timings``: data,
activations, each job's epochs, validation and checkpoints, evaluation, the
bootstrap and claims, the results files) and the rest of the cells' time (figures,
maps, tables and prose). Rendering the executed chapters with Jupyter Book is timed
once, after the warm pass.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import nbformat

from geosurvey import cli
from geosurvey.files import write_text
from geosurvey.profiles import find_root
from tools import book

FOLDERS = ("GEOSURVEY_CACHE", "GEOSURVEY_CHECKPOINTS", "GEOSURVEY_RESULTS")


def chapter_seconds(executed: Path, wall: float, spans: dict) -> dict:
    """One chapter's breakdown: kernel start, every span, the cells' remaining time."""
    nb = nbformat.read(executed, as_version=4)
    cells = sum(c.metadata.get("papermill", {}).get("duration") or 0 for c in nb.cells)
    out = {"wall": wall, "kernel start and papermill": wall - cells}
    out.update(spans)
    out["figures, maps, tables and prose"] = cells - sum(spans.values())
    return {k: round(v, 2) for k, v in out.items()}


def read_spans(folder: Path) -> dict:
    """The spans every process of one chapter's run wrote (``geosurvey.timings``)."""
    totals = defaultdict(float)
    for path in folder.glob("*.json"):
        for name, seconds in json.loads(path.read_text()).items():
            totals[name] += seconds
    return dict(totals)


def run_pass(root: Path, work: Path, args, label: str) -> dict:
    """Every chapter executed once in order; ``{chapter: breakdown}``."""
    out = {}
    for entry in book.chapter_entries(root):
        src = root / f"{entry}.ipynb"
        spans = work / "timings" / label / src.stem
        spans.mkdir(parents=True)
        os.environ["GEOSURVEY_TIMINGS"] = str(spans)
        dst = work / "executed" / src.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        print(f"{label}: executing {src.name}", flush=True)
        wall = cli.execute_chapter(src, dst, root, args, progress_bar=False)
        out[src.stem] = chapter_seconds(dst, wall, read_spans(spans))
        print(f"  {out[src.stem]['wall']:.1f} s", flush=True)
    os.environ.pop("GEOSURVEY_TIMINGS")
    return out


def prepare_data(root: Path, args) -> float:
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "geosurvey.cli", "data", "--profile", args.profile]
    subprocess.run(cmd + ["--seed", str(args.seed)], check=True, cwd=root)
    return round(time.perf_counter() - t0, 1)


def render(root: Path, work: Path) -> float:
    """Seconds to render the warm pass's executed chapters (into ``work``)."""
    stage = book.stage(root, work / "book-src")
    for entry in book.toc_files(root):
        src = book.source(root, entry)
        dst = stage / src.relative_to(root)
        dst.parent.mkdir(parents=True, exist_ok=True)
        executed = work / "executed" / src.name
        shutil.copy(executed if src.suffix == ".ipynb" else src, dst)
    t0 = time.perf_counter()
    book.render(root, stage, output=work)
    return round(time.perf_counter() - t0, 1)


def profile(profile_name: str = "ci", seed: int = 0) -> dict:
    root = find_root()
    args = cli.parser().parse_args(
        ["run", "all", "--profile", profile_name, "--seed", str(seed)]
    )
    saved = {k: os.environ.get(k) for k in FOLDERS}
    with tempfile.TemporaryDirectory(prefix="geosurvey-profile-") as tmp:
        work = Path(tmp)
        for k in FOLDERS:
            os.environ[k] = str(work / k.lower())
        try:
            report = {"profile": profile_name, "seed": seed, "cpus": os.cpu_count()}
            report["data_s"] = prepare_data(root, args)
            report["cold"] = run_pass(root, work, args, "cold")
            report["warm"] = run_pass(root, work, args, "warm")
            report["render_s"] = render(root, work)
        finally:
            for k, v in saved.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return report


def table(report: dict) -> str:
    """The report as text: one block per chapter, cold and warm side by side."""
    lines = [f"data (geosurvey data, cold): {report['data_s']} s"]
    for chapter, cold in report["cold"].items():
        warm = report["warm"][chapter]
        lines.append(f"{chapter}: cold {cold['wall']:.1f} s, warm {warm['wall']:.1f} s")
        for name in cold:
            if name != "wall" and max(cold[name], warm.get(name, 0)) >= 0.05:
                lines.append(f"  {name:<52} {cold[name]:8.2f} {warm.get(name, 0):8.2f}")
    lines.append(f"rendering the book: {report['render_s']} s")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tools.profile", description=__doc__
    )
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", default="bench/profile.json")
    args = parser.parse_args(argv)
    report = profile(args.profile, args.seed)
    write_text(Path(args.output), json.dumps(report, indent=2))
    print(table(report))


if __name__ == "__main__":
    main()
