"""Small files that declare huge images (decompression bombs), built without decoding them.

``png_bomb`` is a real, decodable PNG: rows of zero pixels compress ~1000:1, so 7000×7000
one-bit pixels take 6 KB. The JPEG and WebP bombs are tiny real images whose headers were
rewritten to declare a huge size: a decoder believes the header (that is the attack), and the
app must refuse them from the header alone.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(
    width: int = 7000, height: int = 7000, *, bit_depth: int = 1, colour: int = 0
) -> bytes:
    """A valid PNG of ``width``×``height`` black pixels (greyscale ``colour`` 0, or 2 RGB)."""
    channels = {0: 1, 2: 3, 6: 4}[colour]
    row = b"\x00" + bytes((width * channels * bit_depth + 7) // 8)  # filter byte + pixels
    z = zlib.compressobj(9)
    parts = [z.compress(row) for _ in range(height)]
    parts.append(z.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )


def jpeg_bomb(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) declares ``width``×``height``."""
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(out, "JPEG")
    data = bytearray(out.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def webp_bomb(width: int, height: int, *, lossless: bool = True) -> bytes:
    """A small WebP whose bitstream header declares ``width``×``height`` (≤ 16384 each)."""
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 128, 0)).save(out, "WEBP", lossless=lossless)
    data = bytearray(out.getvalue())
    if data[12:16] == b"VP8L":  # 0x2f, then 14 bits width-1 and 14 bits height-1
        old = int.from_bytes(data[21:25], "little")
        new = (old & ~((1 << 28) - 1)) | (width - 1) | ((height - 1) << 14)
        data[21:25] = new.to_bytes(4, "little")
    else:  # VP8: after the start code 9d 01 2a, 14-bit width and height
        start = data.index(b"\x9d\x01\x2a") + 3
        data[start : start + 4] = struct.pack("<HH", width & 0x3FFF, height & 0x3FFF)
    return bytes(data)


def big_jpeg(width: int, height: int) -> bytes:
    """A real, smooth JPEG (a grey ramp), to show large photos are still accepted."""
    ramp = Image.linear_gradient("L").resize((width, height))
    out = io.BytesIO()
    ramp.save(out, "JPEG", quality=70)
    return out.getvalue()
