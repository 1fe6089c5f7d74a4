"""Residents' photos: checked, re-encoded without metadata, thumbnailed.

Phones put GPS coordinates and device details in EXIF; a public map must never leak them.
Every upload is decoded and re-encoded from pixels only (orientation applied first), so no
metadata can survive, and files that are not really JPEG/PNG/WebP images are refused.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from renewmap.errors import InvalidInput, PayloadTooLarge

ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PHOTOS = 3
MAX_PIXELS = 50_000_000  # beyond this an image is a decompression bomb, not a phone photo
MAX_EDGE = 2048
THUMB_EDGE = 320


@dataclass(frozen=True)
class ProcessedPhoto:
    data: bytes
    thumbnail: bytes
    width: int
    height: int
    content_type: str = "image/jpeg"


def process_photo(raw: bytes, *, filename: str) -> ProcessedPhoto:
    """Validate one upload and return a clean JPEG and its thumbnail."""
    if len(raw) > MAX_PHOTO_BYTES:
        raise PayloadTooLarge(
            f"photo '{filename}' is {len(raw) / 1024 / 1024:.1f} MB; the limit is "
            f"{MAX_PHOTO_BYTES // 1024 // 1024} MB",
            field="photos",
            file=filename,
        )
    if not raw:
        raise InvalidInput(f"photo '{filename}' is empty", field="photos", file=filename)
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            fmt = probe.format
            if fmt not in ACCEPTED_FORMATS:
                raise InvalidInput(
                    f"photo '{filename}' is {fmt or 'not an image'}; use JPEG, PNG or WebP",
                    field="photos",
                    file=filename,
                )
            if probe.width * probe.height > MAX_PIXELS:
                raise InvalidInput(
                    f"photo '{filename}' has {probe.width}×{probe.height} pixels; too large",
                    field="photos",
                    file=filename,
                )
            probe.load()
            image = ImageOps.exif_transpose(probe)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as exc:
        raise InvalidInput(
            f"photo '{filename}' is not a readable JPEG, PNG or WebP image",
            field="photos",
            file=filename,
        ) from exc
    if image.mode not in ("RGB", "L"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    elif image.mode == "L":
        image = image.convert("RGB")
    image.thumbnail((MAX_EDGE, MAX_EDGE))
    data = _jpeg(image, quality=85)
    thumb = image.copy()
    thumb.thumbnail((THUMB_EDGE, THUMB_EDGE))
    return ProcessedPhoto(data, _jpeg(thumb, quality=80), image.width, image.height)


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # A fresh save with no exif/icc arguments writes pixels only.
    image.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()
