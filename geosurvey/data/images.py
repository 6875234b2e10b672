"""Robust decoding of real photos: one RGB image out, or an error that names the file.

Handles what real geotagged collections contain: EXIF orientation, grayscale, palette,
CMYK, 16-bit and alpha images (composited on white), and very large images (decoded at
reduced size through JPEG draft mode, then thumbnailed). Truncated or corrupt files
raise :class:`ImageDecodeError` with the path, never a silent black image.

JPEGs are decoded at 1/2, 1/4 or 1/8 scale when that still leaves the size asked for
(PIL's draft rule). For uint8 batches (:func:`decode_array`) libjpeg-turbo decodes them
straight into an array through ``simplejpeg`` where the pixels are the same as PIL's
(RGB or grayscale JPEGs without EXIF rotation, most photos), skipping two copies;
everything else goes through PIL, which is also the fallback when ``simplejpeg`` is not
installed.

libjpeg-turbo is the stricter of the two: a JPEG whose headers are sound but whose
image data is damaged decodes to a garbled picture in PIL and is refused by
``simplejpeg``. So a photo's fitness is decided by :func:`decode_array` at the size it
will be used at, everywhere: the readers' up-front check, training and ``geosurvey
predict`` (:meth:`~geosurvey.data.sets.PhotoSet.problem`).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

try:
    import simplejpeg
except ImportError:  # PIL decodes the same pixels, more slowly
    simplejpeg = None

# A 50k x 50k photo is legitimate in some archives; we never hold it at full size
# (draft/thumbnail).
Image.MAX_IMAGE_PIXELS = 2_500_000_000
ORIENTATION = 0x0112  # the EXIF tag of the rotation a viewer applies
DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError)


class ImageDecodeError(ValueError):
    """An image file that cannot be decoded; the message starts with its path
    (``name``), then says why (``reason``)."""

    def __init__(self, name, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name, self.reason = str(name), reason

    def __reduce__(self):  # so that it crosses process boundaries (DataLoader workers)
        return type(self), (self.name, self.reason)


def _refusal(exc: Exception) -> str:
    """Why a decoder refused a file, in words (PIL names an in-memory file by its
    address, which says nothing)."""
    if isinstance(exc, UnidentifiedImageError):
        return "not an image: no image format recognised in its bytes"
    return f"cannot decode image ({exc})"


def _require_bytes(data: bytes, name) -> None:
    if not data:
        raise ImageDecodeError(name, "empty file (0 bytes)")


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (
        img.mode == "P" and "transparency" in img.info
    ):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        hi = arr.max() or 1.0
        return Image.fromarray((arr / hi * 255).astype(np.uint8)).convert("RGB")
    return img.convert("RGB")  # L, P, CMYK, YCbCr, 1, F ...


def jpeg_scale(size, request: int) -> int:
    """PIL's draft rule: the largest of 8, 4, 2, 1 that keeps both sides at least
    ``request``."""
    most = min(size[0] // request, size[1] // request)
    return next(a for a in (8, 4, 2, 1) if most >= a or a == 1)


def _thumbnail_side(size, max_side: int | None, min_side: int | None) -> int | None:
    """The side to thumbnail an image of ``size`` to (``max_side``, though never so far
    that its shorter side falls below ``min_side``), or None when it is small enough."""
    if max_side is None or max(size) <= max_side:
        return None
    limit = max(max_side, -(-max(size) * (min_side or 0) // min(size)))
    return limit if max(size) > limit else None


def decode_image(
    data: bytes, name, max_side: int | None = 1024, *, min_side: int | None = None
) -> Image.Image:
    """The upright RGB image in ``data`` (an encoded file; ``name`` names it in errors),
    no larger than ``max_side`` on its longer side. With ``min_side``, a JPEG is decoded
    at the smallest scale whose shorter side is still at least ``min_side`` (the size a
    transform will crop), and ``max_side`` never shrinks the shorter side below it."""
    _require_bytes(data, name)
    request = min_side or max_side
    try:
        with Image.open(io.BytesIO(data)) as img:
            if request and img.format == "JPEG" and jpeg_scale(img.size, request) > 1:
                img.draft("RGB", (request, request))  # decode at 1/2, 1/4 or 1/8 scale
            img.load()
            img = _to_rgb(ImageOps.exif_transpose(img))
    except DECODE_ERRORS as exc:
        raise ImageDecodeError(name, _refusal(exc)) from exc
    side = _thumbnail_side(img.size, max_side, min_side)
    if side is not None:
        img.thumbnail((side, side), Image.Resampling.BILINEAR)
    return img


def _turbo(data: bytes, name, max_side, min_side) -> np.ndarray | None:
    """What :func:`decode_image` gives, as an array decoded by libjpeg-turbo, or None
    where only PIL can give it (not a JPEG, CMYK, EXIF rotation, a thumbnail to make, no
    ``simplejpeg``)."""
    _require_bytes(data, name)
    if simplejpeg is None:
        return None
    try:
        with Image.open(io.BytesIO(data)) as img:  # the header only
            if (
                img.format != "JPEG"
                or img.mode not in ("RGB", "L")
                or img.getexif().get(ORIENTATION, 1) != 1
            ):
                return None
            (w, h), request = img.size, min_side or max_side
        scale = jpeg_scale((w, h), request) if request else 1
        size = (-(-w // scale), -(-h // scale))
        if _thumbnail_side(size, max_side, min_side) is not None:
            return None
        return simplejpeg.decode_jpeg(
            data, colorspace="RGB", min_width=size[0], min_height=size[1]
        )
    except DECODE_ERRORS as exc:
        raise ImageDecodeError(name, _refusal(exc)) from exc


def decode_array(
    data: bytes, name, max_side: int | None = 1024, *, min_side: int | None = None
) -> np.ndarray:
    """:func:`decode_image` as an (H, W, 3) uint8 array: the same pixels, decoded by
    libjpeg-turbo straight into the array where it can (most photos), skipping PIL's
    copies."""
    fast = _turbo(data, name, max_side, min_side)
    return (
        fast
        if fast is not None
        else np.array(decode_image(data, name, max_side, min_side=min_side))
    )


def read_bytes(path) -> bytes:
    """The bytes of image file ``path``, or an :class:`ImageDecodeError` naming it."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise ImageDecodeError(path, "file not found") from None
    except OSError as exc:
        raise ImageDecodeError(path, f"cannot read file ({exc})") from exc


def read_array(
    path, max_side: int | None = 1024, *, min_side: int | None = None
) -> np.ndarray:
    """:func:`decode_array` of the file ``path``: what training decodes a photo with."""
    return decode_array(read_bytes(path), path, max_side, min_side=min_side)


def read_image(
    path, max_side: int | None = 1024, *, min_side: int | None = None
) -> Image.Image:
    """Open ``path`` as an upright RGB image no larger than ``max_side`` on its longer
    side (see :func:`decode_image` for ``min_side``)."""
    return decode_image(read_bytes(path), path, max_side, min_side=min_side)
