"""Residents' photos: checked, re-encoded without metadata, thumbnailed, in bounded memory.

Phones put GPS coordinates and device details in EXIF; a public map must never leak them.
Every upload is decoded and re-encoded from pixels only (orientation applied first), so no
metadata can survive, and files that are not really JPEG/PNG/WebP images are refused.

A few kilobytes can declare a huge image (a PNG of 7000×7000 one-bit pixels is 6 KB). So the
dimensions are read from the header before anything is decoded, and:

* a JPEG is decoded at a reduced scale (``Image.draft``: 1/2, 1/4 or 1/8) just large enough
  for the stored size, so its header may declare up to ``MAX_HEADER_PIXELS``;
* whatever is actually decoded is at most ``MAX_DECODE_PIXELS`` per photo and
  ``MAX_REQUEST_PIXELS`` for all photos of one request (checked for all before the first is
  decoded), and the decoded image is reduced in one pass straight to the stored size, so one
  decode holds at most ≈ ``MAX_DECODE_PIXELS`` × ``BYTES_PER_PIXEL`` bytes;
* at most ``decode_slots()`` photos are decoded at once per process; a request that cannot get
  a slot within ``SLOT_WAIT_S`` seconds is told to retry (429).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from renewmap import blobs
from renewmap.errors import InvalidInput, PayloadTooLarge, RateLimited

ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PHOTOS = 3
MAX_HEADER_PIXELS = 64_000_000  # a JPEG's declared size (decoded at a reduced scale)
MAX_DECODE_PIXELS = 16_000_000  # pixels decoded for one photo (4000×4000)
MAX_REQUEST_PIXELS = 32_000_000  # pixels decoded for all photos of one request
MAX_PIXELS = MAX_HEADER_PIXELS  # the largest image accepted at all
MAX_EDGE = 2048
THUMB_EDGE = 320
BYTES_PER_PIXEL = 5  # decoded (4, or 1–2 and a converted copy of 4) and its reduction
SLOT_WAIT_S = 20.0
_DECODE_SLOTS = 2
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
_slots = threading.BoundedSemaphore(_DECODE_SLOTS)


def configure(*, decode_slots: int) -> None:
    """Per process: how many photos are decoded at once (``RENEWMAP_IMAGE_DECODES``), and
    decoded images given back to the system once freed (see ``_return_large_buffers``)."""
    global _slots, _DECODE_SLOTS
    if decode_slots != _DECODE_SLOTS:
        _DECODE_SLOTS = decode_slots
        _slots = threading.BoundedSemaphore(decode_slots)
    _return_large_buffers()


def _return_large_buffers() -> None:
    """glibc raises its mmap threshold after the first large buffer is freed, so the next
    decoded images come from per-thread heaps that keep the memory resident (peak memory
    then grows with the number of threads that ever decoded, not with the decode slots).
    A fixed 1 MB threshold maps every large buffer and unmaps it when freed."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 1024 * 1024)
    except (OSError, AttributeError):  # not glibc: its own allocator decides
        pass


def decode_slots() -> int:
    return _DECODE_SLOTS


@dataclass(frozen=True)
class ProcessedPhoto:
    data: bytes
    thumbnail: bytes
    width: int
    height: int
    content_type: str = "image/jpeg"

    def store(self, session: Session) -> dict[str, Any]:
        """Put the photo and its thumbnail in the blob store (before the row naming them
        commits); the row's columns."""
        return {
            "content_type": self.content_type,
            "width": self.width,
            "height": self.height,
            "data_key": blobs.put(session, self.data, self.content_type),
            "data_size": len(self.data),
            "thumbnail_key": blobs.put(session, self.thumbnail, self.content_type),
            "thumbnail_size": len(self.thumbnail),
        }


@dataclass(frozen=True)
class _Probe:
    """What the header says, and how many pixels decoding it will produce."""

    filename: str
    raw: bytes
    format: str
    width: int
    height: int
    decoded: int  # pixels after the JPEG draft reduction


def _too_large(template: str, *, key: str, **details: Any) -> PayloadTooLarge:
    return PayloadTooLarge(template, key=key, field="photos", **details)


def _millions(n: int) -> str:
    return f"{n / 1_000_000:.1f}".removesuffix(".0")


def _unreadable(filename: str) -> InvalidInput:
    return InvalidInput(
        "photo '{file}' is not a readable JPEG, PNG or WebP image",
        key="photo_unreadable",
        field="photos",
        file=filename,
    )


def _probe(raw: bytes, filename: str) -> _Probe:
    """Read the header only: format, size, and the pixels a decode would produce."""
    if len(raw) > MAX_PHOTO_BYTES:
        raise _too_large(
            "photo '{file}' is {size_mb} MB; the limit is {limit_mb} MB",
            key="photo_too_large",
            file=filename,
            size_mb=f"{len(raw) / 1024 / 1024:.1f}",
            limit_mb=MAX_PHOTO_BYTES // 1024 // 1024,
            limit=MAX_PHOTO_BYTES,
        )
    if not raw:
        raise InvalidInput(
            "photo '{file}' is empty", key="photo_empty", field="photos", file=filename
        )
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            fmt = probe.format
            if fmt not in ACCEPTED_FORMATS:
                raise InvalidInput(
                    "photo '{file}' is {format}; use JPEG, PNG or WebP",
                    key="photo_format",
                    format=fmt or "?",
                    field="photos",
                    file=filename,
                )
            width, height = probe.size
            header_limit = MAX_HEADER_PIXELS if fmt == "JPEG" else MAX_DECODE_PIXELS
            if width * height > header_limit:
                raise _pixels_error(filename, width, height, header_limit)
            decoded = width * height
            if fmt == "JPEG":
                probe.draft("RGB", (MAX_EDGE, MAX_EDGE))  # only the scale it would decode at
                decoded = probe.size[0] * probe.size[1]
            if decoded > MAX_DECODE_PIXELS:
                raise _pixels_error(filename, width, height, MAX_DECODE_PIXELS)
    except Image.DecompressionBombError:
        raise _too_large(
            "photo '{file}' declares more than {limit_mp} million pixels; at most {limit_mp} "
            "million are accepted",
            key="photo_declares_too_many_pixels",
            file=filename,
            limit_mp=_millions(MAX_HEADER_PIXELS),
            limit=MAX_HEADER_PIXELS,
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _unreadable(filename) from exc
    return _Probe(filename, raw, fmt, width, height, decoded)


def _pixels_error(filename: str, width: int, height: int, limit: int) -> PayloadTooLarge:
    return _too_large(
        "photo '{file}' is {width}×{height} pixels ({pixels_mp} million); at most {limit_mp} "
        "million pixels are accepted",
        key="photo_too_many_pixels",
        file=filename,
        width=width,
        height=height,
        pixels_mp=_millions(width * height),
        limit_mp=_millions(limit),
        limit=limit,
    )


def process_photos(photos: Sequence[tuple[str, bytes]]) -> list[ProcessedPhoto]:
    """Validate every upload's header, then decode them one by one into clean JPEGs and
    thumbnails; nothing is decoded if any photo (or their sum) is over a limit."""
    probes = [_probe(raw, name) for name, raw in photos]
    total = sum(p.decoded for p in probes)
    if total > MAX_REQUEST_PIXELS:
        raise _too_large(
            "the photos hold {pixels_mp} million pixels together; at most {limit_mp} million "
            "are accepted in one request",
            key="photos_too_many_pixels",
            pixels_mp=_millions(total),
            limit_mp=_millions(MAX_REQUEST_PIXELS),
            limit=MAX_REQUEST_PIXELS,
        )
    return [_decode(p) for p in probes]


def process_photo(raw: bytes, *, filename: str) -> ProcessedPhoto:
    """Validate one upload and return a clean JPEG and its thumbnail."""
    return process_photos([(filename, raw)])[0]


def _decode(probe: _Probe) -> ProcessedPhoto:
    slots = _slots
    if not slots.acquire(timeout=SLOT_WAIT_S):
        raise RateLimited(
            "the server is busy processing photos; try again in a few seconds",
            key="photos_busy",
            retry_after=5,
            field="photos",
        )
    try:
        return _reencode(probe)
    finally:
        slots.release()


def _reencode(probe: _Probe) -> ProcessedPhoto:
    try:
        with Image.open(io.BytesIO(probe.raw)) as opened:
            image: Image.Image = opened
            if probe.format == "JPEG":
                image.draft("RGB", (MAX_EDGE, MAX_EDGE))
            if image.size[0] * image.size[1] > MAX_DECODE_PIXELS:  # the file changed its mind
                raise _pixels_error(probe.filename, *image.size, MAX_DECODE_PIXELS)
            image.load()  # ≤ MAX_DECODE_PIXELS × 4 bytes
            if image.mode not in ("RGB", "RGBA", "L", "LA"):
                # palette, one-bit and 16-bit images cannot be reduced: convert first (their
                # own 1–2 bytes a pixel plus 4)
                image = image.convert("RGBA" if "transparency" in image.info else "RGB")
            factor = math.ceil(max(image.size) / MAX_EDGE)
            if factor > 1:
                # one pass of box averaging straight to the stored size (≤ 1/4 of the
                # decoded image), before anything else copies the full-size one
                image = image.reduce(factor)
            ImageOps.exif_transpose(image, in_place=True)  # no copy of the decoded image
    except PayloadTooLarge:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as exc:
        raise _unreadable(probe.filename) from exc
    if image.mode in ("RGBA", "LA"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    elif image.mode != "RGB":
        image = image.convert("RGB")
    data = _jpeg(image, quality=85)
    thumb = image.copy()
    thumb.thumbnail((THUMB_EDGE, THUMB_EDGE))
    return ProcessedPhoto(data, _jpeg(thumb, quality=80), image.width, image.height)


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # A fresh save with no exif/icc arguments writes pixels only.
    image.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()
