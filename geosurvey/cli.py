"""Command line: what people run without a notebook.

    geosurvey data      --profile ci
        render (or reuse) the GeoTiles splits
    geosurvey partition points.csv --tau-max 1000 --tau-min 50 [-o cells.csv]
        adaptive S2 geocells of the points
    geosurvey evaluate  predictions.csv [--convention osv5m]
        metrics of lat/lon predictions vs truth
    geosurvey run planet --profile full --device cuda [--data-root DIR]
        execute one chapter (into $GEOSURVEY_RUNS, $GEOSURVEY_RESULTS/runs or
        build/runs)
    geosurvey fit --list
        every model a chapter trains (a "job")
    geosurvey fit planet-middle --profile full [--fold all]
        train one job (torchrun: several GPUs), or its models in the folds of new
        ground
    geosurvey predict photo.jpg folder/ --checkpoint CKPT [-o predictions.csv]
                      [--maps DIR]
        locate photos with a trained cell classifier
    geosurvey doctor [--data-root DIR] [--eval-root DIR]
        what this machine offers (GPU, weights, data)

Every command, ``run`` included, reports a bad input (a file, a line, a parameter) in
one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import pandas as pd

from .files import write_text
from .regimes import FOLDS


def _cmd_data(args) -> None:
    """Prepare (render or read) the splits a run of the chapters uses."""
    t0 = time.perf_counter()
    _, splits = _loaded(args, "cpu")
    from .chapters.registry import reported

    sizes = ", ".join(f"{k} {len(v):,}" for k, v in splits.items())
    print(
        f"{args.profile}: {sizes} ready in {time.perf_counter() - t0:.1f} s"
        f"{reported(splits)}"
    )


def _warn_dropped(summary: dict, n: int, tau_min: int) -> None:
    """One line on stderr: how many of the ``n`` points the partition left out, and
    which flags keep them."""
    print(
        f"geosurvey partition: warning: {summary['dropped photos']:,} of {n:,} points "
        f"({summary['dropped %']:.0f} %) lie in cells of at most --tau-min {tau_min} "
        f"points and are left out ({summary['cells']} cell(s) kept); for {n:,} points "
        "lower --tau-min and --tau-max",
        file=sys.stderr,
    )


def _cmd_partition(args) -> None:
    """Adaptive S2 geocells of the points in a CSV."""
    from . import cells, s2
    from .data.tables import read_table

    df = read_table(args.csv, {args.lat: "lat", args.lon: "lon"})
    part = cells.adaptive(
        df["lat"].to_numpy(), df["lon"].to_numpy(), args.tau_max, args.tau_min
    )
    summary = part.summary()
    print(json.dumps(summary, indent=2))
    if summary["dropped photos"]:
        _warn_dropped(summary, len(df), args.tau_min)
    if args.output:
        clat, clon = part.centers("center")
        table = pd.DataFrame(
            {
                "token": s2.to_token(part.cell_ids),
                "level": part.levels,
                "count": part.counts,
                "mean_lat": part.mean_lat,
                "mean_lon": part.mean_lon,
                "center_lat": clat,
                "center_lon": clon,
            }
        )
        write_text(args.output, table.to_csv(index=False))
        print(f"wrote {len(part)} cells to {args.output}")


PREDICT_COLUMNS = ("top_cells", "top1_probability")  # what only predict's output has


def _true_country_column(path, has: set) -> bool:
    """Whether ``path`` gives true countries (its ``country`` column: the true country,
    as everywhere in the library; ``pred_country``: the predicted one); an error when
    ``country`` may be the predicted one (a predict output written before predict
    named it ``pred_country``)."""
    from .data.tables import TableError

    if "country" in has and "pred_country" not in has and has & set(PREDICT_COLUMNS):
        raise TableError(
            f"{path}: column 'country' is ambiguous: the file has geosurvey predict's "
            "columns (top_cells), where 'country' was the predicted country; rename it "
            "pred_country and give the true country, if known, as 'country'"
        )
    return "country" in has


def _cmd_evaluate(args) -> None:
    """Metrics of a CSV with pred_lat, pred_lon, lat, lon[, id][, country]: country is
    the true one (predict writes the predicted one as pred_country)."""
    from . import conventions
    from .data.tables import header, read_table

    has = set(header(args.csv))
    truth_given = _true_country_column(args.csv, has)
    df = read_table(
        args.csv,
        {c: c for c in ("pred_lat", "pred_lon", "lat", "lon")},
        id_column="id" if "id" in has else None,
        coordinates=(("pred_lat", "pred_lon"), ("lat", "lon")),
        country="country",
    )
    truth = df["country"].to_numpy(dtype=object) if truth_given else None
    print(
        json.dumps(
            conventions.evaluate(
                df["pred_lat"],
                df["pred_lon"],
                df["lat"],
                df["lon"],
                convention=args.convention,
                true_country=truth,
            ),
            indent=2,
        )
    )


def toc_files(root: Path) -> list:
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text())
    return [toc["root"], *(entry["file"] for entry in toc.get("chapters", []))]


def _sizes(args) -> dict | None:
    """The split sizes given on the command line (``--n-train`` ...), or None for the
    profile's."""
    splits = ("train", "val", "test", "val_new", "test_new")
    return {k: n for k in splits if (n := getattr(args, f"n_{k}"))} or None


def _loaded(args, device: str) -> tuple:
    """The run configuration the command line asks for on ``device``, and its splits."""
    from . import profiles

    options = (args.data_root, args.seed, _sizes(args), args.eval_root)
    cfg = profiles.get(args.profile, device, *options, **_photo_options(args))
    return cfg, profiles.load_splits(cfg)


def _photo_options(args) -> dict:
    """The photo-reading options (profile fields and notebook parameters of the same
    names): those given on the command line, else the profile's, so that the page shows
    every parameter the run used."""
    from . import profiles

    profile = profiles.PROFILES.get(args.profile)  # an unknown one is refused later
    given = {
        "only_present": args.only_present or None,
        "bad_image_tolerance": args.bad_image_tolerance,
    }
    used = {k: getattr(profile, k, None) if v is None else v for k, v in given.items()}
    return {k: v for k, v in used.items() if v is not None}


def execute_chapter(
    src: Path, dst: Path, root: Path, args, progress_bar: bool
) -> float:
    """Execute notebook ``src`` into ``dst`` with the run parameters in ``args``;
    returns seconds."""
    import papermill

    options = {
        "eval_root": args.eval_root or None,
        "sizes": _sizes(args),
        **_photo_options(args),
    }
    params = {
        "profile": args.profile,
        "device": args.device,
        "seed": args.seed,
        "data_root": args.data_root or None,
        "options": {k: v for k, v in options.items() if v is not None},
    }
    t0 = time.perf_counter()
    papermill.execute_notebook(
        str(src),
        str(dst),
        parameters=params,
        cwd=str(root),
        kernel_name="python3",
        progress_bar=progress_bar,
    )
    return time.perf_counter() - t0


def add_run_parameters(p) -> None:
    """The parameters every chapter's ``parameters`` cell takes."""
    p.add_argument("--profile", default="ci")
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--data-root",
        default=None,
        help="an OpenStreetView-5M or MP-16 folder instead of GeoTiles",
    )
    p.add_argument(
        "--eval-root",
        default=None,
        help="a test set: im2gps3k (info.json), yfcc4k (info.txt) or a CSV + images",
    )
    p.add_argument(
        "--only-present",
        action="store_true",
        help="use only the rows whose image is there (a partial download)",
    )
    tolerance = "share of a photo split that may be unreadable and is skipped"
    p.add_argument("--bad-image-tolerance", type=float, help=tolerance + " (0.01)")
    p.add_argument("--seed", type=int, default=0)
    for split in ("train", "val", "test", "val-new", "test-new"):
        p.add_argument(
            f"--n-{split}", type=int, help=f"at most this many {split} images"
        )


def chapter_notebook(root: Path, name: str) -> Path:
    """The chapter notebook whose file name contains ``name`` (e.g. ``planet``), exactly
    one."""
    chapters = [
        root / f"{e}.ipynb" for e in toc_files(root) if (root / f"{e}.ipynb").exists()
    ]
    found = [p for p in chapters if name in p.stem]
    if len(found) != 1:
        names = ", ".join(p.stem for p in chapters)
        raise ValueError(
            f"{'no' if not found else 'more than one'} chapter matches {name!r}; "
            f"chapters: {names}"
        )
    return found[0]


RUNS_ENV = "GEOSURVEY_RUNS"
ANSI = "\x1b\\[[0-9;]*m"  # the colours of a notebook traceback


def runs_dir(root: Path) -> Path:
    """Where ``geosurvey run`` writes executed chapters: ``$GEOSURVEY_RUNS``, else
    ``runs/`` in ``$GEOSURVEY_RESULTS``, else ``build/runs``."""
    if os.environ.get(RUNS_ENV):
        return Path(os.environ[RUNS_ENV])
    if os.environ.get("GEOSURVEY_RESULTS"):
        return Path(os.environ["GEOSURVEY_RESULTS"]) / "runs"
    return root / "build" / "runs"


def _user_error_names() -> set:
    """The class names of :data:`USER_ERRORS` and of their subclasses (how a notebook's
    failure names its error)."""
    names, todo = set(), list(USER_ERRORS)
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo += cls.__subclasses__()
    return names


def _failed(src: Path, log: Path, exc) -> None:
    """Write the traceback of chapter ``src``'s failure ``exc`` to ``log``; raise the
    one line that ends the run: a data error as the other commands' (a user error),
    anything else as a failure."""
    trace = re.sub(ANSI, "", "\n".join(exc.traceback))
    write_text(log, f"{src.name}: {exc.ename}: {exc.evalue}\n\n{trace}\n")
    where = f"{src.name}: {exc.evalue} (the notebook's traceback: {log})"
    if exc.ename in _user_error_names():
        raise ChapterInputError(where) from None
    raise SystemExit(f"geosurvey run: {exc.ename} in {where}") from None


def _run_chapter(src: Path, dst: Path, root: Path, args) -> float:
    """Execute ``src`` into ``dst``, which is replaced only when the chapter succeeds: a
    failure leaves the last good run, keeps the notebook as far as it ran as ``dst``'s
    ``.failed.ipynb`` and writes its traceback to its ``.failed.log``
    (:func:`_failed`)."""
    import papermill
    from nbclient.exceptions import DeadKernelError

    tmp = dst.with_name(f".{dst.stem}.running.ipynb")
    log, failed = dst.with_suffix(".failed.log"), dst.with_suffix(".failed.ipynb")
    try:
        seconds = execute_chapter(
            src, tmp, root, args, progress_bar=args.chapter != "all"
        )
    except BaseException as exc:
        if tmp.exists():  # as far as it ran, beside the last good run
            tmp.replace(failed)
        if isinstance(exc, papermill.PapermillExecutionError):
            _failed(src, log, exc)
        if isinstance(exc, DeadKernelError):
            raise SystemExit(
                f"geosurvey run: the kernel running {src.name} died (out of memory, or "
                f"a crash in native code); the notebook as far as it ran: {failed}"
            ) from None
        raise
    tmp.replace(dst)
    log.unlink(missing_ok=True)
    failed.unlink(missing_ok=True)
    return seconds


class ChapterInputError(ValueError):
    """A chapter stopped by an error about its inputs (a file, a row, a parameter)."""


def _cmd_run(args) -> None:
    """Execute one chapter, e.g. 'run planet --profile full --device cuda', or 'all'.

    All of them run in order (no HTML build): the way to run a chapter's full profile
    on a GPU, or another seed. Executed notebooks go to :func:`runs_dir`."""
    from .profiles import find_root

    root = find_root()
    if args.chapter == "all":
        sources = [
            root / f"{e}.ipynb"
            for e in toc_files(root)
            if (root / f"{e}.ipynb").exists()
        ]
    else:
        sources = [chapter_notebook(root, args.chapter)]
    for src in sources:
        dst = runs_dir(root) / f"{src.stem}-{args.profile}-seed{args.seed}.ipynb"
        dst.parent.mkdir(parents=True, exist_ok=True)
        seconds = _run_chapter(src, dst, root, args)
        print(
            f"{src.name} ({args.profile}, seed {args.seed}) executed in "
            f"{seconds:.0f} s -> {dst}",
            flush=True,
        )


def _list_jobs(args) -> None:
    """Every job, by chapter, with what it needs; ``--keys``: the checkpoint each would
    write."""
    from .chapters import context, registry

    jobs = registry().jobs
    ctx = None
    if args.keys:
        ctx = context(*_loaded(args, args.device))
    chapter = None
    for name, job in jobs.items():
        if job.chapter != chapter:
            chapter = job.chapter
            print(f"{chapter}:")
        needs = job.needs.__doc__ if callable(job.needs) else ", ".join(job.needs)
        line = f"  {name:28s} {job.description}" + (
            f" (needs {needs})" if needs else ""
        )
        line += " (also in folds: --fold)" * (job.fold_plan is not None)
        files = ctx.checkpoints(name) if ctx else ()
        print(line + "".join(f"\n  {'':28s} -> {f.name}" for f in files))


def _join_processes(requested: str) -> tuple:
    """Under torchrun: join the process group (NCCL on GPUs, gloo on CPUs); returns
    ``(device of this process, world size)``."""
    import torch
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return requested, 1
    cuda = torch.cuda.is_available() and requested != "cpu"
    dist.init_process_group("nccl" if cuda else "gloo")
    if not cuda:
        return requested, world
    device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    torch.cuda.set_device(device)
    return device, world


def _cmd_fit(args) -> None:
    """Train one of the chapters' models (torchrun: on several GPUs); --list lists them.

    Under torchrun, with DistributedDataParallel when launched with several processes;
    the checkpoint is the one the chapter looks up."""
    import torch.distributed as dist

    from . import folds
    from .chapters import context, registry

    if args.list or not args.job:
        return _list_jobs(args)
    if args.job not in registry().jobs:
        raise ValueError(f"no job {args.job!r}; 'geosurvey fit --list' lists them")
    device, world = _join_processes(args.device)
    rank = dist.get_rank() if world > 1 else 0
    try:
        if rank > 0:
            # rank 0 prepares the data and its caches first; then the others
            dist.barrier()
        ctx = context(*_loaded(args, device))
        runs = folds.contexts(ctx, args.fold) if args.fold else []
        if not runs:
            for leaf in ctx.leaves():  # one model per training split
                leaf.plan(args.job)
        if world > 1 and rank == 0:
            dist.barrier()
        done = [(t, [t.path]) for t in (folds.trained(c, args.job) for c in runs)]
        done = done or [(ctx.fit(args.job), ctx.checkpoints(args.job))]
        if rank == 0:
            _say_fitted(args.job, world, done)
    finally:
        if world > 1:
            dist.destroy_process_group()


def _say_fitted(job: str, world: int, done: list) -> None:
    """One line per trained model: ``done`` holds (trained, its checkpoints)."""
    for trained, paths in done:
        best = ", ".join(
            f"{k} {v['score']:.1f} (epoch {v['epoch']})"
            for k, v in trained.history.best.items()
        )
        if FOLDS.key in trained.history.best:  # not chosen: the recipe's last epoch
            best = f"none (a fold keeps its last epoch, {len(trained.history.epochs)})"
        print(
            f"{job} on {world} process(es): best validation score {best}; "
            "checkpoint " + ", ".join(str(p) for p in paths)
        )


def _cmd_predict(args) -> None:
    """Locate photos with a trained cell classifier."""
    from . import predict
    from .train import select_device

    predictor = predict.Predictor.load(args.checkpoint, select_device(args.device))
    table, skipped = predict.predict(
        predictor, args.images, k=args.k, scenes=not args.no_scenes
    )
    for path, reason in skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    if table.empty:
        raise ValueError(
            f"none of the {len(skipped)} file(s) given could be read as an image"
        )
    probabilities = table.attrs.pop("probabilities")
    if args.output:
        write_text(args.output, table.to_csv(index=False))
        print(
            f"wrote {len(table)} predictions to {args.output} "
            f"({len(skipped)} file(s) skipped); model: {predictor.description}"
        )
    else:
        print(table.to_csv(index=False), end="")
    if args.maps:
        for i, (path, p) in enumerate(zip(table["path"], probabilities)):
            name = Path(path).stem  # numbered: a/1.jpg and b/1.jpg must not share a map
            predict.probability_map(
                predictor,
                p,
                Path(args.maps) / f"{i:04d}-{name}.png",
                title=f"{name}: top cells",
            )


def _cmd_doctor(args) -> None:
    """What this machine offers: torch, CUDA, GPUs, weights, data."""
    from .doctor import lines

    print("\n".join(lines(args.data_root, args.eval_root)))


def _args_partition(p) -> None:
    p.add_argument("csv")
    p.add_argument("--lat", default="lat")
    p.add_argument("--lon", default="lon")
    p.add_argument("--tau-max", type=int, default=1000)
    p.add_argument("--tau-min", type=int, default=50)
    p.add_argument("-o", "--output")


def _args_evaluate(p) -> None:
    from .conventions import CONVENTIONS

    p.add_argument("csv")
    p.add_argument(
        "--convention",
        default="geosurvey",
        choices=sorted(CONVENTIONS),
        help="whose evaluation code to follow (default: the book's)",
    )


def _args_run(p) -> None:
    p.add_argument(
        "chapter",
        help="part of the notebook's name (data, planet, pigeon, "
        "two_stage, scene, comparison), or 'all'",
    )
    add_run_parameters(p)


def _args_fit(p) -> None:
    p.add_argument("job", nargs="?", help="a job's name, e.g. planet-middle")
    p.add_argument("--list", action="store_true", help="list every job, by chapter")
    p.add_argument(
        "--keys",
        action="store_true",
        help="with --list: the checkpoint each job would write",
    )
    p.add_argument(
        "--fold",
        help="train the job in one fold of new ground (0-7) or in 'all' (GeoTiles)",
    )
    add_run_parameters(p)


def _args_predict(p) -> None:
    p.add_argument("images", nargs="+", help="image files and/or folders")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("-k", type=int, default=5, help="cells listed per image")
    p.add_argument("-o", "--output", help="CSV to write (default: print)")
    p.add_argument(
        "--maps", help="folder for one PNG map of cell probabilities per image"
    )
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--no-scenes",
        action="store_true",
        help="skip the Places365 scene of each photo",
    )


def _args_doctor(p) -> None:
    p.add_argument(
        "--data-root", help="a training folder to recognise (default: $DATA_ROOT)"
    )
    p.add_argument("--eval-root", help="a test set to recognise (default: $EVAL_ROOT)")


COMMANDS = ("data", "partition", "evaluate", "run", "fit", "predict", "doctor")


def parser() -> argparse.ArgumentParser:
    """A subcommand per name of :data:`COMMANDS`: it runs ``_cmd_<name>``, whose
    docstring's first paragraph is its help, with the arguments ``_args_<name>`` adds
    (the run parameters where there is none)."""
    out = argparse.ArgumentParser(
        prog="geosurvey",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = out.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        run = globals()[f"_cmd_{name}"]
        p = sub.add_parser(name, help=" ".join(run.__doc__.split("\n\n")[0].split()))
        globals().get(f"_args_{name}", add_run_parameters)(p)
        p.set_defaults(func=run)
    return out


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except USER_ERRORS as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"geosurvey {args.command}: error: {message}", file=sys.stderr)
        raise SystemExit(2) from None


def _user_errors() -> tuple:
    """The library's errors about its inputs (files, rows, parameters): shown as one
    line."""
    from .data.images import ImageDecodeError
    from .data.readers import TooManyBadImages
    from .data.tables import TableError
    from .geo import CoordinateError
    from .packaged import MissingPackageFile

    return (
        TableError,
        CoordinateError,
        ImageDecodeError,
        TooManyBadImages,
        MissingPackageFile,
        FileNotFoundError,
        ValueError,
        KeyError,
    )


USER_ERRORS = _user_errors()


if __name__ == "__main__":
    main()
