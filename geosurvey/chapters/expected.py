"""The verdicts the ``ci`` profile asserts: those that were the same, and decisive
(reproduced or not reproduced after Holm's correction), at seeds 0, 1 and 2 of the
``ci`` profile, each in the regime named. Every other verdict is reported, never
asserted: a claim that is inconclusive at one seed and decisive at another is a
finding about the noise, not about the method.

Measured with ``make book`` (seeds 1, 2 and 0) on the embedded
GeoTiles; the comparison chapter's "What reproduced, seed by seed" table shows the
verdicts of every claim at every seed. Re-measure after changing what a chapter trains
or how claims are tested.
"""

from __future__ import annotations

R, N = "reproduced", "not reproduced"

EXPECTED = {
    "data_and_metrics": {
        "frozen_raw_2500": (("seen", R),),
    },
    "planet": {
        "fine_coarse_25": (("seen", R),),
        "class_distance": (("seen", R),),
        "class_chord": (("seen", R),),
        "finetune_frozen": (("seen", R),),
        "album_750": (("seen", R),),
        "album_random": (("seen", R),),
    },
    "pigeon": {
        "views": (("seen", R),),
        "refine_25": (("seen", R),),
    },
    "two_stage_vit": {
        "hybrid_cnn": (("seen", N),),
    },
    "scene_networks": {
        "oracle": (("seen", R),),
    },
    "comparison": {
        "PlaNet_frozen": (("seen", R),),
        "PIGEON_frozen": (("seen", R),),
    },
}
