"""Chapter 1, data and metrics: the settings of the floors every chapter reports (it
trains no model)."""

from __future__ import annotations

from dataclasses import dataclass

from .base import ChapterSpec, Settings, knob

NAME = "data_and_metrics"


@dataclass(frozen=True)
class FloorSettings(Settings):
    prior_level: int = knob(
        3, "S2 level whose densest training cell the prior answers with (about 1000 km)"
    )
    tiny_px: int = knob(16, "side of Torralba's tiny images, in pixels")
    ks: tuple = knob(
        (1, 3, 5, 10, 20, 50),
        "numbers of neighbours a k-NN floor chooses from on validation",
    )


CHAPTER = ChapterSpec(
    name=NAME,
    title="Data and metrics",
    notebook="01_data_and_metrics",
    settings=FloorSettings,
    jobs=(),
    generalisation=("frozen_prior_score", "frozen_raw_2500"),
)
