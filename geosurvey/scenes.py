"""Scene context for scene-aware geolocation (Lo et al.; Müller-Budack et al. 2018).

A scene is described at three levels, fine -> middle -> coarse, and a fine class that
belongs to two groups splits its probability between them (Lo et al., "handling
overlapping categories"): the group probabilities are the fine probabilities times a
row-normalised membership matrix.

GeoTiles are seen from orbit, so their scene comes from independent land-cover data: the
MODIS IGBP classes over the tile's footprint (their shares are the fine
"probabilities"). At 8 km per pixel a 500 km tile is almost never mostly city, so the
man-made coarse scene is *land use*: cropland and built-up land (the human footprint
that shows from orbit), with the cropland/natural mosaic split between man-made and
natural. Photos get Places365 scenes (:mod:`geosurvey.places365`);
:func:`geosurvey.chapters.scene_networks.scene_labels` picks one or the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import geography
from .geo import destination

# IGBP class -> middle groups it belongs to (several = its share is split evenly).
LAND_MIDDLE = (
    "forest",
    "shrub and savanna",
    "grassland",
    "cropland",
    "built-up",
    "water and wetland",
    "snow, ice and barren",
)
_IGBP_TO_MIDDLE = {
    "water": ("water and wetland",),
    "evergreen needleleaf forest": ("forest",),
    "evergreen broadleaf forest": ("forest",),
    "deciduous needleleaf forest": ("forest",),
    "deciduous broadleaf forest": ("forest",),
    "mixed forest": ("forest",),
    "closed shrubland": ("shrub and savanna",),
    "open shrubland": ("shrub and savanna",),
    "woody savanna": ("shrub and savanna",),
    "savanna": ("shrub and savanna",),
    "grassland": ("grassland",),
    "permanent wetland": ("water and wetland",),
    "cropland": ("cropland",),
    "urban and built-up": ("built-up",),
    "cropland/natural mosaic": ("cropland", "grassland"),
    "snow and ice": ("snow, ice and barren",),
    "barren": ("snow, ice and barren",),
}
LAND_COARSE = ("natural", "man-made", "water and ice")
_IGBP_TO_COARSE = {c: ("natural",) for c in geography.IGBP}
_IGBP_TO_COARSE.update(
    {
        "water": ("water and ice",),
        "snow and ice": ("water and ice",),
        "permanent wetland": ("natural", "water and ice"),
        "cropland": ("man-made",),
        "urban and built-up": ("man-made",),
        "cropland/natural mosaic": ("man-made", "natural"),
    }
)


def membership(members: dict, rows, columns) -> np.ndarray:
    """Row-normalised (rows x columns) matrix: a row split evenly over the columns it
    belongs to."""
    m = np.zeros((len(rows), len(columns)))
    for i, r in enumerate(rows):
        for c in members[r]:
            m[i, columns.index(c)] = 1.0
    return m / m.sum(1, keepdims=True)


@dataclass
class SceneHierarchy:
    """Fine classes, middle and coarse groups, and the (overlap-splitting) maps from
    fine to both."""

    fine: tuple
    middle: tuple
    coarse: tuple
    fine_to_middle: np.ndarray
    fine_to_coarse: np.ndarray

    def probabilities(self, fine_probs) -> dict:
        """``{"fine", "middle", "coarse"}`` probabilities from fine ones (rows sum to
        one)."""
        fine_probs = np.asarray(fine_probs, np.float64)
        return {
            "fine": fine_probs,
            "middle": fine_probs @ self.fine_to_middle,
            "coarse": fine_probs @ self.fine_to_coarse,
        }

    def labels(self, fine_probs) -> dict:
        """The most probable class at each level, as names."""
        return {
            level: np.asarray(getattr(self, level), dtype=object)[p.argmax(1)]
            for level, p in self.probabilities(fine_probs).items()
        }


LAND = SceneHierarchy(
    geography.IGBP,
    LAND_MIDDLE,
    LAND_COARSE,
    membership(_IGBP_TO_MIDDLE, geography.IGBP, LAND_MIDDLE),
    membership(_IGBP_TO_COARSE, geography.IGBP, LAND_COARSE),
)


def land_cover_shares(lat, lon, extent_km: float = 500.0, grid: int = 16) -> np.ndarray:
    """(n, 17) share of each IGBP class over the square footprint of ``extent_km``
    around each point, sampled on a ``grid`` x ``grid`` lattice in the same local frame
    the tiles are drawn in."""
    lat, lon = np.asarray(lat, np.float64), np.asarray(lon, np.float64)
    offs = (np.arange(grid) + 0.5) / grid * extent_km - extent_km / 2
    east, north = np.meshgrid(offs, offs)
    bearing = np.degrees(np.arctan2(east, north)).ravel()
    dist = np.hypot(east, north).ravel()
    plat, plon = destination(lat[:, None], lon[:, None], bearing[None], dist[None])
    classes = geography.land_cover(plat.ravel(), plon.ravel()).reshape(len(lat), -1)
    shares = np.zeros((len(lat), len(geography.IGBP)))
    np.add.at(
        shares, (np.repeat(np.arange(len(lat)), classes.shape[1]), classes.ravel()), 1.0
    )
    return shares / classes.shape[1]


def route(scene_probs, outputs) -> np.ndarray:
    """Context-specific inference: every row gets the output of the network of its most
    probable scene. ``outputs[s]`` holds network ``s``'s outputs (n, ...) for every row.
    """
    choice = np.asarray(scene_probs).argmax(1)
    return np.stack(outputs)[choice, np.arange(len(choice))]
