"""Named training jobs: what a chapter trains, runnable from the command line as well.

``geosurvey fit planet --level middle`` (on one GPU, or under ``torchrun`` on several) trains the
very model chapter 2 trains, with the same checkpoint key, so executing the chapter afterwards
loads the checkpoint instead of training. Chapters call these functions themselves, which is what
keeps the two paths from drifting apart.
"""

from __future__ import annotations

from . import recipes

LEVELS = ("coarse", "middle", "fine")


def planet(cfg, x: dict, level: str = "middle"):
    """PlaNet's classifier over one of the book's partitions (chapter 2); ``x``: Inputs per split."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
    parts, _ = cfg.partitions(x["train"])
    return recipes.fit_cells(cfg, cfg.recipe(f"planet-{level}"), parts[level], x["train"], x["val"])


def regression(cfg, x: dict, level: str | None = None):
    """Direct coordinate regression with the same backbone (chapter 2's baseline)."""
    return recipes.fit_regression(cfg, cfg.recipe("planet-regression"), x["train"], x["val"])


JOBS = {"planet": planet, "regression": regression}
