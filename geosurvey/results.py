"""The files a chapter writes: ``<chapter>.json`` (every number and verdict the page
shows) and ``<chapter>.predictions.npz`` (every method's predicted points on every test
set, for the comparison chapter and for pooling seeds). One save and one load per file,
written atomically.

Results of seed 0 live in the results folder itself, those of another seed in
``seed-<n>/`` below it, so a run at seed 0 can pool the seeds that exist without
overwriting them.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np
import pandas as pd

from . import files, metrics
from .evaluation import Evaluations

META_COLUMNS = ("lat", "lon", "continent", "country", "scene", "block")


def seed_dir(root, seed: int) -> Path:
    """Where the results of ``seed`` live below the results folder ``root``."""
    return Path(root) if seed == 0 else Path(root) / f"seed-{seed}"


def _json_default(value):
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    return value.tolist() if isinstance(value, np.ndarray) else str(value)


def method_table(ev: Evaluations, regions) -> dict:
    """``{split: {method: {region: metrics with their 95 % intervals}}}``."""
    out = {}
    for (method, split), e in ev.done.items():
        per = out.setdefault(split, {}).setdefault(method, {})
        for region in regions:
            point = ev.metrics(method, split, region)
            if point:
                per[region] = {**point, "ci95": ev.intervals(method, split, region)}
        if e.info:
            per["info"] = e.info
    return out


def save_json(path, payload: dict) -> Path:
    payload = {
        **payload,
        "machine": platform.machine(),
        "evaluator": metrics.DESCRIPTION,
    }
    files.write_text(path, json.dumps(payload, indent=2, default=_json_default))
    return Path(path)


def load_json(chapter: str, root) -> dict:
    return json.loads(_existing(Path(root) / f"{chapter}.json", chapter).read_text())


def save_predictions(path, ev: Evaluations) -> None:
    """Test-set rows and every method's predictions, compressed."""
    arrays = {"sets": np.array(list(ev.sets), dtype=str)}
    for j, ts in enumerate(ev.sets.values()):
        for col in META_COLUMNS:
            if col in ts.meta:
                values = ts.meta[col].to_numpy()
                arrays[f"s{j}_{col}"] = (
                    values if col in ("lat", "lon") else values.astype(str)
                )
        if ts.block is not None:  # the blocks as tested (close discs merged)
            arrays[f"s{j}_block"] = ts.block.astype(str)
    keys = list(ev.done)
    arrays["methods"] = np.array([m for m, _ in keys], dtype=str)
    arrays["splits"] = np.array([s for _, s in keys], dtype=str)
    for i, key in enumerate(keys):
        arrays[f"m{i}_pred"] = np.stack(
            [ev.done[key].pred_lat, ev.done[key].pred_lon], 1
        )
    with files.atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)


def load_predictions(chapter: str, root) -> Evaluations:
    """The :class:`Evaluations` a chapter saved, re-measured by this evaluator."""
    path = _existing(Path(root) / f"{chapter}.predictions.npz", chapter)
    with np.load(path) as z:
        sets = {}
        for j, name in enumerate(z["sets"]):
            cols = {c: z[f"s{j}_{c}"] for c in META_COLUMNS if f"s{j}_{c}" in z}
            sets[str(name)] = pd.DataFrame(cols)
        ev = Evaluations(sets)
        for i, (method, split) in enumerate(zip(z["methods"], z["splits"])):
            pred = z[f"m{i}_pred"]
            ev.add(str(method), str(split), pred[:, 0], pred[:, 1])
    return ev


def _existing(path: Path, chapter: str) -> Path:
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: execute the '{chapter}' chapter first "
            f"(geosurvey run {chapter}, or make book)"
        )
    return path


def other_seeds(chapter: str, root, seed: int, seeds=(0, 1, 2)) -> dict:
    """``{seed: Evaluations}`` of the same chapter at the other seeds whose results
    exist."""
    base = Path(root) if seed == 0 else Path(root).parent
    out = {}
    for s in seeds:
        path = seed_dir(base, s) / f"{chapter}.predictions.npz"
        if s != seed and path.exists():
            out[s] = load_predictions(chapter, seed_dir(base, s))
    return out
