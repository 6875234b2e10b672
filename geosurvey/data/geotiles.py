"""GeoTiles: the embedded dataset - imagery of the real Earth at real photo locations.

Locations are the 100,000 MP-16 photo coordinates shipped with the ``geoclip`` package
(the real spatial density of geotagged Flickr photos). Around each location a square
tile of ``extent_km`` is rendered from a global image of the Earth in a local
azimuthal-equidistant frame (no high-latitude stretching), rotated at random and scaled
by up to +-``scale_jitter``. Each sample is drawn from one of several renderings
("conditions": NASA Blue Marble true colour, Natural Earth shaded relief, NASA
topography and bathymetry) and then photometrically jittered (per-channel gain, gamma,
haze, cloud-like occlusion, noise), so that two renders of nearby places are never
pixel-identical.

Why so much jitter: with weak jitter a raw-pixel nearest neighbour simply *registers* a
test tile against the overlapping training tiles and looks better than any learned model
(chapter 1 shows why). With these conditions raw pixels fall to about the prior while
pretrained features keep a real signal, close in difficulty to real photo benchmarks.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from .. import cache, files, packaged
from ..geo import destination, haversine
from ..progress import bar
from . import newplaces
from .places import continents, geocode
from .sets import TileSet

SPLITS = ("train", "val", "test", "val_new", "test_new")

# bump when rendering or splitting changes: it is part of the cache key
RENDER_VERSION = 3
# every rendering is used at 5400 x 2700 (~7.4 km per pixel at the equator)
EARTH_WIDTH = 5400

EARTH_SOURCES = {  # condition: (packaged file, what it is)
    "bluemarble": ("bluemarble", "NASA Blue Marble, true colour"),
    "relief": ("shaded_relief", "Natural Earth shaded relief"),
    "topo": ("topo_bathy", "NASA topography and bathymetry"),
}


@dataclass(frozen=True)
class GeoTilesSpec:
    """Everything that determines the dataset; its hash names the cache entry."""

    n_train: int = 6000
    n_val: int = 1000
    n_test: int = 1000
    tile_px: int = 64
    extent_km: float = 500.0
    scale_jitter: float = 0.25
    conditions: tuple = ("bluemarble", "relief", "topo")
    seed: int = 0
    n_val_new: int = 500
    n_test_new: int = 1000
    block_radius_km: float = 250.0
    buffer_km: float = 625.0  # the footprint's side at the largest scale: 500 km x 1.25
    test_discs: tuple = newplaces.TEST_DISCS
    val_discs: tuple = newplaces.VAL_DISCS

    def cache_params(self) -> dict:
        return {**asdict(self), "render_version": RENDER_VERSION}


def mp16_locations() -> pd.DataFrame:
    """The MP-16 photo coordinates, exact duplicates (to 1e-4 degrees, ~10 m)
    removed."""
    df = pd.read_csv(packaged.path("mp16_coordinates")).rename(
        columns={"LAT": "lat", "LON": "lon"}
    )
    return df.loc[~df.round(4).duplicated()].reset_index(drop=True)


@functools.lru_cache(maxsize=None)
def earth_image(condition: str) -> np.ndarray:
    """A global equirectangular rendering as uint8 (2700, 5400, 3)."""
    if condition not in EARTH_SOURCES:
        raise ValueError(
            f"unknown condition {condition!r}; choose from {sorted(EARTH_SOURCES)}"
        )
    with Image.open(packaged.path(EARTH_SOURCES[condition][0])) as img:
        img.draft("RGB", (EARTH_WIDTH, EARTH_WIDTH // 2))
        img = img.convert("RGB")
        if img.size != (EARTH_WIDTH, EARTH_WIDTH // 2):
            img = img.resize((EARTH_WIDTH, EARTH_WIDTH // 2), Image.Resampling.BILINEAR)
        return np.asarray(img)


def sample_bilinear(earth: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Bilinear lookup of an equirectangular image at (lat, lon) arrays; wraps in
    longitude."""
    h, w, _ = earth.shape
    x = (lon + 180.0) / 360.0 * w - 0.5
    y = np.clip((90.0 - lat) / 180.0 * h - 0.5, 0, h - 1.001)
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    x0w, x1w = x0 % w, (x0 + 1) % w
    flat, above, below = earth.reshape(h * w, -1), y0 * w, (y0 + 1) * w  # 1 index: fast
    top = flat[above + x0w] * (1 - fx) + flat[above + x1w] * fx
    bottom = flat[below + x0w] * (1 - fx) + flat[below + x1w] * fx
    return top * (1 - fy) + bottom * fy


def ground(lat, lon, rotation_deg, scale, *, tile_px: int, extent_km: float):
    """Where each pixel of tiles centred on (lat, lon), north rotated by
    ``rotation_deg``, lies: ``(slice, lat, lon)`` of 64 tiles at a time, each (k, px,
    px)."""
    half = extent_km / 2
    offs = (np.arange(tile_px) + 0.5) / tile_px * extent_km - half
    east, north = np.meshgrid(offs, -offs)  # image rows go southwards
    radius, angle = np.hypot(east, north)[None], np.degrees(np.arctan2(east, north))
    lat, lon, rotation_deg, scale = map(np.asarray, (lat, lon, rotation_deg, scale))
    for i in range(0, len(lat), 64):
        s = slice(i, i + 64)
        dist, bearing = (
            radius * scale[s, None, None],
            angle + rotation_deg[s, None, None],
        )
        yield (s, *destination(lat[s, None, None], lon[s, None, None], bearing, dist))


def render(
    earth: np.ndarray, lat, lon, rotation_deg, scale, *, tile_px: int, extent_km: float
) -> np.ndarray:
    """Tiles (n, px, px, 3) float in [0, 255] centred on each (lat, lon), north rotated
    by ``rotation_deg``; 64 tiles at a time, whose arrays stay in the CPU's cache."""
    out = np.empty((len(lat), tile_px, tile_px, 3))
    for s, lat2, lon2 in ground(
        lat, lon, rotation_deg, scale, tile_px=tile_px, extent_km=extent_km
    ):
        out[s] = sample_bilinear(earth, lat2, lon2)
    return out


def renderings(lat: float, lon: float, spec: GeoTilesSpec) -> dict:
    """One place in each of ``spec``'s conditions, north up, at scale 1 and without
    jitter: ``{condition: tile (px, px, 3) uint8}``, what the renderer starts from."""
    return {
        name: render(
            earth_image(name),
            [lat],
            [lon],
            [0.0],
            [1.0],
            tile_px=spec.tile_px,
            extent_km=spec.extent_km,
        )[0].astype(np.uint8)
        for name in spec.conditions
    }


def _smooth_noise(rng, n, px, grids=(4, 9)):
    """Cloud-like noise in [0, 1] of shape (n, px, px): two octaves of smoothly
    upsampled grids."""
    out = np.zeros((n, px, px))
    for octave, grid in enumerate(grids):
        coarse = rng.random((n, grid + 1, grid + 1))
        t = np.linspace(0, grid, px, endpoint=False)
        i0 = t.astype(int)
        f = t - i0
        f = f * f * (3 - 2 * f)  # smoothstep: round blobs instead of bilinear creases
        rows = (
            coarse[:, i0] * (1 - f)[None, :, None]
            + coarse[:, i0 + 1] * f[None, :, None]
        )
        out += (rows[:, :, i0] * (1 - f) + rows[:, :, i0 + 1] * f) / 2**octave
    return out / sum(1 / 2**k for k in range(len(grids)))


def photometric_jitter(tiles: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-tile gain per channel, gamma, haze, cloud-like occlusion and sensor noise ->
    uint8."""
    n, px = tiles.shape[0], tiles.shape[1]
    x = tiles / 255.0
    x = x * rng.uniform(0.75, 1.25, (n, 1, 1, 3))
    x = np.clip(x, 0, 1) ** rng.uniform(0.6, 1.6, (n, 1, 1, 1))
    haze = rng.uniform(0.0, 0.35, (n, 1, 1, 1))
    x = x * (1 - haze) + haze * rng.uniform(0.6, 0.9, (n, 1, 1, 1))
    cover = rng.uniform(0.0, 0.6, (n, 1, 1))  # fraction of the sky that may be cloudy
    alpha = np.clip((_smooth_noise(rng, n, px) - (1 - cover)) * 6, 0, 1)[..., None]
    x = x * (1 - alpha) + 0.95 * alpha
    x = x + rng.normal(0, 0.02, x.shape)
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def render_split(
    lat,
    lon,
    spec: GeoTilesSpec,
    rng: np.random.Generator,
    chunk: int = 512,
    desc="tiles",
):
    """Render and jitter tiles for one split; returns (tiles uint8, per-sample render
    parameters)."""
    n = len(lat)
    cond = rng.integers(0, len(spec.conditions), n)
    rotation = rng.uniform(0, 360, n)
    scale = rng.uniform(1 - spec.scale_jitter, 1 + spec.scale_jitter, n)
    tiles = np.empty((n, spec.tile_px, spec.tile_px, 3), dtype=np.uint8)
    for start in bar(range(0, n, chunk), desc=desc, unit="chunk"):
        sl = slice(start, min(start + chunk, n))
        raw = np.empty((sl.stop - sl.start, spec.tile_px, spec.tile_px, 3))
        for c, name in enumerate(spec.conditions):
            m = cond[sl] == c
            if m.any():
                raw[m] = render(
                    earth_image(name),
                    lat[sl][m],
                    lon[sl][m],
                    rotation[sl][m],
                    scale[sl][m],
                    tile_px=spec.tile_px,
                    extent_km=spec.extent_km,
                )
        tiles[sl] = photometric_jitter(raw, rng)
    params = pd.DataFrame(
        {
            "condition": np.asarray(spec.conditions, dtype=object)[cond],
            "rotation": rotation,
            "scale": scale,
        }
    )
    return tiles, params


@functools.lru_cache(maxsize=1)
def labelled_locations() -> pd.DataFrame:
    """:func:`mp16_locations` with country, admin-1, nearest place and continent of
    each."""
    locs = mp16_locations()
    out = pd.concat([locs, geocode(locs["lat"], locs["lon"])], axis=1)
    out["continent"] = continents(out["country"])
    return out


@functools.lru_cache(maxsize=8)
def blocks(spec: GeoTilesSpec) -> newplaces.Blocks:
    """The held-out discs of the new-places regime for ``spec`` (its seed draws
    them)."""
    return newplaces.choose_blocks(
        labelled_locations(),
        n_test=spec.n_test_new,
        n_val=spec.n_val_new,
        seed=spec.seed,
        radius_km=spec.block_radius_km,
        buffer_km=spec.buffer_km,
        test_discs=spec.test_discs,
        val_discs=spec.val_discs,
    )


def split_locations(spec: GeoTilesSpec) -> dict:
    """Disjoint rows of the labelled MP-16 locations for every split in :data:`SPLITS`.

    New-places splits (val_new, test_new) come from the validation and test discs, with
    the continent mix of the whole draw (:mod:`.newplaces`). Seen-places splits (train,
    val, test) are shuffled by ``seed`` from every other location, held-out discs
    included: the seen regime keeps the world. Each row carries its ``ground``: the
    disc role it lies in, ``"buffer"`` or ``"pool"`` (:meth:`.newplaces.Blocks.roles`);
    a new-ground model trains only on the ``"pool"`` rows of train.
    """
    locs = labelled_locations()
    role = blocks(spec).roles(locs["lat"].to_numpy(), locs["lon"].to_numpy())
    locs = locs.assign(ground=role)
    shares = locs["continent"].value_counts(normalize=True)
    out, taken = {}, []
    for split, discs, n, kind in (
        ("val_new", spec.val_discs, spec.n_val_new, "val"),
        ("test_new", spec.test_discs, spec.n_test_new, "test"),
    ):
        wanted = newplaces.quotas_for(shares, discs, n)
        rows = newplaces.draw(locs, np.flatnonzero(role == kind), wanted, spec.seed)
        out[split] = locs.iloc[rows].reset_index(drop=True)
        taken.append(rows)
    rest = np.setdiff1d(np.arange(len(locs)), np.concatenate(taken))
    sizes = {"test": spec.n_test, "val": spec.n_val, "train": spec.n_train}
    if sum(sizes.values()) > len(rest):
        raise ValueError(
            f"GeoTiles has {len(rest)} locations besides the new-places splits; "
            f"asked for {sum(sizes.values())} (train, val and test)"
        )
    order = rest[np.random.default_rng(spec.seed).permutation(len(rest))]
    start = 0
    for split in ("test", "val", "train"):  # test first: fixed when n_train grows
        rows = order[start : start + sizes[split]]
        out[split] = locs.iloc[rows].reset_index(drop=True)
        start += sizes[split]
    return {split: out[split] for split in SPLITS}


def build(spec: GeoTilesSpec, folder: Path) -> None:
    """Render every split of ``spec`` into ``folder`` (tiles.npy + meta.csv per
    split)."""
    for k, (split, locs) in enumerate(split_locations(spec).items()):
        rng = np.random.default_rng([spec.seed, k, RENDER_VERSION])
        tiles, params = render_split(
            locs["lat"].to_numpy(),
            locs["lon"].to_numpy(),
            spec,
            rng,
            desc=f"GeoTiles {split}",
        )
        meta = pd.concat([locs, params], axis=1)
        np.save(folder / f"{split}_tiles.npy", tiles)
        meta.to_csv(folder / f"{split}_meta.csv", index=False)
    held = blocks(spec)
    pd.DataFrame(
        {
            "lat": held.lat,
            "lon": held.lon,
            "role": held.role,
            "continent": held.continent,
        }
    ).to_csv(folder / "blocks.csv", index=False)
    (folder / "spec.json").write_text(json.dumps(spec.cache_params(), indent=2))


def _folder(spec: GeoTilesSpec) -> Path:
    folder = cache.entry("geotiles", spec.cache_params())
    if not folder.exists():
        with files.atomic_folder(folder) as tmp:
            build(spec, tmp)
    return folder


def _read_meta(path: Path) -> pd.DataFrame:
    meta = pd.read_csv(path, keep_default_na=False, na_values=[""])
    meta["country"] = meta["country"].fillna(
        "NA"
    )  # Namibia's code is "NA", not a missing value
    return meta


# the role of the held-out discs each new-places split is drawn from
DISC_ROLES = {"val_new": "val", "test_new": "test"}


def with_discs(meta: pd.DataFrame, discs: pd.DataFrame, role: str) -> pd.DataFrame:
    """``meta`` with a ``block`` column: the held-out disc (of ``discs``, the rows of
    ``role``) nearest each location, i.e. the disc that holds it; the unit the
    new-places bootstrap resamples (:mod:`geosurvey.stats`)."""
    own = discs[discs["role"] == role]
    d = haversine(
        meta["lat"].to_numpy()[:, None],
        meta["lon"].to_numpy()[:, None],
        own["lat"].to_numpy()[None],
        own["lon"].to_numpy()[None],
    )
    return meta.assign(block=[f"{role}-disc-{i}" for i in own.index[d.argmin(1)]])


def _split_meta(folder: Path, split: str) -> pd.DataFrame:
    meta = _read_meta(folder / f"{split}_meta.csv")
    if split in DISC_ROLES:
        meta = with_discs(meta, _read_blocks(folder), DISC_ROLES[split])
    return meta


def load_geotiles(spec: GeoTilesSpec = GeoTilesSpec()) -> dict:
    """``{split: TileSet}`` for every split in :data:`SPLITS`, rendered once and
    cached; a new-places split's rows carry their held-out disc (``block``). Beside
    them ``train_new``: the training rows outside every held-out disc and its buffer,
    what a new-ground model trains on."""
    folder = _folder(spec)
    splits = {
        split: TileSet(
            _split_meta(folder, split),
            np.load(folder / f"{split}_tiles.npy", mmap_mode="r"),
            name=f"geotiles-{split}",
        )
        for split in SPLITS
    }
    train = splits["train"]
    splits["train_new"] = train.subset(newplaces.new_ground(train.meta))
    splits["train_new"].name = "geotiles-train_new"
    return splits


def load_blocks(spec: GeoTilesSpec) -> pd.DataFrame:
    """The held-out discs (lat, lon, role, continent) of ``spec``'s new-places
    regime."""
    return _read_blocks(_folder(spec))


def _read_blocks(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "blocks.csv", keep_default_na=False)


def load_fold_tests(spec: GeoTilesSpec, discs: pd.DataFrame, n: int) -> TileSet:
    """Test tiles of new ground in folds: about ``n / len(discs)`` locations drawn
    inside each disc (``spec.block_radius_km`` of its centre) and rendered like every
    split; each row carries its ``fold`` and its disc (``block``)."""
    params = {**spec.cache_params(), "fold_discs": discs.to_dict("list"), "n": n}
    folder = cache.entry("geotiles-folds", params)
    if not folder.exists():
        locs, rng = labelled_locations(), np.random.default_rng([spec.seed, 77])
        d = haversine(
            locs["lat"].to_numpy()[:, None],
            locs["lon"].to_numpy()[:, None],
            discs["lat"].to_numpy(),
            discs["lon"].to_numpy(),
        )
        per = n // len(discs)
        rows, disc = [], []
        for i in range(len(discs)):
            inside = np.flatnonzero(d[:, i] <= spec.block_radius_km)
            rows.append(rng.choice(inside, min(per, len(inside)), replace=False))
            disc += [i] * len(rows[-1])
        meta = locs.iloc[np.concatenate(rows)].reset_index(drop=True)
        meta = meta.assign(fold=discs["fold"].to_numpy()[disc], block=disc)
        tiles, shown = render_split(
            meta["lat"].to_numpy(),
            meta["lon"].to_numpy(),
            spec,
            rng,
            desc="GeoTiles folds",
        )
        with files.atomic_folder(folder) as tmp:
            np.save(tmp / "tiles.npy", tiles)
            pd.concat([meta, shown], axis=1).to_csv(tmp / "meta.csv", index=False)
    meta = _read_meta(folder / "meta.csv")
    meta["block"] = [f"disc-{b}" for b in meta["block"]]
    tiles = np.load(folder / "tiles.npy", mmap_mode="r")
    return TileSet(meta, tiles, name="geotiles-test_folds")


def load_views(spec: GeoTilesSpec, images: TileSet) -> TileSet:
    """Every location of ``images`` rendered again under each condition, with fresh
    rotation, scale and jitter: the several views of one place that PIGEON fuses. Row
    ``v * n + i`` is view ``v`` (condition ``spec.conditions[v]``) of location ``i``;
    the meta rows repeat."""
    params = {**spec.cache_params(), "views_of": images.fingerprint()}
    folder = cache.entry("geotiles-views", params)
    n = len(images)
    if not folder.exists():
        rng = np.random.default_rng([spec.seed, 99, RENDER_VERSION])
        lat, lon = images.lat, images.lon
        tiles = np.empty(
            (len(spec.conditions) * n, spec.tile_px, spec.tile_px, 3), np.uint8
        )
        for v, condition in enumerate(spec.conditions):
            one = GeoTilesSpec(**{**asdict(spec), "conditions": (condition,)})
            tiles[v * n : (v + 1) * n], _ = render_split(
                lat, lon, one, rng, desc=f"GeoTiles views ({condition})"
            )
        with files.atomic_folder(folder) as tmp:
            np.save(tmp / "tiles.npy", tiles)
    base = images.meta.drop(columns=["rotation", "scale"], errors="ignore")
    meta = pd.concat(
        [base.assign(condition=c) for c in spec.conditions], ignore_index=True
    )
    meta["view_of"] = np.tile(np.arange(n), len(spec.conditions))
    return TileSet(
        meta, np.load(folder / "tiles.npy", mmap_mode="r"), name=f"{images.name}-views"
    )
