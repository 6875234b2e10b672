"""Chapter 1, data and metrics: the settings of the floors every chapter reports (it
trains no model)."""

from __future__ import annotations

from dataclasses import dataclass

from ..baselines import FROZEN, PRIOR, RAW
from ..claims import Claim
from ..display import label
from .base import ChapterSpec, Settings, knob

NAME = "data_and_metrics"


@dataclass(frozen=True)
class FloorSettings(Settings):
    prior_level: int = knob(
        3, "S2 level whose densest training cell the prior answers with (3: ~1,150 km)"
    )
    tiny_px: int = knob(16, "side of Torralba's tiny images, in pixels")
    ks: tuple = knob(
        (1, 3, 5, 10, 20, 50),
        "numbers of neighbours a k-NN floor chooses from on validation",
    )
    new_ground_k: int = knob(1, "k of every k-NN on new ground, fixed in advance")


CLAIMS = tuple(
    Claim(
        key,
        f"{better} beats {worse} ({label(metric)})",
        better,
        worse,
        metric,
        source="this book: floors of the GeoTiles design",
    )
    for key, better, worse, metric in (
        ("frozen_raw_25", FROZEN, RAW, "acc@25km"),
        ("frozen_raw_2500", FROZEN, RAW, "acc@2500km"),
        ("frozen_prior_2500", FROZEN, PRIOR, "acc@2500km"),
        ("frozen_prior_score", FROZEN, PRIOR, "geoscore"),
        ("raw_prior_2500", PRIOR, RAW, "acc@2500km"),
    )
)

CHAPTER = ChapterSpec(
    name=NAME,
    title="Data and metrics",
    notebook="01_data_and_metrics",
    settings=FloorSettings,
    jobs=(),
    generalisation=("frozen_prior_score", "frozen_raw_2500"),
    claims=CLAIMS,
)
