"""Find a font that draws Chinese: generated pictures must never show boxes for 汉字."""

from __future__ import annotations

import logging
import shutil
import subprocess
from functools import cache
from pathlib import Path

from PIL import ImageFont

logger = logging.getLogger(__name__)

# Where Debian's CJK font packages put their files (fonts-wqy-microhei, fonts-noto-cjk, …).
KNOWN = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
FALLBACK = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@cache
def cjk_font_path() -> str | None:
    """Return a font file with Chinese glyphs, or None when the system has none."""
    for path in KNOWN:
        if Path(path).is_file():
            return path
    if shutil.which("fc-match"):
        try:
            found = subprocess.run(
                ["fc-match", "-f", "%{file}", ":lang=zh-cn"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            found = ""
        if found and Path(found).is_file() and _draws_chinese(found):
            return found
    logger.warning("no CJK font found: Chinese text in pictures will not render")
    return None


def _draws_chinese(path: str) -> bool:
    try:
        font = ImageFont.truetype(path, 24)
    except OSError:
        return False
    # A font without the glyph gives every missing character the same ".notdef" box.
    return font.getmask("隐").getbbox() != font.getmask("\U0010fffd").getbbox()


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A font of this pixel size that draws Chinese when the system allows."""
    for path in (cjk_font_path(), FALLBACK):
        if path and Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)
