"""Geodesy on the sphere: distances, GeoScore, 3-D means and coordinate validation.

One convention for the whole book (see the metrics chapter): haversine distance on a
sphere of the mean Earth radius R = 6371.0088 km. Everything here is vectorised and
broadcasts like numpy.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

EARTH_RADIUS_KM = 6371.0088
GEOSCORE_SCALE_KM = 1492.7


def haversine(lat1, lon1, lat2, lon2):
    """Great-circle distance in km between points given in degrees (numpy,
    broadcasting)."""
    lat1, lon1, lat2, lon2 = (
        np.radians(np.asarray(a, dtype=np.float64)) for a in (lat1, lon1, lat2, lon2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def haversine_torch(lat1, lon1, lat2, lon2):
    """Great-circle distance in km for torch tensors in degrees (differentiable,
    broadcasting), in the inputs' dtype.

    With dphi, dlam the differences and sphi the sum of the latitudes, the haversine
    ``a`` and its complement ``1 - a`` are each a sum of two non-negative terms,

        a     = sin^2(dphi/2) cos^2(dlam/2) + cos^2(sphi/2) sin^2(dlam/2)
        1 - a = cos^2(dphi/2) cos^2(dlam/2) + sin^2(sphi/2) sin^2(dlam/2),

    so neither loses digits to a cancellation, and the distance is ``2R atan2(sqrt(a),
    sqrt(1 - a))``, computed in float64: exact from 0 m (no floor) up to the antipode,
    and a float32 answer is the float64 one rounded. Where ``a`` or ``1 - a`` is exactly
    0 (identical or antipodal points, where the distance has a kink) the gradient
    through its square root is taken as 0 instead of infinite.
    """
    import torch

    dtype = torch.result_type(lat1, lat2)
    lat1, lon1, lat2, lon2 = (
        torch.deg2rad(torch.as_tensor(t, dtype=torch.float64))
        for t in (lat1, lon1, lat2, lon2)
    )
    sin_p, cos_p = torch.sin((lat2 - lat1) / 2) ** 2, torch.cos((lat2 - lat1) / 2) ** 2
    sin_l, cos_l = torch.sin((lon2 - lon1) / 2) ** 2, torch.cos((lon2 - lon1) / 2) ** 2
    sin_s, cos_s = torch.sin((lat1 + lat2) / 2) ** 2, torch.cos((lat1 + lat2) / 2) ** 2
    a = sin_p * cos_l + cos_s * sin_l
    b = cos_p * cos_l + sin_s * sin_l
    d = 2 * EARTH_RADIUS_KM * torch.atan2(safe_sqrt(a), safe_sqrt(b))
    return d.to(dtype if dtype.is_floating_point else torch.float32)


def safe_sqrt(x, eps: float = 0.0):
    """sqrt(x) with value 0 and gradient 0 at x <= eps (not an infinite gradient at
    0)."""
    import torch

    positive = x > eps
    return torch.where(
        positive,
        torch.sqrt(torch.where(positive, x, torch.ones_like(x))),
        torch.zeros_like(x),
    )


def geoscore(distance_km):
    """GeoGuessr-style score of one guess: 5000 at 0 km, halving about every 1035 km."""
    return 5000.0 * np.exp(
        -np.asarray(distance_km, dtype=np.float64) / GEOSCORE_SCALE_KM
    )


def to_xyz(lat, lon):
    """Unit vectors (..., 3) for coordinates in degrees."""
    lat, lon = (
        np.radians(np.asarray(lat, dtype=np.float64)),
        np.radians(np.asarray(lon, dtype=np.float64)),
    )
    cl = np.cos(lat)
    return np.stack([cl * np.cos(lon), cl * np.sin(lon), np.sin(lat)], axis=-1)


def from_xyz(xyz):
    """(lat, lon) in degrees of vectors (..., 3); they need not be unit length."""
    xyz = np.asarray(xyz, dtype=np.float64)
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    return np.degrees(np.arctan2(z, np.hypot(x, y))), np.degrees(np.arctan2(y, x))


def spherical_mean(lat, lon, weights=None, axis=-1):
    """Weighted mean position on the sphere: average the 3-D unit vectors, project back.

    Averaging longitudes directly fails across the antimeridian (the mean of 179 and
    -179 is 0); the 3-D mean does not. ``axis`` is the axis of ``lat``/``lon`` to
    average over.
    """
    xyz = to_xyz(lat, lon)
    if weights is None:
        mean = xyz.mean(axis=axis if axis >= 0 else axis - 1)
    else:
        w = np.asarray(weights, dtype=np.float64)[..., None]
        mean = (xyz * w).sum(axis=axis if axis >= 0 else axis - 1)
    return from_xyz(mean)


def destination(lat, lon, bearing_deg, distance_km):
    """Point reached from (lat, lon) after ``distance_km`` along the initial bearing
    (degrees)."""
    lat1, lon1 = np.radians(lat), np.radians(lon)
    theta = np.radians(bearing_deg)
    delta = np.asarray(distance_km, dtype=np.float64) / EARTH_RADIUS_KM
    sin_lat2 = np.sin(lat1) * np.cos(delta) + np.cos(lat1) * np.sin(delta) * np.cos(
        theta
    )
    lat2 = np.arcsin(np.clip(sin_lat2, -1.0, 1.0))
    lon2 = lon1 + np.arctan2(
        np.sin(theta) * np.sin(delta) * np.cos(lat1),
        np.cos(delta) - np.sin(lat1) * sin_lat2,
    )
    return np.degrees(lat2), (np.degrees(lon2) + 180.0) % 360.0 - 180.0


class CoordinateError(ValueError):
    """Coordinates that are missing, out of range or look swapped; the message names the
    rows."""


def _rows(mask, row_labels, limit=8):
    idx = np.flatnonzero(mask)
    shown = idx[:limit].tolist()
    labels = shown if row_labels is None else [row_labels[i] for i in shown]
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return f"{labels}{more}"


def validate_coordinates(lat, lon, source: str = "coordinates", row_labels=None):
    """Return float64 (lat, lon) or raise :class:`CoordinateError` naming the bad rows.

    Checks NaN/inf, latitude in [-90, 90], longitude in [-180, 180], and recognises the
    common mistake of swapped columns (latitudes beyond 90 while every longitude fits
    within 90).
    """
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    if lat.shape != lon.shape:
        raise CoordinateError(
            f"{source}: latitude and longitude differ in shape "
            f"{lat.shape} vs {lon.shape}"
        )
    for bad, what in (
        (~np.isfinite(lat) | ~np.isfinite(lon), "missing or non-finite coordinates"),
        (np.abs(lat) > 90, "latitude outside [-90, 90]"),
        (np.abs(lon) > 180, "longitude outside [-180, 180]"),
    ):
        if bad.any():
            swapped = what.startswith("latitude") and np.all(np.abs(lon) <= 90)
            hint = (
                " (every longitude is within +-90 and some latitudes are not: are the "
                "columns swapped?)" * bool(swapped)
            )
            raise CoordinateError(
                f"{source}: {what} in rows {_rows(bad, row_labels)}{hint}"
            )
    return lat, lon


def chord_km(chord):
    """Great-circle distance (km) of a chord between unit vectors (what k-d trees on
    them return)."""
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(np.asarray(chord) / 2, 0.0, 1.0))


def km_chord(km):
    """The chord between unit vectors ``km`` apart on the sphere (the inverse of
    :func:`chord_km`): the radius a k-d tree on them needs."""
    return 2 * np.sin(np.asarray(km) / 2 / EARTH_RADIUS_KM)


def nearest(lat, lon, ref_lat, ref_lon):
    """For every point, the great-circle distance (km) to its nearest reference point
    and that point's index (a k-d tree on 3-D unit vectors: chord order is great-circle
    order)."""
    chord, idx = cKDTree(to_xyz(ref_lat, ref_lon)).query(to_xyz(lat, lon))
    return chord_km(chord), idx


def nearest_other(lat, lon):
    """For every point, the distance (km) to the nearest *other* point of the same set
    and its index."""
    xyz = to_xyz(lat, lon)
    chord, idx = cKDTree(xyz).query(xyz, k=2)
    return chord_km(chord[:, 1]), idx[:, 1]
