"""S2 cell ids for millions of points at once, in numpy.

S2 projects the sphere onto the six faces of a cube, warps each face with a quadratic
map so that cells have similar areas, and orders the cells of each face along a Hilbert
curve; a cell id is a 64-bit integer whose high bits are the face and the Hilbert
position and whose lowest set bit marks the level. The reference implementations convert
one point at a time; here every step (face projection, the quadratic map, the Hilbert
lookup four bits at a time) is an array operation, so 1 M points take well under a
second. ``tests/test_s2.py`` checks the ids against ``s2sphere``.
"""

from __future__ import annotations

import numpy as np

from .geo import from_xyz, to_xyz

MAX_LEVEL = 30
_POS_BITS = 2 * MAX_LEVEL + 1
_MAX_SIZE = 1 << MAX_LEVEL
_LOOKUP_BITS = 4
_SWAP, _INVERT = 1, 2
_POS_TO_IJ = ((0, 1, 3, 2), (0, 2, 3, 1), (3, 2, 0, 1), (3, 1, 0, 2))
_POS_TO_ORIENTATION = (_SWAP, 0, 0, _INVERT | _SWAP)
U64 = np.uint64


def _build_lookup():
    size = 1 << (2 * _LOOKUP_BITS + 2)
    lookup_pos = np.zeros(size, dtype=np.int64)
    lookup_ij = np.zeros(size, dtype=np.int64)

    def visit(level, i, j, orig, pos, orientation):
        if level == _LOOKUP_BITS:
            ij = (i << _LOOKUP_BITS) + j
            lookup_pos[(ij << 2) + orig] = (pos << 2) + orientation
            lookup_ij[(pos << 2) + orig] = (ij << 2) + orientation
            return
        r = _POS_TO_IJ[orientation]
        for index in range(4):
            visit(
                level + 1,
                (i << 1) + (r[index] >> 1),
                (j << 1) + (r[index] & 1),
                orig,
                (pos << 2) + index,
                orientation ^ _POS_TO_ORIENTATION[index],
            )

    for orientation in range(4):
        visit(0, 0, 0, orientation, 0, orientation)
    return lookup_pos, lookup_ij


_LOOKUP_POS, _LOOKUP_IJ = _build_lookup()


# --- projections ----------------------------------------------------------------------


def _xyz_to_face_uv(xyz):
    x, y, z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    # the largest |component| picks the face; on a tie the later axis wins, as in S2's
    # LargestAbsComponent (argmax alone would give the tie to the earlier axis)
    axis = 2 - np.abs(xyz)[:, ::-1].argmax(axis=1)
    negative = xyz[np.arange(len(xyz)), axis] < 0
    face = axis + 3 * negative
    u = np.empty(len(xyz))
    v = np.empty(len(xyz))
    # (u, v) per face, as in S2's FaceXYZtoUV
    formulas = {
        0: (lambda: y / x, lambda: z / x),
        1: (lambda: -x / y, lambda: z / y),
        2: (lambda: -x / z, lambda: -y / z),
        3: (lambda: z / x, lambda: y / x),
        4: (lambda: z / y, lambda: -x / y),
        5: (lambda: -y / z, lambda: -x / z),
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        for f, (fu, fv) in formulas.items():
            m = face == f
            if m.any():
                u[m], v[m] = fu()[m], fv()[m]
    return face, u, v


def _face_uv_to_xyz(face, u, v):
    one = np.ones_like(u)
    table = [
        (one, u, v),
        (-u, one, v),
        (-u, -v, one),
        (-one, -v, -u),
        (v, -one, -u),
        (v, u, -one),
    ]
    out = np.empty(face.shape + (3,))
    for f, comps in enumerate(table):
        m = face == f
        if m.any():
            out[m] = np.stack([c[m] for c in comps], axis=-1)
    return out


def _uv_to_st(u):
    return np.where(
        u >= 0,
        0.5 * np.sqrt(np.maximum(1 + 3 * u, 0)),
        1 - 0.5 * np.sqrt(np.maximum(1 - 3 * u, 0)),
    )


def _st_to_uv(s):
    return np.where(s >= 0.5, (4 * s * s - 1) / 3, (1 - 4 * (1 - s) ** 2) / 3)


def _st_to_ij(s):
    return np.clip(np.floor(_MAX_SIZE * s), 0, _MAX_SIZE - 1).astype(np.int64)


# --- ids ------------------------------------------------------------------------------


def _face_ij_to_id(face, i, j):
    n = face.astype(np.uint64) << U64(_POS_BITS - 1)
    bits = (face & _SWAP).astype(np.int64)
    mask = (1 << _LOOKUP_BITS) - 1
    for k in range(7, -1, -1):
        bits = bits + (((i >> (k * _LOOKUP_BITS)) & mask) << (_LOOKUP_BITS + 2))
        bits = bits + (((j >> (k * _LOOKUP_BITS)) & mask) << 2)
        bits = _LOOKUP_POS[bits]
        n |= (bits >> 2).astype(np.uint64) << U64(k * 2 * _LOOKUP_BITS)
        bits = bits & (_SWAP | _INVERT)
    return n * U64(2) + U64(1)


def leaf_ids(lat, lon) -> np.ndarray:
    """Level-30 (leaf, ~1 cm) S2 cell ids of points in degrees, as uint64."""
    xyz = to_xyz(np.atleast_1d(lat), np.atleast_1d(lon)).reshape(-1, 3)
    face, u, v = _xyz_to_face_uv(xyz)
    return _face_ij_to_id(face, _st_to_ij(_uv_to_st(u)), _st_to_ij(_uv_to_st(v)))


def parent(ids, level) -> np.ndarray:
    """Ancestors of ``ids`` at ``level`` (which must not exceed their own level)."""
    ids = np.asarray(ids, dtype=np.uint64)
    lsb = U64(1) << (U64(2) * (U64(MAX_LEVEL) - np.asarray(level, U64)))  # lowest bit
    return (ids & (~lsb + U64(1))) | lsb


def cell_ids(lat, lon, level: int) -> np.ndarray:
    """S2 cell ids at ``level`` (0 = cube faces, 30 = leaves) of points in degrees."""
    return parent(leaf_ids(lat, lon), level)


def level_of(ids) -> np.ndarray:
    """Level of each id, from the position of its lowest set bit."""
    ids = np.asarray(ids, dtype=np.uint64)
    lsb = ids & (~ids + U64(1))
    return (
        MAX_LEVEL - np.log2(lsb.astype(np.float64)).round().astype(np.int64) // 2
    ).astype(np.int64)


def leaf_range(ids) -> tuple:
    """The first and the last leaf id under each cell of ``ids``."""
    ids = np.asarray(ids, dtype=np.uint64)
    half = (ids & (~ids + U64(1))) - U64(1)  # the lowest set bit, less one
    return ids - half, ids + half


def to_token(ids) -> list[str]:
    """S2 tokens (hex without trailing zeros), the compact form used in files and
    URLs."""
    return [format(int(c), "016x").rstrip("0") or "X" for c in np.atleast_1d(ids)]


def _id_to_face_ij(ids):
    ids = np.asarray(ids, dtype=np.uint64)
    face = (ids >> U64(_POS_BITS)).astype(np.int64)
    bits = face & _SWAP
    i = np.zeros(len(ids), dtype=np.int64)
    j = np.zeros(len(ids), dtype=np.int64)
    nbits = MAX_LEVEL - 7 * _LOOKUP_BITS
    for k in range(7, -1, -1):
        chunk = (
            (ids >> U64(k * 2 * _LOOKUP_BITS + 1)) & U64((1 << (2 * nbits)) - 1)
        ).astype(np.int64)
        bits = _LOOKUP_IJ[bits + (chunk << 2)]
        i += (bits >> (_LOOKUP_BITS + 2)) << (k * _LOOKUP_BITS)
        j += ((bits >> 2) & ((1 << _LOOKUP_BITS) - 1)) << (k * _LOOKUP_BITS)
        bits = bits & (_SWAP | _INVERT)
        nbits = _LOOKUP_BITS
    return face, i, j


def _cell_st_bounds(ids):
    ids = np.atleast_1d(np.asarray(ids, dtype=np.uint64))
    face, i, j = _id_to_face_ij(ids)
    size = (1 << (MAX_LEVEL - level_of(ids))).astype(np.int64)
    i0, j0 = i & ~(size - 1), j & ~(size - 1)
    return face, i0 / _MAX_SIZE, j0 / _MAX_SIZE, size / _MAX_SIZE


def cell_center(ids):
    """Geometric centre (lat, lon) of each cell: the midpoint of its (s, t) square on
    the face."""
    face, s0, t0, ds = _cell_st_bounds(ids)
    xyz = _face_uv_to_xyz(face, _st_to_uv(s0 + ds / 2), _st_to_uv(t0 + ds / 2))
    return from_xyz(xyz)


def cell_polygons(ids, points_per_edge: int = 8):
    """Boundary (lat, lon) arrays of shape (n_cells, 4 * points_per_edge + 1) for
    drawing.

    Cell edges are straight lines in (u, v), which are great circles on the sphere, so
    sampling each edge in (u, v) gives the exact outline at any resolution.
    """
    face, s0, t0, ds = _cell_st_bounds(ids)
    u0, u1 = _st_to_uv(s0), _st_to_uv(s0 + ds)
    v0, v1 = _st_to_uv(t0), _st_to_uv(t0 + ds)
    w = np.linspace(0.0, 1.0, points_per_edge, endpoint=False)[None, :]
    lerp = lambda a, b: a[:, None] + (b - a)[:, None] * w  # noqa: E731
    full = lambda a: np.broadcast_to(a[:, None], (len(a), points_per_edge))  # noqa: E731
    us = np.concatenate(
        [lerp(u0, u1), full(u1), lerp(u1, u0), full(u0), u0[:, None]], axis=1
    )
    vs = np.concatenate(
        [full(v0), lerp(v0, v1), full(v1), lerp(v1, v0), v0[:, None]], axis=1
    )
    xyz = _face_uv_to_xyz(np.broadcast_to(face[:, None], us.shape), us, vs)
    return from_xyz(xyz)
