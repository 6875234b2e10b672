"""Candidate designs of the new-places regime, measured side by side before one is
chosen: what each costs the training set, how much ground its test tiles still share
with training tiles, how far its test images lie from any training location, and how
many independent blocks it gives.

A design is a tile footprint, a held-out disc radius, a buffer no training location
enters, whether training tiles mask the held-out ground instead (then no buffer is
needed, but a test tile must lie wholly on held-out ground, so test images come from
each disc's core), and a number of folds: with K folds every disc is held out by one of
K models (spatial K-fold cross-validation), so K models give K times the blocks of one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from .. import cache, cells, files
from ..geo import geoscore, haversine, km_chord, nearest, to_xyz
from . import geotiles
from .newplaces import reach_km, shared_ground
from .sets import TileSet

# discs per continent for every 48 held out (the share of MP-16 photos, at least 4)
CONTINENT_WEIGHTS = (
    ("Europe", 14),
    ("North America", 12),
    ("Asia", 10),
    ("South America", 4),
    ("Oceania", 4),
    ("Africa", 4),
)


GRID = 8  # ground samples per tile side when measuring shared ground
CENTRES_FROM = 5000  # photo locations disc centres are drawn among


@dataclass(frozen=True)
class Design:
    name: str
    tile_km: float
    radius_km: float
    buffer_km: float
    folds: int
    discs_per_fold: int
    masked: bool = False
    val_discs: int = 0  # further discs held out of every model, for validation
    max_scale: float = 1.25

    @property
    def reach_km(self) -> float:
        """How far a rotated tile at its largest scale reaches from its centre."""
        return reach_km(self.tile_km, self.max_scale)


def place_discs(locs: pd.DataFrame, design: Design, seed: int) -> np.ndarray:
    """Row indices of disc centres: random photo locations, spread over continents by
    :data:`CONTINENT_WEIGHTS`, each disc holding photos and every two discs far enough
    apart that no tile of one reaches ground of the other. A continent too small for
    its share (Europe holds about 7 such discs) leaves its remainder to the others."""
    xyz = to_xyz(locs["lat"].to_numpy(), locs["lon"].to_numpy())
    rng = np.random.default_rng([seed, 31])
    cand = rng.permutation(len(xyz))[:CENTRES_FROM]  # centres are drawn among these
    counts = cKDTree(xyz).query_ball_point(
        xyz[cand], km_chord(design.radius_km), return_length=True
    )
    free = counts >= 20  # a centre whose disc holds photos, far from every disc
    tree, continent = cKDTree(xyz[cand]), locs["continent"].to_numpy()[cand]
    n = design.folds * design.discs_per_fold + design.val_discs
    total = sum(w for _, w in CONTINENT_WEIGHTS)
    gap = km_chord(2 * design.radius_km + 2 * design.reach_km)
    chosen = []

    def draw(name: str) -> bool:
        pool = np.flatnonzero(free & (continent == name))
        if len(pool):
            chosen.append(int(rng.choice(pool)))
            free[tree.query_ball_point(xyz[cand[chosen[-1]]], gap)] = False
        return bool(len(pool))

    for name, w in CONTINENT_WEIGHTS:  # each continent its share while it has room
        for _ in range(max(1, round(n * w / total))):
            if not draw(name):
                break
    more = True
    while len(chosen) < n and more:  # then one a continent in turn, where room is left
        more = False
        for name, _ in CONTINENT_WEIGHTS:
            more |= len(chosen) < n and draw(name)
    return cand[np.array(chosen[:n], int)]


def _centres(locs, design: Design, rng, seed: int) -> tuple:
    """Row indices of (validation, test) disc centres, shuffled; test disc ``i``
    belongs to fold ``i mod K``."""
    centres = rng.permutation(place_discs(locs, design, seed))
    return centres[: design.val_discs], centres[design.val_discs :]


def fold_discs(locs: pd.DataFrame, design: Design, seed: int) -> pd.DataFrame:
    """The test discs of ``design`` (lat, lon, continent, fold), as :func:`measure`
    draws them."""
    _, centres = _centres(locs, design, np.random.default_rng([seed, 5]), seed)
    out = locs.iloc[centres][["lat", "lon", "continent"]].reset_index(drop=True)
    return out.assign(fold=np.arange(len(out)) % design.folds)


def _within(tree, xyz, centres, km: float, n: int) -> np.ndarray:
    out = np.zeros(n, bool)
    for hits in tree.query_ball_point(xyz[centres], km_chord(km)):
        out[hits] = True
    return out


def _tiles(locs, rows, rng, max_scale: float = 1.25) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lat": locs["lat"].to_numpy()[rows],
            "lon": locs["lon"].to_numpy()[rows],
            "rotation": rng.uniform(0, 360, len(rows)),
            "scale": rng.uniform(2 - max_scale, max_scale, len(rows)),
        }
    )


def _fold(locs, design, centres, *, held_out, tree, xyz, rng, n_train, n_test):
    """One fold's training and test tiles, and what they measure: ``centres`` are its
    test discs, ``held_out`` every disc its training leaves out."""
    n = len(locs)
    # a masked design tests only where a whole tile lies on held-out ground
    core = design.radius_km - (design.reach_km if design.masked else 0.0)
    held = _within(tree, xyz, centres, core, n)
    out = _within(tree, xyz, held_out, design.radius_km + design.buffer_km, n)
    train = _tiles(locs, rng.choice(np.flatnonzero(~out), n_train, replace=False), rng)
    test_rows = np.flatnonzero(held)
    test = _tiles(
        locs, rng.choice(test_rows, min(n_test, len(test_rows)), replace=False), rng
    )
    discs = locs.iloc[held_out]
    share = shared_ground(
        test,
        train,
        extent_km=design.tile_km,
        max_scale=design.max_scale,
        grid=GRID,
        masked=(discs["lat"], discs["lon"], design.radius_km)
        if design.masked
        else None,
    )
    d, _ = nearest(test["lat"], test["lon"], train["lat"], train["lon"])
    fold = {"train": train, "test": test, "nearest": d, "held_out": discs}
    coarse = cells.uniform(train["lat"], train["lon"], level=3)
    top = int(np.argmax(coarse.counts))
    prior = haversine(
        coarse.mean_lat[top], coarse.mean_lon[top], test["lat"], test["lon"]
    )
    return {**fold, "lost": out.mean(), "share": share, "prior": geoscore(prior)}


def _runs(locs, design: Design, folds, *, seed: int, n_train: int, n_test: int):
    """:func:`_fold` of each of ``folds`` (fold numbers) of ``design``, ``n_train``
    training tiles and ``n_test`` test tiles each; and how many test discs it drew."""
    xyz = to_xyz(locs["lat"].to_numpy(), locs["lon"].to_numpy())
    tree, rng = cKDTree(xyz), np.random.default_rng([seed, 5])
    val, centres = _centres(locs, design, rng, seed)
    fold_of = np.arange(len(centres)) % design.folds
    return [
        _fold(
            locs,
            design,
            centres[fold_of == k],
            held_out=np.concatenate([centres[fold_of == k], val]),
            tree=tree,
            xyz=xyz,
            rng=rng,
            n_train=n_train,
            n_test=n_test,
        )
        for k in folds
    ], len(centres)


def measure(
    locs: pd.DataFrame,
    design: Design,
    *,
    seed: int = 0,
    n_train: int = 3000,
    n_test: int = 400,
) -> dict:
    """What ``design`` costs and measures (see the module doc), over its folds:
    ``n_train`` training tiles per fold and ``n_test`` test tiles in all."""
    per = max(1, n_test // design.folds)
    runs, discs = _runs(
        locs, design, range(design.folds), seed=seed, n_train=n_train, n_test=per
    )
    share = np.concatenate([r["share"] for r in runs])
    near = np.concatenate([r["nearest"] for r in runs])
    return {
        "models": design.folds,
        "held-out discs": discs,
        "smallest p a sign flip can give": 2.0 ** (1 - discs),
        "photo locations out of training, per model %": 100
        * np.mean([r["lost"] for r in runs]),
        "test ground shared, mean %": 100 * share.mean(),
        "test tiles sharing over 5 % of ground, %": 100 * np.mean(share > 0.05),
        "nearest training km, median": float(np.median(near)),
        "test images with training within 200 km %": 100 * np.mean(near <= 200),
        "prior GeoScore": float(np.mean(np.concatenate([r["prior"] for r in runs]))),
        "oracle GeoScore": float(np.mean(geoscore(near))),
    }


def _mask(tiles, lat, lon, shown: pd.DataFrame, spec, discs, radius_km: float):
    """Paint grey, in place, every pixel of ``tiles`` (rendered at ``lat``, ``lon``
    with ``shown``'s rotation and scale) that lies within ``radius_km`` of a disc."""
    reach = reach_km(spec.extent_km, 1 + spec.scale_jitter)
    dlat, dlon = discs["lat"].to_numpy(), discs["lon"].to_numpy()
    d = haversine(lat[:, None], lon[:, None], dlat, dlon).min(1)
    rows = np.flatnonzero(d <= radius_km + reach)
    turn, scale = (shown[c].to_numpy()[rows] for c in ("rotation", "scale"))
    size = {"tile_px": spec.tile_px, "extent_km": spec.extent_km}
    pixels = geotiles.ground(lat[rows], lon[rows], turn, scale, **size)
    for s, plat, plon in pixels:
        d = haversine(plat[..., None], plon[..., None], dlat, dlon).min(-1)
        some = tiles[rows[s]]
        some[d <= radius_km] = 128
        tiles[rows[s]] = some


def trial(locs, design: Design, spec, *, seed: int, n_train=3000, n_test=300):
    """The first fold of ``design`` rendered as GeoTiles are (``spec``'s conditions
    and jitter, at the design's footprint; in its training tiles held-out ground is
    grey where the design masks): ``(train, test)`` tile sets, cached."""
    params = {**spec.cache_params(), "design": asdict(design), "trial": seed}
    folder = cache.entry("geotiles-design", {**params, "n": [n_train, n_test]})
    if not folder.exists():
        (run,), _ = _runs(locs, design, [0], seed=seed, n_train=n_train, n_test=n_test)
        one, rng = replace(spec, extent_km=design.tile_km), np.random.default_rng(seed)
        with files.atomic_folder(folder) as tmp:
            for split in ("train", "test"):
                lat, lon = run[split]["lat"].to_numpy(), run[split]["lon"].to_numpy()
                tiles, shown = geotiles.render_split(lat, lon, one, rng, desc=split)
                if design.masked and split == "train":
                    _mask(
                        tiles, lat, lon, shown, one, run["held_out"], design.radius_km
                    )
                np.save(tmp / f"{split}_tiles.npy", tiles)
                meta = pd.concat([run[split][["lat", "lon"]], shown], axis=1)
                meta.to_csv(tmp / f"{split}_meta.csv", index=False)
    return tuple(
        TileSet(
            pd.read_csv(folder / f"{s}_meta.csv"),
            np.load(folder / f"{s}_tiles.npy"),
            name=f"{folder.name}-{s}",
        )
        for s in ("train", "test")
    )


FOLDS = Design("8 folds: 500-km tiles, 625-km buffer", 500, 250, 625, 8, 6)
CANDIDATES = (
    Design("one model: 500-km tiles, 625-km buffer", 500, 250, 625, 1, 8, val_discs=4),
    FOLDS,
    Design("8 folds: 250-km tiles, 313-km buffer", 250, 250, 313, 8, 6),
    Design(
        "8 folds: 500-km tiles, masked, 700-km discs", 500, 700, 0, 8, 6, masked=True
    ),
    Design(
        "8 folds: 250-km tiles, masked, 450-km discs", 250, 450, 0, 8, 6, masked=True
    ),
)


def table(locs: pd.DataFrame, designs=CANDIDATES, *, seed: int = 0) -> pd.DataFrame:
    """One row per design: what :func:`measure` finds."""
    rows = {d.name: measure(locs, d, seed=seed) for d in designs}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("design")
