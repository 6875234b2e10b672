"""The dataset interface shared by the embedded tiles and real photo collections."""

from __future__ import annotations

import copy
import hashlib

import numpy as np
import pandas as pd
from PIL import Image

from . import shards
from .images import ImageDecodeError, decode_array, decode_image, read_bytes

REQUIRED_COLUMNS = ("lat", "lon")


class ImageSet:
    """Images with one ``meta`` row each; a map-style torch ``Dataset``.

    ``set[i]`` is ``(x, y)``: ``x`` the image through ``transform`` (a PIL image when
    there is none), ``y`` the row's entry of ``targets`` (the index ``i`` when there are
    none), so the same set feeds feature extraction (indices) and training (cell labels,
    coordinates). A transform with ``takes_arrays`` gets an (H, W, 3) uint8 array
    decoded with its ``min_side``.
    """

    def __init__(
        self, meta: pd.DataFrame, transform=None, targets=None, name: str = "images"
    ):
        missing = [c for c in REQUIRED_COLUMNS if c not in meta.columns]
        if missing:
            raise KeyError(
                f"{name}: metadata lacks column(s) {missing}; has {list(meta.columns)}"
            )
        self.meta = meta.reset_index(drop=True)
        self.transform, self.targets, self.name = transform, targets, name
        # what a reader reported of the rows it read: the images it left out
        # ({"id", "path", "reason"}) and the country labels that differ from the country
        # of their coordinates ({"id", "country", "located"}); a subset reports nothing
        # (each row is reported once, by the set that read it)
        self.skipped, self.label_conflicts = [], []

    def __len__(self) -> int:
        return len(self.meta)

    def fingerprint(self) -> str:
        """Identity of the set for cache keys: its name, size and a digest of its
        metadata."""
        cols = [
            c
            for c in ("lat", "lon", "path", "offset", "condition", "rotation", "crop")
            if c in self.meta
        ]
        text = self.meta[cols].to_csv(index=False).encode()
        return f"{self.name}-{len(self)}-{hashlib.sha1(text).hexdigest()[:12]}"

    def load(self, i: int, min_side: int | None = None) -> Image.Image:
        """Image ``i`` (``min_side``: the shorter side a caller needs at least; a hint
        to decoders)."""
        raise NotImplementedError

    def load_array(self, i: int, min_side: int | None = None) -> np.ndarray:
        """Image ``i`` as an (H, W, 3) uint8 array."""
        return np.array(self.load(i, min_side))

    def __getitem__(self, i):
        if getattr(self.transform, "takes_arrays", False):
            img = self.load_array(int(i), self.transform.min_side)
        else:
            img = self.load(int(i))
        x = self.transform(img) if self.transform is not None else img
        y = self.targets[i] if self.targets is not None else i
        return x, y

    def view(self, transform=None, targets=None) -> "ImageSet":
        """The same images with another transform and/or targets (images are not
        copied)."""
        out = copy.copy(self)
        out.transform, out.targets = transform, targets
        if targets is not None and len(targets) != len(self):
            raise ValueError(
                f"{self.name}: {len(targets)} targets for {len(self)} images"
            )
        return out

    def subset(self, index) -> "ImageSet":
        """The rows ``index`` (in that order) with their targets; same transform and
        name."""
        index = np.asarray(index)
        out = copy.copy(self)
        out.meta = self.meta.iloc[index].reset_index(drop=True)
        out.skipped, out.label_conflicts = [], []
        out.targets = None if self.targets is None else np.asarray(self.targets)[index]
        return out

    @property
    def lat(self) -> np.ndarray:
        return self.meta["lat"].to_numpy(dtype=np.float64)

    @property
    def lon(self) -> np.ndarray:
        return self.meta["lon"].to_numpy(dtype=np.float64)


class TileSet(ImageSet):
    """Rendered tiles held in one uint8 array of shape (n, h, w, 3)."""

    def __init__(
        self, meta, tiles: np.ndarray, transform=None, targets=None, name="tiles"
    ):
        super().__init__(meta, transform, targets, name)
        if len(tiles) != len(self.meta):
            raise ValueError(
                f"{name}: {len(tiles)} tiles for {len(self.meta)} metadata rows"
            )
        self.tiles = tiles

    def load(self, i: int, min_side: int | None = None) -> Image.Image:
        return Image.fromarray(np.ascontiguousarray(self.tiles[i]))

    def load_array(self, i: int, min_side: int | None = None) -> np.ndarray:
        return np.array(self.tiles[i])

    def subset(self, index) -> "TileSet":
        out = super().subset(index)
        out.tiles = self.tiles[np.asarray(index)]
        return out


class PhotoSet(ImageSet):
    """Photos on disk: ``meta['path']`` holds each file's path, or, with ``offset`` and
    ``size`` columns, the MessagePack shard holding the image's record
    (:mod:`geosurvey.data.shards`)."""

    def __init__(
        self, meta, transform=None, targets=None, name="photos", max_side: int = 1024
    ):
        super().__init__(meta, transform, targets, name)
        if "path" not in self.meta:
            raise KeyError(f"{name}: metadata lacks the 'path' column")
        self.max_side = max_side

    def encoded(self, i: int):
        """``(bytes of image i's file, a name for errors)``."""
        path = self.meta.at[i, "path"]
        if "offset" not in self.meta:
            return read_bytes(path), path
        offset = int(self.meta.at[i, "offset"])
        data = shards.read_image_bytes(path, offset, int(self.meta.at[i, "size"]))
        return data, f"{path} at byte {offset} ({self.meta.at[i, 'id']})"

    def load(self, i: int, min_side: int | None = None) -> Image.Image:
        return decode_image(*self.encoded(i), self.max_side, min_side=min_side)

    def load_array(self, i: int, min_side: int | None = None) -> np.ndarray:
        return decode_array(*self.encoded(i), self.max_side, min_side=min_side)

    def problem(self, i: int, min_side: int | None = None) -> str | None:
        """Why image ``i`` cannot be used (missing, empty, corrupt, not an image), or
        None when it decodes: decoded as training and ``geosurvey predict`` decode it
        (:meth:`load_array`, same decoder, same ``min_side``), so a file they would
        refuse is refused here, before any training."""
        try:
            self.load_array(i, min_side)
        except ImageDecodeError as exc:
            return exc.reason
        return None


def crop_boxes(n_crops: int, fraction: float = 0.75) -> list:
    """Evenly spaced square crops of ``fraction`` of the shorter side, as (left, top)
    offsets in [0, 1] of the free margin: 1 = centre; 3 = top-left, centre, bottom-right
    (Lo et al.'s three evenly spaced crops); 5 = the four corners and the centre
    (Müller-Budack et al.'s five crops)."""
    boxes = {
        1: [(0.5, 0.5)],
        3: [(0.0, 0.0), (0.5, 0.5), (1.0, 1.0)],
        5: [(0.0, 0.0), (1.0, 0.0), (0.5, 0.5), (0.0, 1.0), (1.0, 1.0)],
    }
    if n_crops not in boxes:
        raise ValueError(f"n_crops must be 1, 3 or 5, not {n_crops}")
    return boxes[n_crops]


class Crops(ImageSet):
    """Test-time crops of another image set: row ``j * n + i`` is crop ``j`` of image
    ``i``, a square of ``fraction`` of its shorter side, resized back to the image's
    size."""

    def __init__(self, base: ImageSet, n_crops: int, fraction: float = 0.75):
        self.base, self.boxes, self.fraction = (
            base,
            crop_boxes(n_crops, fraction),
            fraction,
        )
        meta = pd.concat(
            [base.meta.assign(crop=j) for j in range(n_crops)], ignore_index=True
        )
        super().__init__(meta, name=f"{base.name}-crops{n_crops}")

    def load(self, i: int, min_side: int | None = None) -> Image.Image:
        img = self.base.load(i % len(self.base), min_side)
        fx, fy = self.boxes[i // len(self.base)]
        side = self.fraction * min(img.size)
        left, top = fx * (img.size[0] - side), fy * (img.size[1] - side)
        return img.crop(
            (round(left), round(top), round(left + side), round(top + side))
        ).resize(img.size, Image.Resampling.BILINEAR)

    def subset(self, index):
        raise NotImplementedError("subset the base image set, then crop it")
