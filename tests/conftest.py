import os

import numpy as np
import pandas as pd
import pytest
from PIL import Image

# Never wait on the model hub in tests: weights come from the bundled packages.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture()
def tmp_cache(tmp_path, monkeypatch):
    """A private cache root so tests never read entries made by the book."""
    monkeypatch.setenv("GEOSURVEY_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def private_run(tmp_path_factory):
    """A private cache, checkpoint and results folder shared by the tests of one module
    (for tests that render tiles or compute activations once and reuse them)."""
    root = tmp_path_factory.mktemp("run")
    with pytest.MonkeyPatch.context() as mp:
        for var, name in (
            ("GEOSURVEY_CACHE", "cache"),
            ("GEOSURVEY_CHECKPOINTS", "checkpoints"),
            ("GEOSURVEY_RESULTS", "results"),
        ):
            mp.setenv(var, str(root / name))
        yield root


def photo(seed: int = 0, w: int = 40, h: int = 30) -> Image.Image:
    return Image.fromarray(
        np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)
    )


def geotile_photos(n: int, seed: int = 0, px: int = 128):
    """``n`` real photo locations (MP-16) with GeoTiles renderings of them as non-square
    RGB images: files that carry a real geographic signal for the photo-folder code
    path."""
    from geosurvey.data.geotiles import GeoTilesSpec, mp16_locations, render_split

    locs = mp16_locations().sample(n, random_state=seed).reset_index(drop=True)
    spec = GeoTilesSpec(tile_px=px)
    tiles, _ = render_split(
        locs["lat"].to_numpy(),
        locs["lon"].to_numpy(),
        spec,
        np.random.default_rng(seed),
    )
    # 96 x 128: portrait, like many photos
    return locs, [Image.fromarray(t[:, : px * 3 // 4]) for t in tiles]


def write_osv5m(root, n_train: int = 90, n_test: int = 24, seed: int = 0):
    """An OpenStreetView-5M-layout folder: train.csv / test.csv and
    images/<split>/<id>.jpg."""
    from geosurvey.data.places import geocode

    locs, images = geotile_photos(n_train + n_test, seed)
    countries = geocode(locs["lat"], locs["lon"])["country"]
    for split, rows in (
        ("train", range(n_train)),
        ("test", range(n_train, n_train + n_test)),
    ):
        folder = root / "images" / split
        folder.mkdir(parents=True, exist_ok=True)
        ids = [1000 + i for i in rows]
        for i, r in zip(ids, rows):
            images[r].save(folder / f"{i}.jpg", quality=90)
        pd.DataFrame(
            {
                "id": ids,
                "latitude": locs["lat"][list(rows)],
                "longitude": locs["lon"][list(rows)],
                "country": countries[list(rows)].to_numpy(),
                "city": "x",
            }
        ).to_csv(root / f"{split}.csv", index=False)
    return root


def write_im2gps(root, n: int = 12, seed: int = 1):
    """An im2gps3k-style test set: one metadata CSV (with published-style scene labels)
    and images/."""
    locs, images = geotile_photos(n, seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    names = [f"{i}_{seed}_user.jpg" for i in range(n)]
    for name, img in zip(names, images):
        img.save(root / "images" / name)
    pd.DataFrame(
        {
            "IMG_ID": names,
            "AUTHOR": "user",
            "LAT": locs["lat"],
            "LON": locs["lon"],
            "S3_Label": np.arange(n) % 3,
            "S16_Label": np.arange(n) % 16,
        }
    ).to_csv(root / "im2gps3k.csv", index=False)
    return root


@pytest.fixture(scope="session")
def osv5m_folder(tmp_path_factory):
    return write_osv5m(tmp_path_factory.mktemp("osv5m"))


@pytest.fixture(scope="session")
def im2gps_folder(tmp_path_factory):
    return write_im2gps(tmp_path_factory.mktemp("im2gps3k"))
