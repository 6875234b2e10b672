"""``geosurvey doctor``: what this machine offers the book, checked rather than
assumed."""

from __future__ import annotations

import os
import platform


def _devices() -> list:
    import torch

    out = [
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs; torch {torch.__version__} "
        f"({torch.get_num_threads()} threads)"
    ]
    if not torch.cuda.is_available():
        return out + [
            "CUDA: not available "
            "(chapters run on the CPU; the full profile wants a GPU)"
        ]
    out.append(f"CUDA {torch.version.cuda}: {torch.cuda.device_count()} GPU(s)")
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        bf16 = "yes" if torch.cuda.is_bf16_supported() else "no"
        out.append(
            f"  cuda:{i} {p.name}, {p.total_memory / 2**30:.1f} GiB, bf16 {bf16}"
        )
    return out


def _profiles() -> list:
    from . import backbones, profiles

    out = []
    for name, p in profiles.PROFILES.items():
        try:
            chosen = backbones.first_available(p.backbones)
        except RuntimeError as exc:
            out.append(f"profile {name}: {exc}")
            continue
        skipped = p.backbones[: p.backbones.index(chosen)]
        note = (
            f" (preferred {', '.join(skipped)}: weights not available here)"
            if skipped
            else ""
        )
        out.append(
            f"profile {name}: backbone {chosen} -> "
            f"{backbones.describe(chosen).weights}{note}"
        )
    return out


def _files() -> list:
    from . import packaged
    from .cache import cache_root

    out = []
    for name in packaged.FILES:
        try:
            out.append(f"data {name}: {packaged.path(name)}")
        except (FileNotFoundError, ValueError) as exc:
            out.append(f"data {name}: MISSING ({exc})")
    for var in ("GEOSURVEY_CACHE", "GEOSURVEY_RESULTS", "GEOSURVEY_CHECKPOINTS"):
        value = os.environ.get(var)
        if value:
            there = "exists" if os.path.exists(value) else "does not exist"
            out.append(f"{var}={value} ({there})")
    return out + [f"cache: {cache_root()}"]


def _roots(data_root, eval_root) -> list:
    """The layout of each data root given (on the command line, else as ``DATA_ROOT`` /
    ``EVAL_ROOT`` in the environment), as the readers recognise it."""
    from pathlib import Path

    from .data.readers import (
        EVAL_LAYOUTS,
        UnknownLayout,
        data_root_layout,
        eval_root_layout,
    )

    def eval_layout(root):
        return EVAL_LAYOUTS[eval_root_layout(root)][0]

    out = []
    for name, given, layout in (
        ("data_root", data_root or os.environ.get("DATA_ROOT"), data_root_layout),
        ("eval_root", eval_root or os.environ.get("EVAL_ROOT"), eval_layout),
    ):
        if not given:
            continue
        if not Path(given).is_dir():
            out.append(f"{name} {given}: does not exist or is not a folder")
            continue
        try:
            out.append(f"{name} {given}: layout {layout(Path(given))}")
        except UnknownLayout as exc:
            out.append(f"{name} {given}: {exc}")
    return out


def lines(data_root=None, eval_root=None) -> list:
    """One line per fact: Python, torch and CUDA, each GPU, FAISS, every profile's
    backbone weights, the packaged data files, the folders the environment names, and
    the layout of the data roots given (``--data-root`` / ``--eval-root``, else
    ``DATA_ROOT`` / ``EVAL_ROOT``)."""
    from . import backbones, retrieval

    hub = (
        "allowed (hub weights are fetched on first use)"
        if backbones.hub_reachable()
        else "off (HF_HUB_OFFLINE is set: bundled weights only)"
    )
    return [
        *_devices(),
        f"retrieval: {retrieval.backend()}",
        f"model hub: {hub}",
        *_profiles(),
        *_files(),
        *_roots(data_root, eval_root),
    ]
