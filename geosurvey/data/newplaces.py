"""New places: held-out discs whose tiles share little ground with training tiles.

MP-16 locations are dense: a random test location has a training location a few
kilometres away, and a 500 km tile of it shows ground that training tiles show too. A
test drawn that way measures how well a method recognises terrain it was trained on (the
*seen places* regime). The *new places* regime holds out whole discs of the Earth
instead:

1. Disc centres are drawn among photo locations, a fixed number per continent (more
   where photos are), each with enough photos inside ``radius_km`` to fill its
   continent's share.
2. Test discs and validation discs are separate, at least ``2 radius + buffer`` apart,
   so model selection never looks at the ground it is judged on.
3. Every location within ``radius_km + buffer_km`` of a disc centre is kept out of
   training and out of the seen-places splits. With a buffer of the footprint's side at
   the largest scale (500 km x 1.25), a held-out tile and a training tile share at most
   a sliver of ground, and only when rotated (a rotated tile reaches 442 km from its
   centre, so no overlap at all would need 884 km).
4. New-places test locations are drawn from the test discs with the continent mix of the
   seen-places test; validation likewise from the validation discs.

:func:`shared_ground` measures what this buys: the share of a test tile's ground that
some training tile also images, traced through the renderer's footprint geometry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..geo import destination, haversine, km_chord, nearest, to_xyz

TEST_DISCS = (
    ("Europe", 2),
    ("North America", 2),
    ("Asia", 1),
    ("South America", 1),
    ("Oceania", 1),
    ("Africa", 1),
)
VAL_DISCS = (("Europe", 1), ("North America", 1), ("Asia", 1), ("South America", 1))


@dataclass(frozen=True)
class Blocks:
    """Held-out discs: centres, their role (``test`` or ``val``) and continent."""

    lat: np.ndarray
    lon: np.ndarray
    role: np.ndarray
    continent: np.ndarray
    radius_km: float
    buffer_km: float

    def distance(self, lat, lon) -> np.ndarray:
        """(points, discs) great-circle distances in km."""
        return haversine(
            np.asarray(lat)[:, None], np.asarray(lon)[:, None], self.lat, self.lon
        )

    def roles(self, lat, lon) -> np.ndarray:
        """``"test"``/``"val"`` inside a disc, ``"buffer"`` within the buffer,
        ``"pool"`` else."""
        d = self.distance(lat, lon)
        nearest = d.argmin(1)
        inside = d[np.arange(len(d)), nearest] <= self.radius_km
        out = np.where(inside, self.role[nearest], "pool").astype(object)
        out[~inside & (d.min(1) <= self.radius_km + self.buffer_km)] = "buffer"
        return out


def new_ground(meta: pd.DataFrame) -> np.ndarray:
    """The rows of training ``meta`` (each with its ``ground``: :meth:`Blocks.roles`)
    a new-places model trains on: those outside every held-out disc and its buffer."""
    return np.flatnonzero(meta["ground"].to_numpy() == "pool")


def quotas_for(shares: pd.Series, discs, n: int) -> dict:
    """Locations wanted per continent with discs: ``n`` split by the continents'
    shares (largest remainders, so they sum to ``n``)."""
    names = [c for c, _ in discs]
    w = shares.reindex(names).fillna(0.0).to_numpy()
    exact = n * w / w.sum()
    take = np.floor(exact).astype(int)
    take[np.argsort(take - exact)[: n - take.sum()]] += 1  # largest remainders
    return dict(zip(names, take.tolist()))


def _far_enough(c, chosen, lat, lon, role, *, radius_km, buffer_km) -> bool:
    for other, other_role in chosen:
        gap = 2 * radius_km + (buffer_km if other_role != role else 0.0)
        if haversine(lat[c], lon[c], lat[other], lon[other]) < gap:
            return False
    return True


def _candidates(cont, counts, continent: str, need: float) -> np.ndarray:
    """Locations of ``continent`` whose disc holds ``need`` photos (else its densest
    ones)."""
    pool = np.flatnonzero((cont == continent) & (counts >= need))
    if len(pool) == 0:
        pool = np.flatnonzero(cont == continent)
        pool = pool[counts[pool] == counts[pool].max()]
    return pool


def _place(pool, k: int, chosen: list, role: str, fits) -> None:
    """Add the first ``k`` locations of ``pool`` that ``fits(location, role)`` to
    ``chosen``."""
    placed = 0
    for c in pool:
        if placed == k:
            break
        if fits(c, role):
            chosen.append((c, role))
            placed += 1


def choose_blocks(
    locs: pd.DataFrame,
    *,
    n_test: int,
    n_val: int,
    seed: int,
    radius_km: float = 250.0,
    buffer_km: float = 625.0,
    test_discs=TEST_DISCS,
    val_discs=VAL_DISCS,
) -> Blocks:
    """Disc centres for the new-places test and validation splits (see the module doc).

    ``locs`` holds every candidate location (``lat``, ``lon``, ``continent``). A centre
    qualifies when its disc holds at least 1.5 times its share of the continent's quota,
    so that a split rarely runs short; centres are drawn at random among qualifying
    locations.
    """
    lat, lon, cont = (
        locs["lat"].to_numpy(),
        locs["lon"].to_numpy(),
        locs["continent"].to_numpy(),
    )
    xyz = to_xyz(lat, lon)
    counts = cKDTree(xyz).query_ball_point(xyz, km_chord(radius_km), return_length=True)
    shares = pd.Series(cont).value_counts(normalize=True)
    rng, chosen = np.random.default_rng([seed, 11]), []
    for role, discs, n in (("test", test_discs, n_test), ("val", val_discs, n_val)):
        wanted = quotas_for(shares, discs, n)
        for continent, k in discs:
            pool = rng.permutation(
                _candidates(cont, counts, continent, 1.5 * wanted[continent] / k)
            )
            _place(
                pool,
                k,
                chosen,
                role,
                lambda c, r: _far_enough(
                    c, chosen, lat, lon, r, radius_km=radius_km, buffer_km=buffer_km
                ),
            )
    idx = np.array([c for c, _ in chosen])
    roles = np.array([r for _, r in chosen], dtype=object)
    return Blocks(lat[idx], lon[idx], roles, cont[idx], radius_km, buffer_km)


def draw(
    locs: pd.DataFrame, candidates: np.ndarray, quotas: dict, seed: int
) -> np.ndarray:
    """Row indices drawn from ``candidates`` with ``quotas`` per continent; a continent
    short of candidates gives its deficit to the others in proportion to their quotas.
    """
    rng = np.random.default_rng([seed, 12])
    cont = locs["continent"].to_numpy()
    by = {c: rng.permutation(candidates[cont[candidates] == c]) for c in quotas}
    take = {c: min(q, len(by[c])) for c, q in quotas.items()}
    deficit = sum(quotas.values()) - sum(take.values())
    while deficit > 0:
        room = {c: len(by[c]) - take[c] for c in quotas if len(by[c]) > take[c]}
        if not room:
            break
        c = max(room, key=lambda c: (quotas[c] - take[c] + room[c], c))
        take[c] += 1
        deficit -= 1
    return np.sort(np.concatenate([by[c][: take[c]] for c in quotas]).astype(int))


def footprint(lat, lon, rotation, scale, *, extent_km: float, grid: int = 12):
    """(lat, lon) arrays (tiles, grid * grid) of points evenly covering each tile's
    ground, in the renderer's own frame (rotation in degrees, scale as drawn)."""
    offs = (np.arange(grid) + 0.5) / grid * extent_km - extent_km / 2
    east, north = np.meshgrid(offs, -offs)
    dist = np.hypot(east, north).ravel()[None] * np.asarray(scale)[:, None]
    bearing = (
        np.degrees(np.arctan2(east, north)).ravel()[None]
        + np.asarray(rotation)[:, None]
    )
    return destination(
        np.asarray(lat)[:, None], np.asarray(lon)[:, None], bearing, dist
    )


def _bearing(lat1, lon1, lat2, lon2):
    p1, p2, dl = np.radians(lat1), np.radians(lat2), np.radians(lon2 - lon1)
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.degrees(np.arctan2(y, x))


def _inside(tiles: pd.DataFrame, j, lat, lon, extent_km: float) -> np.ndarray:
    """Whether point k lies on the ground of tile ``j[k]`` (the renderer's inverse
    mapping)."""
    tlat, tlon = tiles["lat"].to_numpy()[j], tiles["lon"].to_numpy()[j]
    local = np.radians(_bearing(tlat, tlon, lat, lon) - tiles["rotation"].to_numpy()[j])
    dist = haversine(tlat, tlon, lat, lon) / tiles["scale"].to_numpy()[j]
    half = extent_km / 2
    return (np.abs(dist * np.sin(local)) <= half) & (
        np.abs(dist * np.cos(local)) <= half
    )


def reach_km(extent_km: float, max_scale: float) -> float:
    """How far from its centre a tile's ground reaches: half its diagonal at its largest
    scale (a tile rotated to any angle stays within it)."""
    return extent_km / 2 * max_scale * np.sqrt(2)


def _pairs(train: pd.DataFrame, lat, lon, reach_km: float):
    """(point, training tile) index pairs of every point and every tile centre within
    ``reach_km`` of it: the tiles whose ground the point may lie on."""
    tree = cKDTree(to_xyz(train["lat"].to_numpy(), train["lon"].to_numpy()))
    near = tree.query_ball_point(to_xyz(lat, lon), km_chord(reach_km))
    sizes = np.array([len(n) for n in near], dtype=int)
    point = np.repeat(np.arange(len(lat)), sizes)
    return point, np.concatenate(
        [np.asarray(n, int) for n in near]
    ) if sizes.sum() else point


def _unmasked(lat, lon, masked) -> np.ndarray:
    """Indices of the points outside every disc of ``masked`` (``(lat, lon,
    radius_km)``, or None: all points)."""
    if masked is None:
        return np.arange(len(lat))
    mlat, mlon, radius = masked
    d = haversine(lat[:, None], lon[:, None], np.asarray(mlat), np.asarray(mlon))
    return np.flatnonzero(d.min(1) > radius)


def shared_ground(
    test: pd.DataFrame,
    train: pd.DataFrame,
    *,
    extent_km: float,
    max_scale: float,
    grid: int = 12,
    masked=None,
    chunk: int = 2_000_000,
) -> np.ndarray:
    """Share of each test tile's ground that at least one training tile also images.

    Both tables need ``lat``, ``lon``, ``rotation`` and ``scale`` (the render
    parameters). Each test tile is sampled on a ``grid`` x ``grid`` lattice; a sample
    point counts when it falls inside a training tile's square footprint. ``masked``:
    ``(lat, lon, radius_km)`` of discs whose ground training tiles mask, so that no
    sample point inside them counts.
    """
    plat, plon = footprint(
        test["lat"],
        test["lon"],
        test["rotation"],
        test["scale"],
        extent_km=extent_km,
        grid=grid,
    )
    shape, plat, plon = plat.shape, plat.ravel(), plon.ravel()
    shown = _unmasked(plat, plon, masked)  # the points training tiles may image
    point, tile = _pairs(
        train, plat[shown], plon[shown], reach_km(extent_km, max_scale)
    )
    point = shown[point]
    covered = np.zeros(len(plat), bool)
    for s in range(0, len(point), chunk):
        p, t = point[s : s + chunk], tile[s : s + chunk]
        covered[p[_inside(train, t, plat[p], plon[p], extent_km)]] = True
    return covered.reshape(shape).mean(1)


def corners(lat, lon, rotation, scale, *, extent_km: float):
    """(lat, lon) arrays (tiles, 5) of each tile's corners, the first repeated (to draw
    it)."""
    half = extent_km / 2
    east, north = (
        np.array([-half, half, half, -half, -half]),
        np.array([half, half, -half, -half, half]),
    )
    dist = np.hypot(east, north)[None] * np.asarray(scale)[:, None]
    bearing = np.degrees(np.arctan2(east, north))[None] + np.asarray(rotation)[:, None]
    return destination(
        np.asarray(lat)[:, None], np.asarray(lon)[:, None], bearing, dist
    )


def overview(
    splits: dict,
    tests=("test", "test_new"),
    *,
    extent_km: float,
    max_scale: float,
    sample: int = 200,
    seed: int = 0,
    train_of: dict | None = None,
    draw: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """What each test split measures: its size, the share of a test tile's ground that
    the tiles of its training split (``train_of[test]``, default ``train``) also image
    (on ``sample`` tiles; only for rendered tiles), the distance to the nearest
    training location and the continent mix (:func:`mix`), beside the mix of the
    ``draw`` of locations the splits come from, when given."""
    rows = {}
    for name in tests:
        train = splits[(train_of or {}).get(name, "train")].meta
        meta = splits[name].meta
        row = {"images": len(meta)}
        if {"rotation", "scale"} <= set(meta) and len(meta):
            sub = meta.sample(min(sample, len(meta)), random_state=seed)
            share = 100 * shared_ground(
                sub, train, extent_km=extent_km, max_scale=max_scale
            )
            row.update(
                {
                    "ground shared, median %": np.median(share),
                    "ground shared, mean %": share.mean(),
                    "tiles sharing any ground %": 100 * np.mean(share > 0),
                }
            )
        d, _ = nearest(meta["lat"], meta["lon"], train["lat"], train["lon"])
        row["nearest training km (median)"] = np.median(d) if len(d) else np.nan
        rows[name] = {**row, **mix(meta)}
    if draw is not None:
        rows["whole draw"] = mix(draw)
    return pd.DataFrame.from_dict(rows, orient="index")


# the continental-European core, where the photos of Europe crowd
CORE = ("DE", "FR", "NL", "BE", "CH", "AT", "PL")


def mix(meta: pd.DataFrame) -> dict:
    """Share (%) of ``meta``'s locations in Europe, North America, Asia, elsewhere, and
    in the continental-European core (:data:`CORE`)."""
    share = meta["continent"].value_counts(normalize=True) * 100
    big = ("Europe", "North America", "Asia")
    out = {f"{c} %": share.get(c, 0.0) for c in big}
    out["elsewhere %"] = 100 - sum(out.values())
    if "country" in meta:
        out["DE FR NL BE CH AT PL %"] = 100 * meta["country"].isin(CORE).mean()
    return out
