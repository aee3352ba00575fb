"""Charts for /stats: the weekly trend and the units side by side (matplotlib, as PNG).

Each call builds its own `Figure` on an Agg canvas (no pyplot, no backend switch) and passes
fonts explicitly, so nothing global (pyplot's current figure, rcParams) is read or changed:
charts may be drawn in worker threads at the same time.
"""

from __future__ import annotations

import io
import logging
import threading
import unicodedata
from functools import cache
from typing import Any

from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from bot.i18n import Translator
from bot.views.pictures.fonts import cjk_font_path

logger = logging.getLogger(__name__)

WIDTH_PX, HEIGHT_PX, DPI = 1200, 800, 150
MAX_UNITS = 15
UNIT_LABEL = 26  # columns of a unit's name on the axis; a Chinese character takes two

NAVY = "#1f3a5f"
GREEN = "#23783c"
AMBER = "#e0a030"
RED = "#b01e23"
GRID = "#d6dbe1"
INK = "#212529"
MUTED = "#606872"


_REGISTER = threading.Lock()


def font_family() -> str:
    """The family name of the CJK font, registered with matplotlib once; DejaVu Sans without one."""
    with _REGISTER:  # charts are drawn in worker threads; register the font only once
        return _register_font()


@cache
def _register_font() -> str:
    path = cjk_font_path()
    if path:
        try:
            font_manager.fontManager.addfont(path)
            return str(FontProperties(fname=path).get_name())
        except (OSError, RuntimeError, ValueError):
            logger.warning("matplotlib cannot load the CJK font %s", path, exc_info=True)
    return "DejaVu Sans"


def _props(size: float, weight: str = "normal") -> FontProperties:
    # DejaVu Sans after the CJK font: matplotlib falls back glyph by glyph.
    return FontProperties(family=[font_family(), "DejaVu Sans"], size=size, weight=weight)


def _label(text: str, limit: int) -> str:
    """Cut a name to `limit` columns (wide characters count two), marking the cut with "…"."""

    def columns(char: str) -> int:
        return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1

    if sum(columns(c) for c in text) <= limit:
        return text
    out, used = [], 1
    for char in text:
        used += columns(char)
        if used > limit:
            break
        out.append(char)
    return "".join(out).rstrip() + "…"


def _figure() -> tuple[Figure, Axes]:
    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _style(fig: Figure, ax: Axes, title: str) -> None:
    # Title and legend sit above the axes, on the figure, so they never cover the data.
    fig.text(0.03, 0.96, title, va="top", color=NAVY, fontproperties=_props(13))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(GRID)
    ax.tick_params(colors=MUTED, labelfontfamily=font_family(), labelsize=8)
    ax.set_axisbelow(True)


def _legend(fig: Figure, handles: list[Any]) -> None:
    fig.legend(
        handles=handles,
        prop=_props(8),
        frameon=False,
        loc="upper left",
        bbox_to_anchor=(0.025, 0.91),
        ncols=len(handles),
    )


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    # Fixed size (no bbox_inches="tight") and no timestamp: the same data gives the same bytes.
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _no_data(_: Translator, title: str) -> bytes:
    fig, ax = _figure()
    _style(fig, ax, title)
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        _("No data yet"),
        ha="center",
        va="center",
        color=MUTED,
        fontproperties=_props(20),
        transform=ax.transAxes,
    )
    return _png(fig)


def trend_png(_: Translator, weeks: list[dict[str, Any]]) -> bytes:
    """Chart hidden dangers found and closed per week, and those still open at each week's end."""
    title = _("Hidden dangers by week")
    if not weeks:
        return _no_data(_, title)
    fig, ax = _figure()
    _style(fig, ax, title)
    xs = list(range(len(weeks)))
    found = [int(w["found"]) for w in weeks]
    closed = [int(w["closed"]) for w in weeks]
    open_end = [int(w["open_end"]) for w in weeks]
    width = 0.38
    found_bars = ax.bar([x - width / 2 for x in xs], found, width, color=NAVY, label=_("Found"))
    closed_bars = ax.bar([x + width / 2 for x in xs], closed, width, color=GREEN, label=_("Closed"))
    (open_line,) = ax.plot(
        xs,
        open_end,
        color=RED,
        linewidth=2,
        marker="o",
        markersize=4,
        label=_("Still open at the week's end"),
    )
    if open_end:
        ax.annotate(
            str(open_end[-1]),
            (xs[-1], open_end[-1]),
            xytext=(0, 8),
            textcoords="offset points",
            ha="center",
            color=RED,
            fontproperties=_props(9),
        )
    # At most about a dozen week labels, the last one always shown.
    step = max(1, -(-len(weeks) // 12))
    shown = [x for x in xs if (len(xs) - 1 - x) % step == 0]
    ax.set_xticks(shown, [str(weeks[x]["week"]) for x in shown], rotation=30, ha="right")
    ax.set_xlim(-0.6, len(xs) - 0.4)
    ax.set_ylim(0, max([*found, *closed, *open_end, 1]) * 1.15)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.set_xlabel(_("Week"), fontproperties=_props(9), color=MUTED)
    ax.set_ylabel(_("Hidden dangers"), fontproperties=_props(9), color=MUTED)
    _legend(fig, [found_bars, closed_bars, open_line])
    fig.subplots_adjust(left=0.08, right=0.97, top=0.84, bottom=0.2)
    return _png(fig)


def units_png(_: Translator, units: list[dict[str, Any]]) -> bytes:
    """Chart each unit's hidden dangers as a bar (closed, open, overdue) and its rate."""
    title = _("Hidden dangers by unit")
    if not units:
        return _no_data(_, title)
    fig, ax = _figure()
    _style(fig, ax, title)
    shown = units[:MAX_UNITS]
    ys = list(range(len(shown)))
    closed = [int(u["closed"]) for u in shown]
    overdue = [min(int(u["overdue"]), int(u["open"])) for u in shown]
    # Overdue hidden dangers are among the open ones: the open part is split in two.
    not_due = [int(u["open"]) - o for u, o in zip(shown, overdue, strict=True)]
    height = 0.62
    ax.barh(ys, closed, height, color=GREEN)
    ax.barh(ys, not_due, height, left=closed, color=AMBER)
    ax.barh(
        ys,
        overdue,
        height,
        left=[c + n for c, n in zip(closed, not_due, strict=True)],
        color=RED,
    )
    totals = [c + n + o for c, n, o in zip(closed, not_due, overdue, strict=True)]
    longest = max([*totals, 1])
    for y, total, unit in zip(ys, totals, shown, strict=True):
        ax.text(
            total + longest * 0.01,
            y,
            _("rectified {rate}%", rate=unit["rate"]) if unit["rate"] is not None else "—",
            va="center",
            color=INK,
            fontproperties=_props(8),
        )
    ax.set_yticks(ys, [_label(str(u["unit"]), UNIT_LABEL) for u in shown])
    ax.invert_yaxis()  # the first unit on top
    ax.set_xlim(0, longest * 1.2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="x", color=GRID, linewidth=0.8)
    ax.set_xlabel(_("Hidden dangers"), fontproperties=_props(9), color=MUTED)
    handles = [
        Patch(color=GREEN, label=_("Closed")),
        Patch(color=AMBER, label=_("Open, not yet due")),
        Patch(color=RED, label=_("Overdue")),
    ]
    _legend(fig, handles)
    if len(units) > len(shown):
        fig.text(
            0.99,
            0.01,
            _("Showing {shown} of {total} units", shown=len(shown), total=len(units)),
            ha="right",
            va="bottom",
            color=MUTED,
            fontproperties=_props(8),
        )
    fig.subplots_adjust(left=0.25, right=0.97, top=0.84, bottom=0.1)
    return _png(fig)
