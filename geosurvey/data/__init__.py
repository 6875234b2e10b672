"""Data: the embedded GeoTiles set, readers for real photo datasets, and their common
interface.

Every dataset is an :class:`~geosurvey.data.sets.ImageSet`: a ``meta`` table (one row
per image with at least ``lat``, ``lon``, ``country`` and ``continent``) plus a way to
load image ``i``. So a chapter switches between the embedded tiles and OSV-5M, MP-16 or
im2gps photos with one parameter.
"""

from .geotiles import GeoTilesSpec, load_geotiles
from .images import ImageDecodeError, read_image
from .readers import (
    TooManyBadImages,
    read_data_root,
    read_eval_root,
    read_folder,
    read_im2gps,
    read_mp16,
    read_osv5m,
)
from .sets import ImageSet, PhotoSet, TileSet
from .tables import TableError

__all__ = [
    "GeoTilesSpec",
    "load_geotiles",
    "ImageDecodeError",
    "read_image",
    "read_folder",
    "read_im2gps",
    "read_osv5m",
    "read_mp16",
    "read_eval_root",
    "read_data_root",
    "TableError",
    "TooManyBadImages",
    "ImageSet",
    "PhotoSet",
    "TileSet",
]
