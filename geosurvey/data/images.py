"""Robust decoding of real photos: one RGB image out, or an error that names the file.

Handles what real geotagged collections contain: EXIF orientation, grayscale, palette, CMYK,
16-bit and alpha images (composited on white), and very large images (decoded at reduced size
through JPEG draft mode, then thumbnailed). Truncated or corrupt files raise
:class:`ImageDecodeError` with the path, never a silent black image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# A 50k x 50k photo is legitimate in some archives; we never hold it at full size (draft/thumbnail).
Image.MAX_IMAGE_PIXELS = 2_500_000_000


class ImageDecodeError(ValueError):
    """An image file that cannot be decoded; the message starts with its path."""


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        hi = arr.max() or 1.0
        return Image.fromarray((arr / hi * 255).astype(np.uint8)).convert("RGB")
    return img.convert("RGB")  # L, P, CMYK, YCbCr, 1, F ...


def read_image(path, max_side: int | None = 1024) -> Image.Image:
    """Open ``path`` as an upright RGB image no larger than ``max_side`` on its longer side."""
    path = Path(path)
    if not path.exists():
        raise ImageDecodeError(f"{path}: file not found")
    try:
        with Image.open(path) as img:
            if max_side is not None and img.format == "JPEG":
                img.draft("RGB", (max_side, max_side))  # decode at 1/2, 1/4 or 1/8 scale when possible
            img.load()
            img = ImageOps.exif_transpose(img)
            img = _to_rgb(img)
            if max_side is not None and max(img.size) > max_side:
                img.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
            return img
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageDecodeError(f"{path}: cannot decode image ({exc})") from exc
