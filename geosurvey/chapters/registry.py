"""Every chapter's settings and jobs in one place: what ``geosurvey fit --list`` prints,
and where a chapter's first cell gets its run from."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from .. import display, timings
from ..claims import Claim
from . import data_and_metrics, pigeon, planet, scene_networks, two_stage_vit
from .base import Chapter, ChapterSpec, Context

# each family the comparison reads, with the chapter whose headline represents it:
# direct regression is a floor there, the others are the learned families it ranks
FAMILIES = (
    ("direct regression", "planet"),
    ("PlaNet", "planet"),
    ("PIGEON", "pigeon"),
    ("contrastive retrieval", "two_stage_vit"),
    ("scene-aware", "scene_networks"),
)
FLOOR_CLAIMS = (  # (key suffix, floor, why the book asks)
    ("frozen", "frozen k-NN", "does training add to pretrained features?"),
    ("prior", "prior", "a floor every method must clear"),
)
COMPARISON = ChapterSpec(
    name="comparison",
    title="Comparison",
    notebook="06_comparison",
    # does what each family learns carry to new ground beyond pretrained features?
    generalisation=(
        "PIGEON_frozen",
        "contrastive retrieval_frozen",
        "scene-aware_frozen",
    ),
    claims=tuple(
        Claim(
            f"{family}_{key}",
            f"{family} beats the {floor} (GeoScore)",
            family,
            floor,
            "geoscore",
            source=f"this book: {why}",
        )
        for family, _ in FAMILIES[1:]  # the learned families
        for key, floor, why in FLOOR_CLAIMS
    ),
)
# every chapter, in the book's order, by results name
CHAPTERS = {
    c.name: c
    for c in (
        data_and_metrics.CHAPTER,
        planet.CHAPTER,
        pigeon.CHAPTER,
        two_stage_vit.CHAPTER,
        scene_networks.CHAPTER,
        COMPARISON,
    )
}
SETTINGS = {name: c.settings for name, c in CHAPTERS.items() if c.settings}


@dataclass(frozen=True)
class Registry:
    jobs: dict
    settings: dict


def registry() -> Registry:
    jobs = {}
    for chapter in CHAPTERS.values():
        for job in chapter.jobs:
            if job.name in jobs:
                raise ValueError(f"two jobs are named {job.name!r}")
            jobs[job.name] = job
    return Registry(jobs, dict(SETTINGS))


def context(cfg, splits) -> Context:
    """A run's :class:`Context`: what ``geosurvey fit`` trains a job in."""
    return Context(cfg, splits, registry())


def reported(splits: dict) -> str:
    """What the readers reported of the splits' rows, each row once: the unusable
    images skipped (named) and the country labels that differ from their coordinates'
    country (counted); "" when nothing."""
    skipped = [(k, s["path"]) for k, v in splits.items() for s in v.skipped]
    conflicts = sum(len(v.label_conflicts) for v in splits.values())
    out = ""
    if skipped:
        named = ", ".join(f"{path} ({split})" for split, path in skipped[:5])
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        out += f"\n{len(skipped)} unusable images skipped: {named}{more}"
    if conflicts:
        out += (
            f"\n{conflicts} country labels differ from the country of their "
            "coordinates (kept as given; listed in the results)"
        )
    return out


def start(
    chapter: str,
    *,
    profile: str = "ci",
    device: str = "auto",
    seed: int = 0,
    data_root=None,
    eval_root=None,
    sizes=None,
    **overrides,
) -> Chapter:
    """A chapter's first line: the profile, its image sets and the chapter's run,
    printed."""
    import pandas as pd

    from .. import profiles

    if chapter not in CHAPTERS:
        raise ValueError(
            f"unknown chapter {chapter!r}; chapters: {', '.join(CHAPTERS)}"
        )
    cfg = profiles.get(profile, device, data_root, seed, sizes, eval_root, **overrides)
    pd.set_option("display.max_colwidth", None)  # a table's text is shown whole
    with timings.span("data"):
        splits = profiles.load_splits(cfg)
    counts = ", ".join(f"{display.label(k)} {len(v):,}" for k, v in splits.items())
    print(
        f"profile {cfg.name}, device {cfg.device}, seed {cfg.seed}; backbone "
        f"{cfg.backbone} at {cfg.input_px} px\n"
        + textwrap.fill(f"images: {counts}", 80, subsequent_indent="  ")
        + reported(splits)
    )
    return Chapter(
        chapter,
        cfg,
        splits,
        registry(),
        generalisation=CHAPTERS[chapter].generalisation,
        claims=CHAPTERS[chapter].claims,
    )
