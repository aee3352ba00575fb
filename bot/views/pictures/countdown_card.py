"""The daily countdown as a picture: days left, large, and the campaign's key figures.

It draws the payload the countdown push was queued with
(storage/pushes/figure_payloads.py `countdown_data`), so the card and the text of a push
always agree.
"""

from __future__ import annotations

import io
import threading
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from bot.i18n import Translator
from bot.views.labels import rate_text
from bot.views.pictures.fonts import font
from bot.views.push_view import days_line
from storage.push_payloads import CountdownPush, FigureCounts, RankedUnit

Face = ImageFont.FreeTypeFont | ImageFont.ImageFont
Colour = tuple[int, int, int]

WIDTH, HEIGHT = 1080, 1350
MARGIN = 60
INNER = WIDTH - 2 * MARGIN
GAP = 20
FOOTER = 56
PHRASE_GAP = 70  # from the big number's lowest point to the phrase's baseline
UNIT_GAP = 52
DANGER_HEADING = 56
RANK_HEADING = 56
RANK_COLUMNS = 40
RANK_ROW = 46
TOP_UNITS = 5

# Few, sober colours that stay distinct when printed in greyscale.
NAVY: Colour = (31, 58, 95)
INK: Colour = (33, 37, 41)
MUTED: Colour = (96, 104, 114)
PAPER: Colour = (255, 255, 255)
TILE: Colour = (242, 244, 247)
RULE: Colour = (214, 219, 225)
RED: Colour = (176, 30, 35)
GREEN: Colour = (35, 120, 60)
AMBER: Colour = (184, 110, 0)


_local = threading.local()


def _face(size: int) -> Face:
    # One set of fonts per thread: cards are drawn in worker threads and a FreeType face
    # must not be used by two at once.
    faces: dict[int, Face] = _local.__dict__.setdefault("faces", {})
    if size not in faces:
        faces[size] = font(size)
    return faces[size]


@cache
def _drawable(char: str) -> bool:
    """Whether the card's font has a glyph for `char` (emoji usually have none)."""
    if char.isspace():
        return True
    face = _face(40)
    if not isinstance(face, ImageFont.FreeTypeFont):
        return char.isascii()
    notdef = face.getmask("\U0010fffd")
    mask = face.getmask(char)
    return mask.size != notdef.size or bytes(mask) != bytes(notdef)


def _clean(text: str) -> str:
    """Drop what the font would draw as a box, e.g. the emoji of the text pushes."""
    return " ".join("".join(c for c in text if _drawable(c)).split())


def _fit(text: str, face: Face, width: float) -> str:
    """Shorten `text` with "…" until it is at most `width` pixels wide."""
    if face.getlength(text) <= width:
        return text
    # Binary search for the longest start that fits with the mark: names can be very long.
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if face.getlength(text[:middle].rstrip() + "…") <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "…"


def _wrap(text: str, face: Face, width: float, max_lines: int) -> list[str]:
    """Break text into lines at most `width` wide: at spaces when it has them, else anywhere."""
    lines: list[str] = []
    rest = text
    while rest and len(lines) < max_lines:
        if face.getlength(rest) <= width:
            lines.append(rest)
            rest = ""
            break
        end = 1
        while end < len(rest) and face.getlength(rest[: end + 1]) <= width:
            end += 1
        space = rest.rfind(" ", 0, end + 1)
        if space > 0 and rest[end : end + 1] not in ("", " ") and space > end // 2:
            end = space
        lines.append(rest[:end].rstrip())
        rest = rest[end:].lstrip()
    if rest and lines:
        # Whatever does not fit in the last line is cut, marked with "…".
        lines[-1] = _fit(lines[-1] + " " + rest, face, width)
    return lines


class _Card:
    def __init__(self) -> None:
        self.image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
        self.draw = ImageDraw.Draw(self.image)

    def text(
        self,
        xy: tuple[float, float],
        text: str,
        size: int,
        fill: Colour,
        *,
        anchor: str = "la",
        width: float | None = None,
        bold: bool = False,
    ) -> None:
        face = _face(size)
        text = _clean(text)
        if width is not None:
            text = _fit(text, face, width)
        # The CJK fonts on servers have no bold face: a thin stroke of the same colour stands in.
        stroke = max(1, size // 40) if bold else 0
        self.draw.text(
            xy, text, font=face, fill=fill, anchor=anchor, stroke_width=stroke, stroke_fill=fill
        )

    def box(self, box: tuple[float, float, float, float], fill: Colour, radius: int = 14) -> None:
        self.draw.rounded_rectangle(box, radius=radius, fill=fill)

    def bar(self, box: tuple[float, float, float, float], percent: float, colour: Colour) -> None:
        x0, y0, x1, y1 = box
        self.draw.rounded_rectangle(box, radius=int((y1 - y0) / 2), fill=RULE)
        share = min(max(percent, 0.0), 100.0) / 100
        if share > 0:
            right = max(x0 + (y1 - y0), x0 + (x1 - x0) * share)
            self.draw.rounded_rectangle((x0, y0, right, y1), radius=int((y1 - y0) / 2), fill=colour)

    def png(self) -> bytes:
        out = io.BytesIO()
        self.image.save(out, "PNG", optimize=True)
        return out.getvalue()


def _big_number(_: Translator, days: int) -> tuple[str, Colour]:
    if days == 0:
        return _("Today"), RED
    if days < 0:
        return str(-days), NAVY
    return str(days), RED


def _top_units(ranking: tuple[RankedUnit, ...]) -> list[RankedUnit]:
    # sorted() is stable, so units with the same figures keep the order the query gave them.
    return sorted(ranking, key=lambda r: (-r.overdue, -r.open))[:TOP_UNITS]


def _shrink(text: str, size: int, width: float) -> int:
    """The largest font size up to `size` at which `text` fits `width`: figures are never cut."""
    while size > 12 and _face(size).getlength(text) > width:
        size -= 2
    return size


def countdown_png(_: Translator, data: CountdownPush) -> bytes:
    """Draw the daily countdown card (1080×1350 PNG): days left, large, and the key figures."""
    card = _Card()
    f = data.figures
    top = _top_units(data.ranking)
    # Without the ranking the other parts take its room.
    roomy = not top
    header_h = 200 if roomy else 170
    big_size = 300 if roomy else 220
    figures_h = 230 if roomy else 216
    tile_h = 170 if roomy else 130
    days_h = _days_height(_, data, big_size)
    heights = [header_h, days_h, figures_h, DANGER_HEADING + tile_h]
    if top:
        heights.append(_ranking_height(len(top)))
    # What is left is shared out evenly between the parts, so the card never looks top-heavy.
    spare = max(0.0, (HEIGHT - FOOTER - sum(heights)) / len(heights))

    _header(card, data.campaign, header_h)
    y = header_h + spare
    _days(_, card, data, y, big_size)
    y += days_h + spare
    split = MARGIN + INNER * 0.6
    _tasks_tile(_, card, (MARGIN, y, split - GAP / 2, y + figures_h), f)
    _rate_tile(_, card, (split + GAP / 2, y, WIDTH - MARGIN, y + figures_h), f)
    y += figures_h + spare
    _danger_tiles(_, card, y, tile_h, f)
    y += DANGER_HEADING + tile_h + spare
    if top:
        _ranking(_, card, y, top)
    card.text(
        (WIDTH - MARGIN, HEIGHT - 30),
        _("Figures as of {today}", today=data.today.isoformat()),
        24,
        MUTED,
        anchor="rs",
        width=INNER,
    )
    return card.png()


def _header(card: _Card, campaign: str, height: int) -> None:
    """The campaign's name on a dark band, in up to two lines."""
    card.draw.rectangle((0, 0, WIDTH, height), fill=NAVY)
    size, line_h = 48, 64
    lines = _wrap(_clean(campaign), _face(size), INNER, 2)
    y = (height - line_h * len(lines)) / 2 + line_h / 2
    for line in lines:
        card.text((WIDTH / 2, y), line, size, PAPER, anchor="mm", width=INNER, bold=True)
        y += line_h


def _big_layout(_: Translator, data: CountdownPush, big_size: int) -> tuple[str, Colour, int]:
    big, colour = _big_number(_, data.days_left)
    # A word ("Today") is wider and has descenders: keep it smaller than a number.
    limit = INNER if big.isdigit() else INNER * 0.7
    size = _shrink(big, big_size if big.isdigit() else int(big_size * 0.7), limit)
    return big, colour, size


def _days_height(_: Translator, data: CountdownPush, big_size: int) -> int:
    big, _colour, size = _big_layout(_, data, big_size)
    box = _face(size).getbbox(big, anchor="ls")
    return int(box[3] - box[1]) + PHRASE_GAP + (UNIT_GAP if data.unit else 0)


def _days(_: Translator, card: _Card, data: CountdownPush, y: float, big_size: int) -> None:
    """Days left, the biggest thing on the card, with the text push's own wording under it."""
    big, colour, size = _big_layout(_, data, big_size)
    box = _face(size).getbbox(big, anchor="ls")
    baseline = y - box[1]
    card.text((WIDTH / 2, baseline), big, size, colour, anchor="ms", bold=True)
    y = baseline + box[3] + PHRASE_GAP - 14
    phrase = days_line(_, days_left=data.days_left, closing=data.closing)
    card.text((WIDTH / 2, y), phrase, 40, INK, anchor="ms", width=INNER)
    if data.unit:
        y += UNIT_GAP
        card.text(
            (WIDTH / 2, y),
            _("Unit: {unit}", unit=data.unit),
            34,
            MUTED,
            anchor="ms",
            width=INNER,
        )


def _danger_tiles(_: Translator, card: _Card, y: float, tile_h: int, f: FigureCounts) -> None:
    card.text((MARGIN, y), _("Hidden dangers"), 34, NAVY, bold=True, width=INNER)
    y += DANGER_HEADING
    tiles = (
        (_("Found"), f.found, NAVY),
        (_("Closed"), f.closed, GREEN),
        (_("Still open"), f.open, AMBER),
        (_("Overdue"), f.overdue, RED),
    )
    tile_w = (INNER - GAP * (len(tiles) - 1)) / len(tiles)
    for n, (label, value, tint) in enumerate(tiles):
        x0 = MARGIN + n * (tile_w + GAP)
        card.box((x0, y, x0 + tile_w, y + tile_h), TILE)
        card.draw.rectangle((x0, y + 14, x0 + 6, y + tile_h - 14), fill=tint)
        middle = x0 + 3 + tile_w / 2
        number = str(value)
        size = _shrink(number, 72 if tile_h > 150 else 62, tile_w - 40)
        label_base = y + tile_h - 24
        card.text(
            (middle, (y + label_base - 34) / 2 + size * 0.36),
            number,
            size,
            tint,
            anchor="ms",
            bold=True,
        )
        card.text((middle, label_base), label, 28, INK, anchor="ms", width=tile_w - 32)


def _figure_tile(
    card: _Card,
    box: tuple[float, float, float, float],
    *,
    title: str,
    value: str,
    colour: Colour,
    percent: float,
    note: str,
    note_alert: bool,
    aside: str = "",
) -> None:
    """A tile with a title, a big figure, a progress bar and a note under the bar."""
    x0, y0, x1, y1 = box
    pad = 28
    width = x1 - x0 - 2 * pad
    card.box(box, TILE)
    card.text((x0 + pad, y0 + 24), title, 30, NAVY, bold=True, width=width)
    note_base = y1 - 24
    bar_top = note_base - 30 - 18 - 8
    baseline = bar_top - 16
    aside_w = _face(44).getlength(aside) + 24 if aside else 0
    card.text(
        (x0 + pad, baseline),
        value,
        _shrink(value, 60, width - aside_w),
        colour,
        anchor="ls",
        bold=True,
    )
    if aside:
        card.text((x1 - pad, baseline), aside, 44, colour, anchor="rs", bold=True)
    card.bar((x0 + pad, bar_top, x1 - pad, bar_top + 18), percent, colour)
    card.text(
        (x0 + pad, note_base), note, 26, RED if note_alert else MUTED, anchor="ls", width=width
    )


def _tasks_tile(
    _: Translator, card: _Card, box: tuple[float, float, float, float], f: FigureCounts
) -> None:
    _figure_tile(
        card,
        box,
        title=_("Rectification tasks"),
        value=f"{f.tasks_done}/{f.tasks_total}",
        colour=NAVY,
        percent=float(f.tasks_percent),
        aside=f"{f.tasks_percent}%",
        note=_("Past due: {count}", count=f.tasks_overdue),
        note_alert=bool(f.tasks_overdue),
    )


def _rate_tile(
    _: Translator, card: _Card, box: tuple[float, float, float, float], f: FigureCounts
) -> None:
    _figure_tile(
        card,
        box,
        title=_("Rectification rate"),
        value=rate_text(f.rate, f.found),
        colour=GREEN,
        percent=float(f.rate if f.found else 0),
        note=_("Major still open: {count}", count=f.major_open),
        note_alert=bool(f.major_open),
    )


def _ranking_height(rows: int) -> int:
    return RANK_HEADING + RANK_COLUMNS + RANK_ROW * rows


def _ranking(_: Translator, card: _Card, y: float, rows: list[RankedUnit]) -> None:
    heading = _("Units by overdue hidden dangers:").rstrip(":：")
    card.text((MARGIN, y), heading, 34, NAVY, bold=True, width=WIDTH - 2 * MARGIN)
    y += RANK_HEADING
    # Columns: rank, unit, overdue, still open, rate (right-aligned numbers).
    right = WIDTH - MARGIN
    cols = (right - 330, right - 170, right)
    unit_x = MARGIN + 50
    unit_w = cols[0] - 110 - unit_x
    for x, label in zip(cols, (_("Overdue"), _("Still open"), _("Rate")), strict=True):
        card.text((x, y + 28), label, 26, MUTED, anchor="rs", width=150)
    card.text((unit_x, y + 28), _("Unit"), 26, MUTED, anchor="ls", width=unit_w)
    y += RANK_COLUMNS
    card.draw.line((MARGIN, y, right, y), fill=RULE, width=2)
    row_h = RANK_ROW
    for n, row in enumerate(rows, start=1):
        base = y + row_h - 14
        card.text((MARGIN, base), f"{n}.", 30, MUTED, anchor="ls")
        card.text((unit_x, base), row.unit, 30, INK, anchor="ls", width=unit_w)
        overdue = row.overdue
        card.text(
            (cols[0], base),
            str(overdue),
            30,
            RED if overdue else INK,
            anchor="rs",
            bold=bool(overdue),
        )
        card.text((cols[1], base), str(row.open), 30, INK, anchor="rs")
        card.text((cols[2], base), rate_text(row.rate, row.found), 30, INK, anchor="rs")
        y += row_h
        card.draw.line((MARGIN, y, right, y), fill=RULE, width=1)
