"""The countdown card and the /stats charts: PNGs of the right size, Chinese drawn, not boxes."""

from __future__ import annotations

import io
import warnings
from dataclasses import replace
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageFont

from bot.i18n import Translator
from bot.views.pictures.charts import _label, font_family, trend_png, units_png
from bot.views.pictures.countdown_card import HEIGHT, MARGIN, WIDTH, _clean, countdown_png
from bot.views.pictures.fonts import cjk_font_path, font
from storage.push_payloads import CountdownPush, FigureCounts, RankedUnit
from tests.factories import countdown_push

CHINESE_NAME = "隐患排查整治专项行动"
LONG_UNIT = "大连市海洋发展局渔业船舶安全监督管理处第一科室" * 4
NOT_A_GLYPH = "\U0010fffd"  # a private-use code point: no font draws it


class Recording(Translator):
    """A translator that remembers which message ids a picture asked for."""

    def __init__(self, language: str) -> None:
        super().__init__(language)
        self.asked: list[str] = []

    def __call__(self, message: str, /, **params: Any) -> str:
        self.asked.append(message)
        return super().__call__(message, **params)

    def plural(self, singular: str, plural: str, n: int, /, **params: Any) -> str:
        self.asked.append(plural)
        return super().plural(singular, plural, n, **params)


def countdown(days: int = 40, *, campaign: str = CHINESE_NAME, **given: Any) -> CountdownPush:
    return countdown_push(days, campaign=campaign, **given)


def ranking() -> tuple[RankedUnit, ...]:
    rows = [
        ("甘井子区", 2, 30, 88),
        ("庄河市", 14, 120, 91),
        ("长海县", 9, 40, 95),
        ("市工业和信息化局", 0, 5, 99),
        (LONG_UNIT, 7, 60, 90),
        ("市民政局", 3, 10, 97),
    ]
    return tuple(
        RankedUnit(unit=u, overdue=o, open=op, rate=r, tasks_percent=80) for u, o, op, r in rows
    )


def weeks() -> list[dict[str, Any]]:
    return [
        {"week": f"2026-W{n}", "found": 20 + n % 7, "closed": 15 + n % 5, "open_end": 30 + n % 4}
        for n in range(40, 48)
    ]


def units() -> list[dict[str, Any]]:
    return [
        {"unit": "甘井子区", "found": 420, "closed": 380, "open": 40, "overdue": 21, "rate": 90},
        {"unit": "庄河市", "found": 300, "closed": 180, "open": 120, "overdue": 14, "rate": 60},
        {"unit": LONG_UNIT, "found": 120, "closed": 60, "open": 60, "overdue": 7, "rate": 50},
        {
            "unit": "Civil Affairs Bureau",
            "found": 0,
            "closed": 0,
            "open": 0,
            "overdue": 0,
            "rate": 0,
        },
    ]


def decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    image.load()
    return image.convert("RGB")


def light_pixels(image: Image.Image) -> int:
    """Pixels near white: the title's text on the card's dark band."""
    grey = image.convert("L")
    return sum(grey.histogram()[201:])


def missing_glyph_warnings(draw: Any) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw()
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


# The countdown card


@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize("days", [40, 1, 0, -3])
def test_card_is_a_png_of_the_card_size(language: str, days: int) -> None:
    image = decode(countdown_png(Translator(language), countdown(days, ranking=ranking())))
    assert image.size == (WIDTH, HEIGHT)


@pytest.mark.parametrize(
    ("days", "phrase", "big"),
    [
        (40, "⏳ {days} days to the close ({closing})", None),
        (1, "⏳ 1 day to the close: the campaign closes tomorrow ({closing})", None),
        (0, "🏁 The campaign closes today ({closing})", "Today"),
        (-3, "🏁 The campaign closed {n} days ago ({closing})", None),
    ],
)
def test_card_words_the_days_as_the_text_push_does(days: int, phrase: str, big: str | None) -> None:
    _ = Recording("zh_CN")
    countdown_png(_, countdown(days))
    assert phrase in _.asked
    assert ("Today" in _.asked) == (big == "Today")


def test_card_shows_the_unit_and_the_ranking_only_when_given() -> None:
    plain = Recording("en")
    countdown_png(plain, countdown())
    assert "Unit: {unit}" not in plain.asked
    assert "Units by overdue hidden dangers:" not in plain.asked
    full = Recording("en")
    countdown_png(full, countdown(unit="甘井子区", ranking=ranking()))
    assert "Unit: {unit}" in full.asked
    assert "Units by overdue hidden dangers:" in full.asked


def test_chinese_glyphs_are_drawn_not_boxes() -> None:
    # (a) a font with Chinese in it was found
    path = cjk_font_path()
    assert path is not None, "no CJK font: install fonts-wqy-microhei (see the README)"
    # (b) its glyph for a Chinese character is not the ".notdef" box every missing character gets
    face = font(48)
    assert isinstance(face, ImageFont.FreeTypeFont)
    assert face.path == path
    hidden, box = face.getmask("隐"), face.getmask(NOT_A_GLYPH)
    assert hidden.getbbox() != box.getbbox() or bytes(hidden) != bytes(box)
    # (c) the title is drawn where it belongs, and different characters look different
    # (boxes would all look the same)
    header = (MARGIN, 0, WIDTH - MARGIN, 150)
    chinese = decode(countdown_png(Translator("zh_CN"), countdown(campaign=CHINESE_NAME)))
    other = decode(countdown_png(Translator("zh_CN"), countdown(campaign="安全生产治本攻坚行动")))
    boxes = decode(countdown_png(Translator("zh_CN"), countdown(campaign=NOT_A_GLYPH * 10)))
    title = chinese.crop(header)
    assert light_pixels(title) > 2000
    assert ImageChops.difference(title, other.crop(header)).getbbox() is not None
    assert ImageChops.difference(title, boxes.crop(header)).getbbox() is not None


def test_card_draws_no_boxes_for_emoji() -> None:
    # The text pushes' phrases start with an emoji the card's font does not have.
    assert _clean("⏳ 40 days to the close (2026-12-31)") == "40 days to the close (2026-12-31)"
    assert _clean("🏁 专项行动今天收官") == "专项行动今天收官"


def test_long_names_stay_inside_the_card() -> None:
    data = countdown(
        -120,
        campaign="安全生产治本攻坚三年行动暨隐患排查整治专项行动" * 6,
        unit=LONG_UNIT,
        ranking=tuple(replace(row, unit=LONG_UNIT) for row in ranking()),
        figures=FigureCounts(
            tasks_total=12345678,
            tasks_done=12345678,
            tasks_percent=100,
            tasks_overdue=0,
            found=987654321,
            closed=987654321,
            open=0,
            overdue=0,
            major_open=0,
            rate=100,
        ),
    )
    image = decode(countdown_png(Translator("en"), data))
    # Below the header band, the margins stay blank: nothing ran past the card's edges.
    white = Image.new("RGB", (MARGIN - 10, HEIGHT - 220), "white")
    for x in (0, WIDTH - MARGIN + 10):
        strip = image.crop((x, 220, x + MARGIN - 10, HEIGHT))
        assert ImageChops.difference(strip, white).getbbox() is None


def test_card_with_no_figures_yet() -> None:
    zeros = dict.fromkeys(
        (
            "tasks_total",
            "tasks_done",
            "tasks_percent",
            "tasks_overdue",
            "found",
            "closed",
            "open",
            "overdue",
            "major_open",
            "rate",
        ),
        0,
    )
    image = decode(
        countdown_png(Translator("zh_CN"), countdown(120, figures=FigureCounts(**zeros)))
    )
    assert image.size == (WIDTH, HEIGHT)


def test_card_is_the_same_for_the_same_data() -> None:
    _ = Translator("zh_CN")
    data = countdown(5, unit="庄河市", ranking=ranking())
    assert countdown_png(_, data) == countdown_png(_, data)


# The charts


def test_charts_are_pngs_of_the_chart_size() -> None:
    _ = Translator("zh_CN")
    assert decode(trend_png(_, weeks())).size == (1200, 800)
    assert decode(units_png(_, units())).size == (1200, 800)


def test_trend_takes_dates_as_weeks_too() -> None:
    dated = [{**w, "week": f"2026-11-{n + 1:02d}"} for n, w in enumerate(weeks())]
    assert decode(trend_png(Translator("en"), dated)).size == (1200, 800)


def test_charts_without_data_say_so() -> None:
    for language in ("zh_CN", "en"):
        _ = Recording(language)
        assert decode(trend_png(_, [])).size == (1200, 800)
        assert decode(units_png(_, [])).size == (1200, 800)
        assert _.asked.count("No data yet") == 2


def test_charts_draw_chinese_with_no_missing_glyph() -> None:
    assert cjk_font_path() is not None
    assert font_family() != "DejaVu Sans"
    _ = Translator("zh_CN")
    assert missing_glyph_warnings(lambda: units_png(_, units())) == []
    assert missing_glyph_warnings(lambda: trend_png(_, weeks())) == []


def test_the_missing_glyph_check_can_fail() -> None:
    # The check above would see a character no font has: it is not vacuous.
    broken = [{**units()[0], "unit": NOT_A_GLYPH * 3}]
    assert missing_glyph_warnings(lambda: units_png(Translator("en"), broken))


def test_many_units_are_cut_to_what_fits() -> None:
    _ = Recording("en")
    many = [{**units()[1], "unit": f"单位{n}"} for n in range(40)]
    assert decode(units_png(_, many)).size == (1200, 800)
    assert "Showing {shown} of {total} units" in _.asked


def test_unit_labels_are_shortened() -> None:
    assert _label("庄河市", 26) == "庄河市"
    cut = _label(LONG_UNIT, 26)
    assert cut.endswith("…") and len(cut) <= 14


def test_charts_are_the_same_for_the_same_data() -> None:
    _ = Translator("zh_CN")
    assert units_png(_, units()) == units_png(_, units())
    assert trend_png(_, weeks()) == trend_png(_, weeks())
