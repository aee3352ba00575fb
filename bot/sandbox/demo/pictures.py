"""Photos for the demo's hidden dangers: drawn, so the demo needs no picture files.

Each is a simple site scene (sky, ground, a tank or a scaffold) in its own colours, with a
caption, so the before and after photos of a card are told apart at a glance.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

from bot.views.pictures.fonts import cjk_font_path

SIZE = (960, 720)


def site_photo(seed: int, caption: str, *, fixed: bool = False) -> bytes:
    """A JPEG of a site: `fixed` draws it tidy (an after-photo), else with a red hazard."""
    width, height = SIZE
    sky = (150 + seed * 17 % 60, 185 + seed * 7 % 40, 215)
    image = Image.new("RGB", SIZE, sky)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height * 2 // 3, width, height), fill=(120 + seed * 13 % 50, 110, 95))
    left = 120 + seed * 53 % 300
    if seed % 2:
        # A storage tank on its bund.
        draw.rectangle((left - 40, 420, left + 360, 490), fill=(170, 170, 160))
        draw.ellipse((left, 200, left + 320, 300), fill=(225, 225, 220), outline=(90, 90, 90))
        draw.rectangle((left, 250, left + 320, 460), fill=(225, 225, 220), outline=(90, 90, 90))
    else:
        # A scaffold against a wall.
        draw.rectangle((left, 160, left + 380, 480), fill=(200, 190, 170))
        for x in range(left, left + 381, 76):
            draw.line((x, 140, x, 480), fill=(60, 60, 60), width=6)
        for y in range(160, 481, 80):
            draw.line((left - 20, y, left + 400, y), fill=(60, 60, 60), width=5)
    if fixed:
        draw.rectangle((left - 40, 470, left + 400, 500), fill=(40, 150, 70))
    else:
        draw.polygon(
            [(left + 150, 330), (left + 230, 470), (left + 70, 470)],
            fill=(220, 40, 30),
            outline=(255, 255, 255),
        )
    draw.rectangle((0, 0, width, 64), fill=(0, 0, 0))
    draw.text((24, 12), caption, fill=(255, 255, 255), font=_font(36))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = cjk_font_path()
    if path is not None:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    return ImageFont.load_default(size=size)
