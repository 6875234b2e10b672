"""The dataset interface shared by the embedded tiles and real photo collections."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
from PIL import Image

from .images import read_image

REQUIRED_COLUMNS = ("lat", "lon")


class ImageSet:
    """Images with one ``meta`` row each; a map-style torch ``Dataset``.

    ``set[i]`` is ``(x, y)``: ``x`` the image through ``transform`` (a PIL image when there is
    none), ``y`` the row's entry of ``targets`` (the index ``i`` when there are none), so the
    same set feeds feature extraction (indices) and training (cell labels, coordinates).
    """

    def __init__(self, meta: pd.DataFrame, transform=None, targets=None, name: str = "images"):
        missing = [c for c in REQUIRED_COLUMNS if c not in meta.columns]
        if missing:
            raise KeyError(f"{name}: metadata lacks column(s) {missing}; has {list(meta.columns)}")
        self.meta = meta.reset_index(drop=True)
        self.transform, self.targets, self.name = transform, targets, name

    def __len__(self) -> int:
        return len(self.meta)

    def load(self, i: int) -> Image.Image:
        raise NotImplementedError

    def __getitem__(self, i):
        img = self.load(int(i))
        x = self.transform(img) if self.transform is not None else img
        y = self.targets[i] if self.targets is not None else i
        return x, y

    def view(self, transform=None, targets=None) -> "ImageSet":
        """The same images with another transform and/or targets (images are not copied)."""
        out = copy.copy(self)
        out.transform, out.targets = transform, targets
        if targets is not None and len(targets) != len(self):
            raise ValueError(f"{self.name}: {len(targets)} targets for {len(self)} images")
        return out

    def subset(self, index) -> "ImageSet":
        """The rows ``index`` (in that order) with their targets; same transform and name."""
        index = np.asarray(index)
        out = copy.copy(self)
        out.meta = self.meta.iloc[index].reset_index(drop=True)
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

    def __init__(self, meta, tiles: np.ndarray, transform=None, targets=None, name="tiles"):
        super().__init__(meta, transform, targets, name)
        if len(tiles) != len(self.meta):
            raise ValueError(f"{name}: {len(tiles)} tiles for {len(self.meta)} metadata rows")
        self.tiles = tiles

    def load(self, i: int) -> Image.Image:
        return Image.fromarray(np.ascontiguousarray(self.tiles[i]))

    def subset(self, index) -> "TileSet":
        out = super().subset(index)
        out.tiles = self.tiles[np.asarray(index)]
        return out


class PhotoSet(ImageSet):
    """Photos on disk; ``meta['path']`` holds each file's path."""

    def __init__(self, meta, transform=None, targets=None, name="photos", max_side: int = 1024):
        super().__init__(meta, transform, targets, name)
        if "path" not in self.meta:
            raise KeyError(f"{name}: metadata lacks the 'path' column")
        self.max_side = max_side

    def load(self, i: int) -> Image.Image:
        return read_image(self.meta.at[i, "path"], self.max_side)
