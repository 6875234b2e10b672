"""New places (geosurvey.data.newplaces): held-out discs whose tiles share little ground
with training, checked on the real ``ci`` GeoTiles split of seed 0 (locations only, no
rendering)."""

import numpy as np
import pandas as pd
import pytest

from geosurvey.data import designs, geotiles, newplaces
from geosurvey.geo import destination, haversine, nearest

SPEC = geotiles.GeoTilesSpec()
MAX_SCALE = 1 + SPEC.scale_jitter


@pytest.fixture(scope="module")
def splits():
    return geotiles.split_locations(SPEC)


def _min_distance(a, b):
    return nearest(a["lat"], a["lon"], b["lat"], b["lon"])[0].min()


def test_the_splits_have_their_sizes_and_are_disjoint(splits):
    assert sorted(splits) == sorted(geotiles.SPLITS)
    assert {k: len(splits[k]) for k in ("train", "val", "test")} == {
        "train": 6000,
        "val": 1000,
        "test": 1000,
    }
    assert (
        len(splits["test_new"]) > 0.95 * SPEC.n_test_new
        and len(splits["val_new"]) > 0.95 * SPEC.n_val_new
    )
    rows = {
        k: set(zip(v["lat"].round(6), v["lon"].round(6))) for k, v in splits.items()
    }
    names = list(rows)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not rows[a] & rows[b], (a, b)


def _new_ground(train):
    return train[train["ground"] == "pool"]


def test_a_new_ground_model_trains_farther_than_the_buffer_from_every_new_place(
    splits,
):
    own = _new_ground(splits["train"])
    for new in ("val_new", "test_new"):
        assert _min_distance(own, splits[new]) > SPEC.buffer_km
    held = geotiles.blocks(SPEC)
    d = held.distance(own["lat"].to_numpy(), own["lon"].to_numpy())
    # outside every disc and its buffer
    assert d.min() > SPEC.block_radius_km + SPEC.buffer_km
    # and only those: the other training rows lie in a disc or a buffer
    rest = splits["train"][splits["train"]["ground"] != "pool"]
    far = held.distance(rest["lat"].to_numpy(), rest["lon"].to_numpy())
    assert far.min(1).max() <= SPEC.block_radius_km + SPEC.buffer_km


def test_the_seen_regime_keeps_the_world(splits):
    """Seen places are drawn from the whole draw: no holes, the draw's mix."""
    locs = geotiles.labelled_locations()
    draw = newplaces.mix(locs)
    for split in ("train", "test"):
        got = newplaces.mix(splits[split])
        assert all(abs(got[k] - draw[k]) <= 3 for k in draw), (split, got, draw)
    in_discs = (splits["train"]["ground"].isin(["test", "val", "buffer"])).mean()
    assert in_discs > 0.2  # held-out ground is seen-places training ground


def test_validation_and_test_new_places_come_from_different_discs(splits):
    held = geotiles.blocks(SPEC)
    assert list(held.role).count("test") == sum(k for _, k in SPEC.test_discs)
    assert list(held.role).count("val") == sum(k for _, k in SPEC.val_discs)
    for split, role in (("test_new", "test"), ("val_new", "val")):
        assert set(
            held.roles(splits[split]["lat"].to_numpy(), splits[split]["lon"].to_numpy())
        ) == {role}
    assert _min_distance(splits["val_new"], splits["test_new"]) > SPEC.buffer_km
    # discs never overlap; discs of different roles keep the buffer between them
    for i in range(len(held.lat)):
        for j in range(i + 1, len(held.lat)):
            gap = 2 * SPEC.block_radius_km + (
                SPEC.buffer_km if held.role[i] != held.role[j] else 0.0
            )
            assert haversine(held.lat[i], held.lon[i], held.lat[j], held.lon[j]) >= gap


def test_new_places_keep_the_continent_mix_of_the_seen_test(splits):
    seen = splits["test"]["continent"].value_counts(normalize=True) * 100
    new = splits["test_new"]["continent"].value_counts(normalize=True) * 100
    for continent, _ in SPEC.test_discs:
        assert abs(new.get(continent, 0.0) - seen.get(continent, 0.0)) < 3.0, continent
    val_new = splits["val_new"]["continent"].value_counts(normalize=True) * 100
    for continent in ("Europe", "North America", "Asia"):
        assert abs(val_new.get(continent, 0.0) - seen.get(continent, 0.0)) < 5.0, (
            continent
        )


# --- shared ground --------------------------------------------------------------------


def _tiles(lat, lon, rotation=0.0, scale=1.0):
    lat, lon = np.atleast_1d(lat), np.atleast_1d(lon)
    return pd.DataFrame(
        {
            "lat": lat,
            "lon": lon,
            "rotation": np.broadcast_to(rotation, lat.shape),
            "scale": np.broadcast_to(scale, lat.shape),
        }
    )


def _share(test, train):
    return newplaces.shared_ground(
        test, train, extent_km=SPEC.extent_km, max_scale=MAX_SCALE
    )


def test_shared_ground_of_synthetic_tiles():
    here = _tiles(10.0, 20.0, rotation=30.0, scale=1.1)
    assert _share(here, here)[0] == 1.0
    far_lat, far_lon = destination(10.0, 20.0, 60.0, 2000.0)
    assert _share(here, _tiles(far_lat, far_lon))[0] == 0.0
    # half a tile to the east
    east_lat, east_lon = destination(0.0, 20.0, 90.0, SPEC.extent_km / 2)
    assert _share(_tiles(0.0, 20.0), _tiles(east_lat, east_lon))[0] == pytest.approx(
        0.5, abs=0.05
    )
    # a corner's quarter
    quarter = _tiles(*destination(0.0, 20.0, 45.0, SPEC.extent_km / 2 * np.sqrt(2)))
    assert _share(_tiles(0.0, 20.0), quarter)[0] == pytest.approx(0.25, abs=0.05)
    # two training tiles that together cover it: the union counts, each point once
    west = _tiles(*destination(0.0, 20.0, 270.0, SPEC.extent_km / 2))
    both = pd.concat([_tiles(east_lat, east_lon), west], ignore_index=True)
    assert _share(_tiles(0.0, 20.0), both)[0] == pytest.approx(1.0, abs=0.05)
    shares = _share(
        pd.concat([here, _tiles(0.0, 20.0)], ignore_index=True),
        _tiles(east_lat, east_lon),
    )
    assert shares.shape == (2,) and shares[1] == pytest.approx(0.5, abs=0.05)


def test_a_rotated_copy_shares_most_but_not_all_of_its_ground():
    tile = _tiles(40.0, -100.0)
    turned = _tiles(40.0, -100.0, rotation=45.0)
    # a square turned 45 degrees leaves its corners out
    assert 0.6 < _share(tile, turned)[0] < 0.95
    bigger = _tiles(40.0, -100.0, scale=MAX_SCALE)
    assert _share(tile, bigger)[0] == 1.0 and _share(bigger, tile)[0] < 0.8


def test_new_places_share_almost_no_ground_with_training_and_seen_places_most(splits):
    rng = np.random.default_rng(0)

    def rendered(df, n=None):
        df = df if n is None else df.sample(n, random_state=0)
        return df.assign(
            rotation=rng.uniform(0, 360, len(df)),
            scale=rng.uniform(1 - SPEC.scale_jitter, 1 + SPEC.scale_jitter, len(df)),
        )

    train = rendered(splits["train"])
    kw = dict(extent_km=SPEC.extent_km, max_scale=MAX_SCALE, grid=8)
    new = newplaces.shared_ground(
        rendered(splits["test_new"], 100), _new_ground(train), **kw
    )
    seen = newplaces.shared_ground(rendered(splits["test"], 100), train, **kw)
    assert new.mean() <= 0.05 and seen.mean() > 0.5


# --- drawing --------------------------------------------------------------------------


def test_quotas_follow_the_continent_shares():
    shares = pd.Series({"Europe": 0.5, "Asia": 0.3, "Africa": 0.2})
    assert newplaces.quotas_for(shares, (("Europe", 2), ("Asia", 1)), 80) == {
        "Europe": 50,
        "Asia": 30,
    }


def test_draw_fills_quotas_and_moves_a_shortfall_to_the_others():
    locs = pd.DataFrame({"continent": ["Europe"] * 10 + ["Asia"] * 3 + ["Africa"] * 10})
    rows = newplaces.draw(
        locs, np.arange(23), {"Europe": 4, "Asia": 5, "Africa": 2}, seed=0
    )
    got = locs["continent"].iloc[rows].value_counts().to_dict()
    # Asia has 3 of its 5: 2 go elsewhere
    assert got["Asia"] == 3 and sum(got.values()) == 11
    assert (
        got["Europe"] + got["Africa"] == 8 and got["Europe"] >= 4 and got["Africa"] >= 2
    )
    assert np.array_equal(rows, np.sort(rows)) and len(set(rows)) == len(rows)
    again = newplaces.draw(
        locs, np.arange(23), {"Europe": 4, "Asia": 5, "Africa": 2}, seed=0
    )
    assert np.array_equal(rows, again)
    # no European candidate
    only = newplaces.draw(locs, np.arange(10, 23), {"Europe": 4, "Asia": 2}, seed=0)
    assert set(only) <= set(range(10, 23))


def test_roles_of_points_around_a_disc():
    held = newplaces.Blocks(
        np.array([0.0]),
        np.array([0.0]),
        np.array(["test"], dtype=object),
        np.array(["Africa"], dtype=object),
        radius_km=250.0,
        buffer_km=625.0,
    )
    lat, lon = destination(
        np.zeros(4), np.zeros(4), 90.0, np.array([0.0, 249.0, 251.0 + 600.0, 900.0])
    )
    assert list(held.roles(lat, lon)) == ["test", "test", "buffer", "pool"]


def test_each_new_place_is_in_the_block_of_the_disc_that_holds_it():
    discs = pd.DataFrame(
        {
            "lat": [0.0, 40.0, 40.0],
            "lon": [0.0, 0.0, 90.0],
            "role": ["test", "val", "test"],
        }
    )
    lat, lon = destination(
        np.array([0.0, 0.0, 40.0]),
        np.array([0.0, 0.0, 90.0]),
        45.0,
        np.array([10, 200, 50]),
    )
    meta = pd.DataFrame({"lat": lat, "lon": lon})
    got = geotiles.with_discs(meta, discs, "test")["block"].tolist()
    # the validation disc at (40, 0) is never a test location's block
    assert got == ["test-disc-0", "test-disc-0", "test-disc-2"]


def _synthetic_locations(n=20_000, seed=0):
    """Photo locations spread over most of the globe, in six longitude bands named
    after the continents the designs spread their discs over."""
    rng = np.random.default_rng(seed)
    lat, lon = rng.uniform(-50, 60, n), rng.uniform(-170, 170, n)
    names = np.array([c for c, _ in designs.CONTINENT_WEIGHTS])
    continent = names[np.minimum(((lon + 170) / 340 * 6).astype(int), 5)]
    return pd.DataFrame({"lat": lat, "lon": lon, "continent": continent})


@pytest.mark.parametrize(
    "design",
    [
        designs.Design("buffer", 250, 250, 313, folds=4, discs_per_fold=3),
        designs.Design("masked", 250, 450, 0, folds=4, discs_per_fold=3, masked=True),
    ],
)
def test_candidate_designs_keep_their_discs_apart_and_test_tiles_off_training(design):
    locs = _synthetic_locations()
    centres = designs.place_discs(locs, design, seed=0)
    assert len(centres) == design.folds * design.discs_per_fold
    lat, lon = locs["lat"].to_numpy()[centres], locs["lon"].to_numpy()[centres]
    gaps = haversine(lat[:, None], lon[:, None], lat[None], lon[None])
    np.fill_diagonal(gaps, np.inf)
    # no tile of one disc reaches the ground of another
    assert gaps.min() >= 2 * design.radius_km + 2 * design.reach_km - 1
    row = designs.measure(locs, design, n_train=800, n_test=80)
    assert row["models"] == 4 and row["held-out discs"] == 12
    assert row["smallest p a sign flip can give"] == pytest.approx(2.0**-11)
    assert row["test tiles sharing over 5 % of ground, %"] <= 5
    # a test image is never nearer a training location than the buffer allows
    assert row["nearest training km, median"] > design.buffer_km
    assert 0 < row["photo locations out of training, per model %"] < 50
    assert row["oracle GeoScore"] > row["prior GeoScore"]


def test_a_design_with_neither_buffer_nor_mask_shares_ground_with_training():
    """The measure can fail: without a buffer, training tiles just outside a disc image
    the ground of test tiles near its edge."""
    locs = _synthetic_locations()
    loose = designs.Design("bare", 250, 250, 0, folds=4, discs_per_fold=3)
    row = designs.measure(locs, loose, n_train=800, n_test=80)
    assert row["test tiles sharing over 5 % of ground, %"] >= 10


def test_a_masked_trial_greys_held_out_ground_and_tests_inside_its_discs(
    monkeypatch, tmp_path
):
    """A design's trial renders its first fold: test tiles from the discs' cores, and
    in a masked design grey exactly where a training tile reaches held-out ground."""
    locs, spec = _synthetic_locations(), geotiles.GeoTilesSpec(scale_jitter=0.0)
    design = designs.Design("masked", 250, 450, 0, 2, 3, masked=True, max_scale=1.0)
    monkeypatch.setenv("GEOSURVEY_CACHE", str(tmp_path))
    train, test = designs.trial(locs, design, spec, seed=0, n_train=400, n_test=40)
    (run,), _ = designs._runs(locs, design, [0], seed=0, n_train=400, n_test=40)
    discs = run["held_out"]
    d = haversine(test.lat[:, None], test.lon[:, None], discs["lat"], discs["lon"])
    assert len(train) == 400 and (d.min(1) <= 450 - design.reach_km).all()
    # pixel by pixel: grey where the ground lies in a disc, the rendering elsewhere
    pixels = geotiles.ground(
        train.lat,
        train.lon,
        train.meta["rotation"],
        train.meta["scale"],
        tile_px=64,
        extent_km=250,
    )
    inside = np.concatenate(
        [
            haversine(la[..., None], lo[..., None], discs["lat"], discs["lon"]).min(-1)
            <= 450
            for _, la, lo in pixels
        ]
    )
    grey = (train.tiles == 128).all(-1)
    assert inside.sum() > 1000  # training tiles do reach into the discs
    assert grey[inside].all() and grey[~inside].mean() < 0.01


def test_fold_discs_cover_every_continent_and_never_share_ground():
    d = designs.fold_discs(geotiles.labelled_locations(), designs.FOLDS, 0)
    assert len(d) == 48 and d.groupby("fold").size().eq(6).all()  # 8 folds of 6
    assert set(d["continent"]) == {
        "Europe",
        "North America",
        "Asia",
        "South America",
        "Oceania",
        "Africa",
    }
    lat, lon = d["lat"].to_numpy(), d["lon"].to_numpy()
    gap = haversine(lat[:, None], lon[:, None], lat[None], lon[None])
    np.fill_diagonal(gap, np.inf)
    f = designs.FOLDS
    assert gap.min() >= 2 * f.radius_km + 2 * f.reach_km  # no tile reaches another
