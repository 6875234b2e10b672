"""Chapter 1, data and metrics: the settings of the floors every chapter reports, and
the one classifier that measures each candidate design of new ground."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import cells, folds, geo, inputs
from ..baselines import FROZEN, PRIOR, RAW, prior_point
from ..claims import Claim
from ..data import designs, geotiles
from ..display import label
from ..regimes import FOLDS
from . import planet
from .base import ChapterSpec, Context, Settings, knob

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


def design_trial(ch, design: designs.Design) -> dict:
    """One fine-tuned classifier on ``design``: PlaNet's classifier over middle cells
    (chapter 2's recipe, its last epoch) trained on the design's first fold
    (:func:`~geosurvey.data.designs.trial`); its GeoScore beside the prior's and the
    nearest-training oracle's on the same test tiles."""
    locs, spec = geotiles.labelled_locations(), ch.cfg.geotiles_spec()
    train, test = designs.trial(locs, design, spec, seed=ch.cfg.seed)
    ctx = Context(ch.cfg, {"train": train}, ch.registry)
    net = folds.trained(ctx, "planet-middle").net(FOLDS.key)
    logits = inputs.outputs(net, inputs.of_images(ch.cfg, test), ch.cfg)
    lat, lon = cells.decode(logits, planet.partitions(ctx)[0]["middle"])
    oracle, _ = geo.nearest(test.lat, test.lon, train.lat, train.lon)
    errors = {
        "prior": geo.haversine(*prior_point(ctx), test.lat, test.lon),
        "classifier": geo.haversine(lat, lon, test.lat, test.lon),
        "oracle": oracle,
    }
    row = {f"{k} GeoScore": float(np.mean(geo.geoscore(v))) for k, v in errors.items()}
    return {"training tiles": len(train), "test tiles": len(test), **row}


CHAPTER = ChapterSpec(
    name=NAME,
    title="Data and metrics",
    notebook="01_data_and_metrics",
    settings=FloorSettings,
    jobs=(),
    generalisation=("frozen_prior_score", "frozen_raw_2500"),
    claims=CLAIMS,
)
