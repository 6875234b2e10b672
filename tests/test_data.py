import numpy as np
import pandas as pd
import pytest
from PIL import Image

from geosurvey.data import (
    GeoTilesSpec,
    ImageDecodeError,
    TableError,
    TooManyBadImages,
    load_geotiles,
    read_folder,
    read_im2gps,
    read_image,
    read_osv5m,
)
from geosurvey.data.places import continent_accuracy, continents, geocode
from geosurvey.geo import CoordinateError, haversine

# --- decoding odd images --------------------------------------------------------------


def _photo(w=40, h=20):
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))


def test_exif_rotation_is_applied(tmp_path):
    img = _photo(40, 20)
    exif = img.getexif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    img.save(tmp_path / "r.jpg", exif=exif)
    assert read_image(tmp_path / "r.jpg").size == (20, 40)


@pytest.mark.parametrize("mode", ["L", "CMYK", "RGBA", "P", "I;16", "LA"])
def test_odd_modes_become_rgb(tmp_path, mode):
    img = _photo().convert("RGBA" if mode in ("RGBA", "LA") else "RGB")
    img = (
        img.convert(mode)
        if mode != "I;16"
        else Image.fromarray((np.arange(800).reshape(20, 40) * 50).astype(np.uint16))
    )
    path = tmp_path / ("x.tif" if mode in ("CMYK", "I;16") else "x.png")
    img.save(path)
    out = read_image(path)
    assert out.mode == "RGB" and out.size == (40, 20)


def test_transparent_pixels_become_white(tmp_path):
    img = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    img.save(tmp_path / "a.png")
    assert read_image(tmp_path / "a.png").getpixel((0, 0)) == (255, 255, 255)


def test_huge_images_are_downscaled(tmp_path):
    Image.new("RGB", (6000, 3000), (10, 200, 30)).save(tmp_path / "big.jpg", quality=50)
    out = read_image(tmp_path / "big.jpg", max_side=512)
    assert max(out.size) <= 512 and out.size[0] == 2 * out.size[1]


def test_truncated_and_missing_files_name_the_file(tmp_path):
    _photo().save(tmp_path / "ok.jpg")
    data = (tmp_path / "ok.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageDecodeError, match="cut.jpg"):
        read_image(tmp_path / "cut.jpg")
    (tmp_path / "text.jpg").write_text("not an image")
    with pytest.raises(ImageDecodeError, match="text.jpg"):
        read_image(tmp_path / "text.jpg")
    with pytest.raises(ImageDecodeError, match="not found"):
        read_image(tmp_path / "missing.jpg")


# --- readers --------------------------------------------------------------------------


def _osv5m(root, nested=False):
    rows = pd.DataFrame(
        {
            "id": [101, 102, 103],
            "latitude": [48.85, 40.71, -33.87],
            "longitude": [2.35, -74.0, 151.2],
            "country": ["FR", "US", "AU"],
            "region": ["x", "y", "z"],
            "city": ["a", "b", "c"],
        }
    )
    rows.to_csv(root / "test.csv", index=False)
    for i in rows["id"]:
        folder = root / "images" / "test" / ("00" if nested else "")
        folder.mkdir(parents=True, exist_ok=True)
        _photo().save(folder / f"{i}.jpg")
    return rows


@pytest.mark.parametrize("nested", [False, True])
def test_osv5m_reader(tmp_path, nested):
    _osv5m(tmp_path, nested)
    ds = read_osv5m(tmp_path, "test")
    assert len(ds) == 3 and list(ds.meta["continent"]) == [
        "Europe",
        "North America",
        "Oceania",
    ]
    x, y = ds[1]
    assert x.size == (40, 20) and y == 1
    sub = ds.subset([2])
    assert sub.meta["country"][0] == "AU" and sub[0][0].size == (40, 20)


def test_readers_report_bad_rows_and_missing_things(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_root"):
        read_osv5m(None)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_osv5m(tmp_path / "nowhere")
    rows = _osv5m(tmp_path)
    rows.loc[2, "latitude"] = np.nan
    rows.to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(CoordinateError, match="line 4"):
        read_osv5m(tmp_path, "test")
    rows.drop(columns=["longitude"]).to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(
        TableError, match=r"test.csv: missing column\(s\) \['longitude'\]"
    ):
        read_osv5m(tmp_path, "test")


def test_im2gps_and_folder_readers(tmp_path):
    (tmp_path / "img").mkdir()
    _photo().save(tmp_path / "img" / "a_1.jpg")
    _photo().save(tmp_path / "img" / "b_2.jpg")
    pd.DataFrame(
        {
            "IMG_ID": ["a_1.jpg", "b_2.jpg"],
            "AUTHOR": ["u", "v"],
            "LAT": [35.68, 51.5],
            "LON": [139.69, -0.12],
            "S3_Label": [1, 2],
        }
    ).to_csv(tmp_path / "im2gps.csv", index=False)
    ds = read_im2gps(tmp_path / "im2gps.csv", tmp_path / "img")
    assert list(ds.meta["country"]) == ["JP", "GB"]
    pd.DataFrame(
        {
            "file": ["img/a_1.jpg", "img/missing.jpg"],
            "latitude": [1.0, 2.0],
            "longitude": [3.0, 4.0],
        }
    ).to_csv(tmp_path / "mine.csv", index=False)
    with pytest.raises(TooManyBadImages, match="1 of 2 images.*missing.jpg"):
        read_folder(
            tmp_path / "mine.csv",
            path_col="file",
            lat_col="latitude",
            lon_col="longitude",
        )
    kept = read_folder(
        tmp_path / "mine.csv",
        path_col="file",
        lat_col="latitude",
        lon_col="longitude",
        tolerance=0.5,
    )
    assert len(kept) == 1 and kept.skipped[0]["path"].endswith("missing.jpg")


def test_place_labels():
    labels = geocode([48.8566, 40.7128, -22.9068], [2.3522, -74.0060, -43.1729])
    assert list(labels["country"]) == ["FR", "US", "BR"]
    assert list(continents(labels["country"])) == [
        "Europe",
        "North America",
        "South America",
    ]


def test_continent_accuracy_counts_answers_on_the_true_continent():
    # Paris, New York, Rio answered by Madrid (same continent), Lisbon (wrong) and
    # Buenos Aires (same); the truth is geocoded when the rows carry no continent
    meta = pd.DataFrame({"lat": [48.86, 40.71, -22.91], "lon": [2.35, -74.0, -43.17]})
    pred = ([40.42, 38.72, -34.6], [-3.70, -9.14, -58.38])
    assert continent_accuracy(*pred, meta) == pytest.approx(200 / 3)
    told = meta.assign(continent=["Europe", "Europe", "South America"])
    assert continent_accuracy(*pred, told) == pytest.approx(100.0)


# --- GeoTiles -------------------------------------------------------------------------

SMALL = GeoTilesSpec(
    n_train=120, n_val=20, n_test=30, n_val_new=10, n_test_new=20, tile_px=32, seed=3
)
SIZES = {"train": 120, "val": 20, "test": 30, "val_new": 10, "test_new": 20}


def test_geotiles_splits_are_disjoint_labelled_and_cached(tmp_cache):
    from geosurvey.data.geotiles import SPLITS, load_blocks

    sets = load_geotiles(SMALL)
    own = sets.pop("train_new")  # the training rows outside the held-out ground
    assert list(sets) == list(SPLITS) and {k: len(v) for k, v in sets.items()} == SIZES
    pool = sets["train"].meta["ground"].eq("pool").to_numpy()
    np.testing.assert_array_equal(own.tiles, sets["train"].tiles[pool])
    assert 0 < len(own) < len(sets["train"])
    keys = {
        k: set(zip(v.meta["lat"].round(4), v.meta["lon"].round(4)))
        for k, v in sets.items()
    }
    for i, a in enumerate(SPLITS):
        for b in SPLITS[i + 1 :]:
            assert not keys[a] & keys[b], (a, b)
    meta = sets["train"].meta
    assert (
        meta["country"].str.len().eq(2).all()
        and meta["continent"].ne("Unknown").mean() > 0.95
    )
    assert set(meta["condition"]) <= set(SMALL.conditions)
    assert {"rotation", "scale"} <= set(meta) and meta["scale"].between(
        0.75, 1.25
    ).all()
    assert sets["train"].tiles.shape == (120, 32, 32, 3) and sets[
        "test_new"
    ].tiles.shape == (20, 32, 32, 3)
    blocks = load_blocks(SMALL)
    assert set(blocks["role"]) == {"test", "val"} and len(blocks) == 12
    again = load_geotiles(SMALL)  # read back from the cache: identical
    np.testing.assert_array_equal(
        np.asarray(again["test_new"].tiles), np.asarray(sets["test_new"].tiles)
    )
    assert len(list(tmp_cache.iterdir())) == 1


def test_views_render_every_location_once_per_condition(tmp_cache):
    from geosurvey.data.geotiles import load_views

    test = load_geotiles(SMALL)["test"]
    views = load_views(SMALL, test)
    n, k = len(test), len(SMALL.conditions)
    assert len(views) == k * n and views.tiles.shape == (k * n, 32, 32, 3)
    assert list(views.meta["view_of"]) == list(range(n)) * k
    assert list(views.meta["condition"]) == [
        c for c in SMALL.conditions for _ in range(n)
    ]
    np.testing.assert_array_equal(
        views.meta["lat"].to_numpy()[n : 2 * n], test.meta["lat"].to_numpy()
    )
    # another rendering
    assert not np.array_equal(np.asarray(views.tiles[0]), np.asarray(views.tiles[n]))
    again = load_views(SMALL, test)  # cached
    np.testing.assert_array_equal(np.asarray(again.tiles), np.asarray(views.tiles))


def test_two_renders_of_the_same_place_differ(tmp_cache):
    from geosurvey.data.geotiles import render_split

    lat, lon = np.array([48.85, 48.85]), np.array([2.35, 2.35])
    tiles, params = render_split(lat, lon, SMALL, np.random.default_rng(0))
    assert not np.array_equal(tiles[0], tiles[1])
    assert np.abs(tiles[0].astype(int) - tiles[1].astype(int)).mean() > 10


def test_tiles_show_the_right_place():
    """A tile centred on the Sahara is sand-coloured; one on the mid-Pacific is ocean
    blue."""
    from geosurvey.data.geotiles import earth_image, render

    earth = earth_image("bluemarble")
    sahara, pacific = render(
        earth,
        np.array([23.0, 0.0]),
        np.array([12.0, -150.0]),
        np.zeros(2),
        np.ones(2),
        tile_px=16,
        extent_km=300.0,
    )
    assert sahara[..., 0].mean() > sahara[..., 2].mean() + 40
    assert pacific[..., 2].mean() > pacific[..., 0].mean() + 20


def test_subsets_keep_rows_images_and_targets_together(tmp_cache):
    sets = load_geotiles(SMALL)
    test = sets["test"].view(targets=np.arange(30) * 10)
    sub = test.subset([5, 2])
    assert list(sub.meta["lat"]) == [test.meta["lat"][5], test.meta["lat"][2]]
    np.testing.assert_array_equal(np.asarray(sub.load(1)), np.asarray(test.load(2)))
    assert sub[0][1] == 50 and len(sub) == 2 and len(test) == 30


# --- decoding for uint8 batches -------------------------------------------------------


def _jpegs(tmp_path):
    """Photos of the kinds decoding must get right, as files."""
    big = _photo(64, 48).resize((2048, 1536), Image.Resampling.BICUBIC)
    big.resize((512, 384)).save(tmp_path / "osv.jpg", quality=90)
    big.save(tmp_path / "big.jpg", quality=90)
    big.convert("L").save(tmp_path / "gray.jpg")
    big.resize((512, 384)).convert("CMYK").save(tmp_path / "cmyk.jpg")
    big.resize((512, 384)).save(tmp_path / "osv.png")
    rotated = big.resize((64, 32))
    exif = rotated.getexif()
    exif[0x0112] = 6
    rotated.save(tmp_path / "rot.jpg", exif=exif)
    return sorted(tmp_path.iterdir())


@pytest.mark.parametrize("turbo", [True, False])
def test_uint8_decoding_gives_the_pixels_pil_gives(tmp_path, monkeypatch, turbo):
    from geosurvey.data import images

    if not turbo:
        # the fallback when simplejpeg is not installed
        monkeypatch.setattr(images, "simplejpeg", None)
    for path in _jpegs(tmp_path):
        data = path.read_bytes()
        for max_side, min_side in ((1024, None), (64, None), (1024, 224)):
            want = np.asarray(
                images.decode_image(data, path, max_side, min_side=min_side)
            )
            got = images.decode_array(data, path, max_side, min_side=min_side)
            assert got.dtype == np.uint8 and np.array_equal(got, want), (
                path.name,
                max_side,
                min_side,
            )
    used = (
        images._turbo((tmp_path / "osv.jpg").read_bytes(), "osv.jpg", 1024, None)
        is not None
    )
    assert (
        used == turbo
        and images._turbo((tmp_path / "rot.jpg").read_bytes(), "rot.jpg", 1024, None)
        is None
    )


def test_a_transform_s_size_decodes_jpegs_no_larger_than_it_needs(tmp_path):
    _jpegs(tmp_path)
    # the float path, as before
    assert read_image(tmp_path / "big.jpg").size == (1024, 768)
    # 1/4 scale: 384 >= 224 > 192
    assert read_image(tmp_path / "big.jpg", min_side=224).size == (512, 384)
    assert read_image(tmp_path / "osv.jpg", min_side=224).size == (512, 384)


def test_uint8_batches_normalised_on_the_device_match_the_float_transform(tmp_path):
    import torch

    from geosurvey import backbones, features

    img = read_image(_jpegs(tmp_path)[-2])  # osv.jpg, 512 x 384
    model, info = backbones.create("tf_efficientnet_lite0")
    model.eval()
    flt = features.image_transform(info.mean, info.std, 96)(img)
    u8 = features.Uint8Transform(96)(np.array(img))
    assert u8.dtype == torch.uint8 and u8.shape == (3, 96, 96)
    # torch's and PIL's bicubic resampling differ by a grey level at most
    one_level = 1.5 / 255 / min(info.std)
    assert (backbones.normalise(u8, info.mean, info.std) - flt).abs().max() <= one_level
    trunk, top = backbones.split(model, 1)
    plain = torch.nn.Sequential(model.conv_stem, model.bn1, *model.blocks[:-1])
    # checkpoints keep their keys
    assert list(trunk.state_dict()) == list(plain.state_dict())
    with torch.no_grad():
        assert torch.equal(
            trunk(u8[None]), plain(backbones.normalise(u8[None], info.mean, info.std))
        )
        # float input passes as before
        assert torch.equal(trunk(flt[None]), plain(flt[None]))


def test_photo_sets_hand_uint8_transforms_decoded_arrays_and_errors_cross_processes(
    tmp_path,
):
    import pickle

    from geosurvey import features
    from geosurvey.data.sets import PhotoSet

    _jpegs(tmp_path)
    (tmp_path / "cut.jpg").write_bytes((tmp_path / "osv.jpg").read_bytes()[:500])
    ds = PhotoSet(
        pd.DataFrame(
            {
                "path": [str(tmp_path / n) for n in ("osv.jpg", "cut.jpg")],
                "lat": [0.0, 1.0],
                "lon": [0.0, 1.0],
            }
        )
    ).view(features.Uint8Transform(32))
    assert ds[0][0].shape == (3, 32, 32) and ds.problem(1).startswith(
        "cannot decode image"
    )
    with pytest.raises(ImageDecodeError, match="cut.jpg") as err:
        ds[1]
    again = pickle.loads(pickle.dumps(err.value))
    assert str(again) == str(err.value) and again.reason == err.value.reason


def test_fold_tests_lie_in_their_own_discs(tmp_cache):
    from geosurvey.data import designs
    from geosurvey.data.geotiles import labelled_locations, load_fold_tests

    discs = designs.fold_discs(labelled_locations(), designs.FOLDS, 0)
    ts = load_fold_tests(SMALL, discs, 96)  # two a disc
    disc = ts.meta["block"].str.removeprefix("disc-").astype(int).to_numpy()
    d = haversine(
        ts.lat, ts.lon, discs["lat"].to_numpy()[disc], discs["lon"].to_numpy()[disc]
    )
    assert (d <= SMALL.block_radius_km).all() and len(ts) > 90
    assert (ts.meta["fold"].to_numpy() == discs["fold"].to_numpy()[disc]).all()
    assert np.bincount(disc).max() == 2 and ts.tiles.shape[1:] == (32, 32, 3)


def test_training_views_are_random_crops_and_flips_of_the_photo():
    import torch

    from geosurvey import features

    # a left-to-right ramp: a flip reverses it, a crop narrows its range
    ramp = np.tile(np.linspace(0, 255, 400).astype(np.uint8), (300, 1))
    photo = np.stack([ramp] * 3, -1)
    plain = features.Uint8Transform(64)(photo)
    torch.manual_seed(0)
    views = [features.Uint8Transform(64, augment=True)(photo) for _ in range(12)]
    assert all(v.dtype == torch.uint8 and v.shape == (3, 64, 64) for v in views)
    slopes = [int(v[0, 32, -1]) - int(v[0, 32, 0]) for v in views]
    assert any(s < 0 for s in slopes) and any(s > 0 for s in slopes)  # flipped or not
    assert len({tuple(v[0, 32].tolist()) for v in views}) > 6  # crops differ
    assert max(abs(s) for s in slopes) <= int(plain[0, 32, -1]) - int(plain[0, 32, 0])
    assert "random" in repr(features.Uint8Transform(64, augment=True))
    assert "random" not in repr(features.Uint8Transform(64))


def test_only_streamed_photos_are_augmented():
    from geosurvey import features
    from geosurvey.inputs import SplitInputs

    meta = pd.DataFrame({"lat": [0.0], "lon": [0.0]})
    cached = SplitInputs(meta, cached=np.zeros((1, 2), np.float32))
    assert cached.augmented() is cached
    streamed = SplitInputs(meta, images=object(), transform=features.Uint8Transform(32))
    assert streamed.augmented().transform.augment
    assert streamed.augmented().images is streamed.images
    assert not streamed.transform.augment
