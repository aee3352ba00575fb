"""Statistics in words: the short text that goes with the charts, and the CLI's table."""

from __future__ import annotations

from typing import Any

from bot.i18n import Translator
from bot.views.labels import shorten
from bot.views.reply import Say
from storage.ledger import Stats, UnitStats


def unit_label(_: Translator, row: UnitStats) -> str:
    return _("{unit} (own)", unit=row.unit) if row.own_only else row.unit


def _days(_: Translator, value: float | None) -> str:
    return "—" if value is None else _("{days} d", days=value)


def percent(rate: int | None) -> str:
    """A rate as people read it: "—" when there was nothing to rate (not 100 %)."""
    return "—" if rate is None else f"{rate}%"


def stats_text(_: Translator, stats: Stats) -> str:
    """A short summary for the chat (the charts carry the detail)."""
    t = stats.total
    lines = [
        _("📊 Statistics: {scope} ({today})", scope=t.unit, today=stats.today.isoformat()),
        _(
            "Found {found}, closed {closed}, open {open}, overdue {overdue}; rectification "
            "rate {rate}; average time to close {days}",
            found=t.found,
            closed=t.closed,
            open=t.open,
            overdue=t.overdue,
            rate=percent(t.rate),
            days=_days(_, t.avg_days_to_close),
        ),
    ]
    if stats.units:
        lines.append("")
        lines.append(_("By unit (found / closed / open / overdue, rate):"))
        for row in stats.units:
            lines.append(
                f"· {shorten(unit_label(_, row), 20)}: {row.found} / {row.closed} / {row.open}"
                f" / {row.overdue}, {percent(row.rate)}"
            )
    if stats.weeks:
        lines.append("")
        lines.append(_("Last weeks (found / closed):"))
        lines.append(" · ".join(f"{w.week[-3:]} {w.found}/{w.closed}" for w in stats.weeks))
    return shorten("\n".join(lines), 4096)


def stats_table(_: Translator, stats: Stats) -> str:
    """A plain table for the terminal."""
    head = [_("Unit"), _("Found"), _("Closed"), _("Open"), _("Overdue"), _("Rate"), _("Avg days")]
    rows = [
        [
            unit_label(_, r),
            str(r.found),
            str(r.closed),
            str(r.open),
            str(r.overdue),
            percent(r.rate),
            "" if r.avg_days_to_close is None else f"{r.avg_days_to_close:.1f}",
        ]
        for r in [*stats.units, stats.total]
    ]
    widths = [max(_width(x) for x in col) for col in zip(head, *rows, strict=False)]
    out = []
    for n, row in enumerate([head, *rows]):
        if n == len(rows):  # the total
            out.append("-" * (sum(widths) + 2 * len(widths)))
        out.append(
            "  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=False))
        )
    out.append("")
    out.append(_("Week      Found  Closed  Open at end"))
    for w in stats.weeks:
        out.append(f"{w.week}  {w.found:>5}  {w.closed:>6}  {w.open_end:>11}")
    return "\n".join(out)


def _width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters take two."""
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)


def stats_json(stats: Stats) -> dict[str, Any]:
    """Statistics as plain JSON data."""

    def unit(r: UnitStats) -> dict[str, Any]:
        return {
            "unit": r.unit,
            "own_only": r.own_only,
            "found": r.found,
            "closed": r.closed,
            "open": r.open,
            "overdue": r.overdue,
            "rectification_rate": r.rate,
            "avg_days_to_close": r.avg_days_to_close,
        }

    return {
        "scope": stats.total.unit,
        "today": stats.today.isoformat(),
        "total": unit(stats.total),
        "units": [unit(r) for r in stats.units],
        "weeks": [
            {"week": w.week, "found": w.found, "closed": w.closed, "open_end": w.open_end}
            for w in stats.weeks
        ],
    }


def stats_replies(_: Translator, stats: Stats, units_chart: bytes, trend_chart: bytes) -> list[Say]:
    """The figures in words, then the chart by unit and the weekly trend."""
    return [
        Say(stats_text(_, stats)),
        Say(_("By unit"), photo=units_chart),
        Say(_("Weekly trend"), photo=trend_chart),
    ]
