"""Execute every chapter with papermill into a staging folder, then render the HTML
book with Jupyter Book 1 into ``_build/html`` (``make book``)::

    python -m tools.book --profile ci [--seed 0] [--other-seeds 1 2] [--data-root DIR]

``--other-seeds`` first executes every chapter at those seeds too (their results go to
``results/seed-<n>/``, their notebooks to ``build/seeds/``, unrendered), so that the
rendered book (``--seed``) pools them into its intervals and shows each claim's verdict
at every seed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from geosurvey.cli import add_run_parameters, execute_chapter, toc_files
from geosurvey.files import write_text
from geosurvey.profiles import find_root


def chapter_entries(root: Path) -> list:
    """The entries of ``_toc.yml`` that are notebooks, in the book's order."""
    return [e for e in toc_files(root) if (root / f"{e}.ipynb").exists()]


def show_run_parameters_only(notebook: Path) -> None:
    """Hide the chapter's default ``parameters`` cell in the rendered page: the cell
    papermill injected after it holds the values this run used, and showing both reads
    as a duplicate. That one stays on the page, folded behind its toggle."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = tags + ["remove-cell"]
        elif "injected-parameters" in tags and "hide-input" not in tags:
            cell.metadata["tags"] = tags + ["hide-input"]
    nbformat.write(nb, notebook)


def stage(root: Path, folder: Path) -> Path:
    """``folder``, emptied, with the book's configuration, bibliography, static files
    (``html_static_path``) and the partials several pages include."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml", "references.bib"):
        shutil.copy(root / name, folder / name)
    for shared in ("_static", "_partials"):  # what several pages show or include
        shutil.copytree(root / "book" / shared, folder / "book" / shared)
    return folder


def source(root: Path, entry: str) -> Path:
    for path in (root / f"{entry}.ipynb", root / f"{entry}.md"):
        if path.exists():
            return path
    raise SystemExit(
        f"_toc.yml names {entry!r} but neither {entry}.ipynb nor {entry}.md exists"
    )


def render(root: Path, staged: Path, *, output: Path | None = None) -> Path:
    """Build the staged book with Jupyter Book 1 into ``<output>/_build/html``
    (``output`` defaults to the root); every page must exist."""
    output = output or root
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(staged), "--path-output", str(output)]
    subprocess.run(cmd + ["-W", "-n", "--keep-going"], check=True)
    html = output / "_build" / "html"
    missing = [e for e in toc_files(root) if not (html / f"{e}.html").exists()]
    if missing:
        raise SystemExit(f"the build produced no page for {missing}")
    return html


def other_seeds(root: Path, args) -> dict:
    """Execute every chapter at each of ``args.other_seeds`` (not rendered); seconds
    per seed and chapter."""
    times = {}
    for seed in args.other_seeds:
        run = argparse.Namespace(**{**vars(args), "seed": seed})
        for entry in chapter_entries(root):
            src = root / f"{entry}.ipynb"
            dst = (
                root / "build" / "seeds" / f"{src.stem}-{args.profile}-seed{seed}.ipynb"
            )
            dst.parent.mkdir(parents=True, exist_ok=True)
            print(f"executing {src.relative_to(root)} ({args.profile}, seed {seed})")
            seconds = round(execute_chapter(src, dst, root, run, progress_bar=False), 1)
            times[f"{entry} seed {seed}"] = seconds
            print(f"  done in {seconds} s", flush=True)
    return times


def build(args) -> None:
    """Execute every chapter with papermill into a staging folder (after the other
    seeds), then render the HTML."""
    root = find_root()
    times = other_seeds(root, args)
    staged = stage(root, root / "build" / "book-src")
    for entry in toc_files(root):
        src = source(root, entry)
        dst = staged / src.relative_to(root)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.suffix == ".md":
            shutil.copy(src, dst)
            continue
        print(f"executing {src.relative_to(root)} ({args.profile})", flush=True)
        times[entry] = round(
            execute_chapter(src, dst, root, args, progress_bar=False), 1
        )
        show_run_parameters_only(dst)
        print(f"  done in {times[entry]} s", flush=True)
    summary = {"profile": args.profile, "seconds": times}
    write_text(root / "build" / "chapter_times.json", json.dumps(summary, indent=2))
    html = render(root, staged)
    print(
        f"book built: {html / 'index.html'} ({len(toc_files(root))} pages); "
        f"times {times}"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.book", description=__doc__)
    add_run_parameters(parser)
    parser.add_argument(
        "--other-seeds",
        type=int,
        nargs="*",
        default=[],
        help="seeds whose results the rendered book pools beside its own (e.g. 1 2)",
    )
    build(parser.parse_args(argv))


if __name__ == "__main__":
    main()
