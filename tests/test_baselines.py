"""The floors every chapter reports (geosurvey.baselines), on a tiny set of tiles."""

import numpy as np
import pandas as pd

from geosurvey import baselines, cells, profiles
from geosurvey.chapters import registry
from geosurvey.chapters.base import Chapter
from geosurvey.data.sets import TileSet


def _splits():
    rng = np.random.default_rng(0)
    # most training photos around Paris, a few around Tokyo; the place decides the
    # pattern: Paris tiles are bright on the left and red, Tokyo tiles bright on the
    # right and blue
    lat = np.r_[rng.normal(48.85, 0.3, 30), rng.normal(35.68, 0.3, 10)]
    lon = np.r_[rng.normal(2.35, 0.3, 30), rng.normal(139.69, 0.3, 10)]
    paris = lat > 40
    tiles = rng.integers(0, 30, (40, 16, 16, 3), dtype=np.uint8)
    tiles[paris, :, :8, 0] += 200
    tiles[~paris, :, 8:, 2] += 200
    meta = pd.DataFrame({"lat": lat, "lon": lon})
    train = TileSet(meta.iloc[::2].reset_index(drop=True), tiles[::2], name="train")
    rest = TileSet(meta.iloc[1::2].reset_index(drop=True), tiles[1::2], name="rest")
    return {"train": train, "val": rest, "test": rest}


def test_floors_answer_every_regime_with_choices_made_on_validation(tmp_cache):
    splits = _splits()
    ch = Chapter(
        "data_and_metrics", profiles.get("ci", device="cpu"), splits, registry()
    )
    train = splits["train"]
    coarse = cells.uniform(
        train.lat, train.lon, level=ch.settings("data_and_metrics").prior_level
    )
    top = int(np.argmax(coarse.counts))
    assert baselines.prior_point(ch) == (coarse.mean_lat[top], coarse.mean_lon[top])
    assert abs(baselines.prior_point(ch)[0] - 48.85) < 1.0  # the densest cell: Paris
    baselines.add_floors(ch)
    assert set(ch.evaluations.methods("test")) == {
        baselines.PRIOR,
        baselines.RANDOM,
        baselines.RAW,
        baselines.FROZEN,
    }
    plat, _ = ch.evaluations.predicted(baselines.RANDOM, "test")
    assert set(np.round(plat, 9)) <= set(np.round(train.lat, 9))  # training locations
    for method in (baselines.RAW, baselines.FROZEN):
        k = ch.evaluations.done[(method, "test")].info["best_k"]
        assert k in ch.settings("data_and_metrics").ks
        # the pattern says Paris or Tokyo: a neighbour in pixels or features is in the
        # right city
        assert ch.evaluations.metrics(method, "test")["acc@750km"] == 100, method
    # right for the Paris rows only
    assert ch.evaluations.metrics(baselines.PRIOR, "test")["acc@750km"] == 75


def test_the_oracle_answers_the_training_location_nearest_the_truth(tmp_cache):
    from geosurvey.geo import haversine

    splits = _splits()
    ch = Chapter(
        "data_and_metrics", profiles.get("ci", device="cpu"), splits, registry()
    )
    baselines.add_oracle(ch)
    test, train = splits["test"], splits["train"]
    plat, plon = ch.evaluations.predicted(baselines.ORACLE, "test")
    d = haversine(
        test.lat[:, None], test.lon[:, None], train.lat[None], train.lon[None]
    )
    best = d.argmin(1)
    np.testing.assert_allclose(plat, train.lat[best])
    np.testing.assert_allclose(plon, train.lon[best])
    np.testing.assert_allclose(
        ch.evaluations.errors(baselines.ORACLE, "test"), d.min(1)
    )
    # the claims know how far each test image is from training
    np.testing.assert_allclose(ch.claims.reach["test"], d.min(1), rtol=1e-6)
