import numpy as np
import pandas as pd
import pytest

from geosurvey import cells, scenes
from geosurvey.data.sets import Crops, TileSet


def test_overlapping_classes_split_their_probability():
    lc = scenes.LAND
    probs = np.zeros((1, len(lc.fine)))
    probs[0, lc.fine.index("cropland/natural mosaic")] = 1.0
    coarse = dict(zip(lc.coarse, lc.probabilities(probs)["coarse"][0]))
    assert coarse == {"natural": 0.5, "man-made": 0.5, "water and ice": 0.0}
    rng = np.random.default_rng(0)
    mixed = rng.dirichlet(np.ones(len(lc.fine)), 5)
    for level, p in lc.probabilities(mixed).items():
        assert np.allclose(p.sum(1), 1.0), level


def test_a_tile_in_mid_ocean_is_water_and_one_in_the_sahara_natural():
    shares = scenes.land_cover_shares([0.0, 23.0], [-150.0, 12.0], extent_km=500)
    labels = scenes.LAND.labels(shares)
    assert list(labels["coarse"]) == ["water and ice", "natural"]
    assert labels["fine"][1] == "barren" and shares[0, 0] == 1.0


def test_routing_sends_each_image_to_the_network_of_its_argmax_scene():
    scene_probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.6, 0.1]])
    # network s outputs s everywhere
    outputs = [np.full((3, 2), float(s)) for s in range(3)]
    assert scenes.route(scene_probs, outputs)[:, 0].tolist() == [0.0, 2.0, 1.0]


def test_hierarchical_product_equals_the_brute_force_product_over_ancestors():
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(30, 60, 400), rng.uniform(-10, 30, 400)
    hier = cells.hierarchy(lat, lon, [200, 50, 15], tau_min=2)
    log_probs = [np.log(rng.dirichlet(np.ones(len(p)), 4)) for p in hier.partitions]
    fast = cells.hierarchical_log_probs(log_probs, hier)
    fine = hier.partitions[-1]
    for c in range(len(fine)):
        leaf = cells.s2.leaf_range(fine.cell_ids[c : c + 1])[0]
        total = log_probs[-1][:, c].copy()
        for k, coarse in enumerate(hier.partitions[:-1]):
            # the coarse cell that contains this fine cell
            parent = coarse.assign_leaves(leaf)[0]
            total += log_probs[k][:, parent] if parent >= 0 else -np.inf
        np.testing.assert_allclose(fast[:, c], total)


def test_crops_cover_the_image_at_the_chosen_places():
    tile = np.zeros((1, 8, 8, 3), np.uint8)
    tile[0, :4, :4] = 255  # a bright top-left quarter
    images = TileSet(pd.DataFrame({"lat": [0.0], "lon": [0.0]}), tile)
    crops = Crops(images, 3, fraction=0.5)
    assert len(crops) == 3 and crops.meta["crop"].tolist() == [0, 1, 2]
    top_left, centre, bottom_right = (
        np.asarray(crops.load(j)).mean() for j in range(3)
    )
    assert top_left == 255 and bottom_right == 0 and 0 < centre < 255
    assert crops.load(0).size == (8, 8)
    with pytest.raises(ValueError, match="1, 3 or 5"):
        Crops(images, 4)


def test_tiles_get_land_cover_scenes_and_specialists_need_enough_images():
    from geosurvey import profiles
    from geosurvey.chapters import registry
    from geosurvey.chapters.base import Context
    from geosurvey.chapters.scene_networks import (
        has_specialist,
        scene_labels,
        scene_rows,
    )

    # Sahara, Pacific
    lat, lon = np.array([23.0, 0.0, 22.5, -1.0]), np.array([12.0, -150.0, 13.0, -151.0])
    tiles = TileSet(
        pd.DataFrame({"lat": lat, "lon": lon}), np.zeros((4, 8, 8, 3), np.uint8)
    )
    ctx = Context(
        profiles.get("ci", device="cpu"), {"train": tiles, "val": tiles}, registry()
    )
    hierarchy, probs, source = scene_labels(ctx)
    assert (
        hierarchy is scenes.LAND
        and "MODIS" in source
        and set(probs) == {"train", "val"}
    )
    coarse = np.asarray(scenes.LAND.coarse)[probs["train"]["coarse"].argmax(1)]
    assert list(coarse) == ["natural", "water and ice", "natural", "water and ice"]
    water = scenes.LAND.coarse.index("water and ice")
    assert scene_rows(ctx, water).tolist() == [False, True, False, True]
    # two training images, far below min_csn_images
    assert not has_specialist(ctx, water)
