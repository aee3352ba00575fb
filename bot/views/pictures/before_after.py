"""Pictures hdbot draws: the before/after comparison for verifiers."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw

from bot.views.pictures.fonts import font
from storage.photos import upright_rgb

PANEL_HEIGHT = 720
GAP = 16
LABEL_HEIGHT = 64


def _panel(path: Path) -> Image.Image:
    with Image.open(path) as img:
        img.draft("RGB", (PANEL_HEIGHT * 2, PANEL_HEIGHT))  # decode big JPEGs small
        upright = upright_rgb(img)
    scale = PANEL_HEIGHT / upright.height
    return upright.resize((max(1, round(upright.width * scale)), PANEL_HEIGHT))


def before_after(before: Path, after: Path, labels: tuple[str, str]) -> bytes:
    """Put the before- and after-photo side by side, labelled, as JPEG bytes."""
    left, right = _panel(before), _panel(after)
    width = left.width + GAP + right.width
    canvas = Image.new("RGB", (width, PANEL_HEIGHT + LABEL_HEIGHT), "white")
    canvas.paste(left, (0, LABEL_HEIGHT))
    canvas.paste(right, (left.width + GAP, LABEL_HEIGHT))
    draw = ImageDraw.Draw(canvas)
    face = font(40)
    for text, x0, w, colour in (
        (labels[0], 0, left.width, (180, 30, 30)),
        (labels[1], left.width + GAP, right.width, (20, 120, 50)),
    ):
        box = draw.textbbox((0, 0), text, font=face)
        draw.text(
            (x0 + (w - (box[2] - box[0])) / 2, (LABEL_HEIGHT - (box[3] - box[1])) / 2 - box[1]),
            text,
            fill=colour,
            font=face,
        )
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=85)
    return out.getvalue()
