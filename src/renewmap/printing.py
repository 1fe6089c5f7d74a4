"""Things made to be printed: the font they are drawn with.

PDFs carry their text as drawn glyphs, so they need a font with Chinese characters:
``RENEWMAP_CJK_FONT`` (a .ttf, .otf or .ttc file), else the first of the usual system fonts
(Debian's fonts-noto-cjk, WenQuanYi, Droid Sans Fallback). Without one they cannot be made and
say so (``FontMissing``, 503). One lookup for every printable (the residents' plant tags, the
monthly report), drawn with fpdf2.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from renewmap.errors import FontMissing

# Where Debian, Ubuntu and Fedora put fonts with Chinese characters (most likely first).
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


# --- the font ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Font:
    path: str
    index: int  # the face within a collection (.ttc): the Simplified Chinese one


def _sc_index(path: str) -> int:
    """The Simplified Chinese face of a font collection (Noto CJK holds JP, KR, SC, TC, HK)."""
    if not path.lower().endswith(".ttc"):
        return 0
    from fontTools.ttLib import TTCollection

    with TTCollection(path, lazy=True) as collection:
        for i, face in enumerate(collection.fonts):
            name = face["name"].getDebugName(1) or ""
            if " SC" in name or name.endswith("SC") or "Simplified" in name:
                return i
    return 0


@lru_cache(maxsize=4)
def _font(configured: str | None) -> Font:
    candidates = [configured] if configured else list(CJK_FONTS)
    for path in candidates:
        if path and Path(path).is_file():
            return Font(path, _sc_index(path))
    if configured:
        raise FontMissing(
            "RENEWMAP_CJK_FONT names {path}, which is not a font file on this server",
            key="font_configured_missing",
            path=configured,
        )
    raise FontMissing(
        "no font with Chinese characters on this server: install fonts-noto-cjk "
        "(apt-get install fonts-noto-cjk) or set RENEWMAP_CJK_FONT to a .ttf/.otf/.ttc file",
        key="font_missing",
    )


def cjk_font() -> Font:
    """The font printables are drawn with (``RENEWMAP_CJK_FONT``, else a system font)."""
    return _font(os.environ.get("RENEWMAP_CJK_FONT") or None)
