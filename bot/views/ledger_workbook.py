"""The ledger as a workbook: "one table and four lists", the full ledger, the quarter's figures.

Written with openpyxl in write-only mode, row by row as the database streams them, so the size
of an export does not decide the memory it takes. Headers speak the reader's language; times
are shown in the campaign's time zone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_, Translator
from bot.views.labels import SOURCE_NAMES, field_name, kind_name, level_name, status_name
from bot.views.reply import Document, Say
from storage.dto import FieldInfo
from storage.ledger import DangerRow, LedgerScope, danger_rows, quarter_rows, task_rows
from storage.models import DangerLevel, Field, RecordKind, TaskSource

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
DATE = "yyyy-mm-dd"
DATETIME = "yyyy-mm-dd hh:mm"

# (header, width) per column of each sheet.
TASK_COLUMNS = [
    (N_("Code"), 10),
    (N_("Title"), 48),
    (N_("Source"), 22),
    (N_("Field"), 14),
    (N_("Unit"), 18),
    (N_("Due date"), 12),
    (N_("Status"), 10),
    (N_("Found"), 8),
    (N_("Closed"), 8),
    (N_("Open"), 8),
    (N_("Overdue"), 8),
]
LEDGER_COLUMNS = [
    (N_("Number"), 17),
    (N_("Found at"), 17),
    (N_("Unit"), 16),
    (N_("Site"), 24),
    (N_("Field"), 12),
    (N_("Task"), 10),
    (N_("Level"), 14),
    (N_("Description"), 48),
    (N_("Location"), 28),
    (N_("Reporter"), 12),
    (N_("Deadline"), 12),
    (N_("Status"), 12),
    (N_("Rectified at"), 17),
    (N_("Verified by"), 12),
    (N_("Closed at"), 17),
    (N_("Days overdue"), 10),
    (N_("Photos"), 8),
    (N_("Kind"), 12),
]
LIST_COLUMNS = [
    (N_("Number"), 17),
    (N_("Found at"), 17),
    (N_("Unit"), 16),
    (N_("Site"), 24),
    (N_("Field"), 12),
    (N_("Level"), 14),
    (N_("Description"), 48),
    (N_("Deadline"), 12),
    (N_("Status"), 12),
    (N_("Closed at"), 17),
    (N_("Days overdue"), 10),
]
FIVE_COLUMNS = [
    (N_("Responsibility"), 18),
    (N_("Measures"), 30),
    (N_("Funds"), 14),
    (N_("Time limit"), 14),
    (N_("Contingency plan"), 24),
]
FIVE_KEYS = ("responsibility", "measures", "funds", "time_limit", "plan")
QUARTER_COLUMNS = [
    (N_("Unit"), 20),
    (N_("General found"), 14),
    (N_("General rectified"), 16),
    (N_("Major found"), 14),
    (N_("Major rectified"), 16),
]


class Sheet:
    """A write-only sheet with a styled, frozen, filtered header and set column widths.

    Rows are turned into cells and written in batches on a worker thread: a ledger of a
    hundred thousand rows must not keep the event loop (everybody's answers) waiting.
    """

    BATCH = 500

    def __init__(self, book: Workbook, title: str, columns: list[tuple[str, int]], _: Translator):
        ws = book.create_sheet(title=title[:31])
        assert isinstance(ws, WriteOnlyWorksheet)
        self.ws = ws
        self.width = len(columns)
        for n, (_header, width) in enumerate(columns, start=1):
            ws.column_dimensions[get_column_letter(n)].width = width
        ws.freeze_panes = "A2"
        header = []
        for text, _width in columns:
            cell = WriteOnlyCell(ws, value=_(text))
            cell.font, cell.fill = HEADER_FONT, HEADER_FILL
            cell.alignment = Alignment(vertical="center", wrap_text=True)
            header.append(cell)
        ws.append(header)
        self.rows = 0
        self._pending: list[list[Any]] = []

    async def add(self, values: list[Any]) -> None:
        self._pending.append(values)
        self.rows += 1
        if len(self._pending) >= self.BATCH:
            await self._flush()

    async def close(self) -> None:
        await self._flush()
        self.ws.auto_filter.ref = f"A1:{get_column_letter(self.width)}{self.rows + 1}"

    async def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            await asyncio.to_thread(self._write, batch)

    def _write(self, batch: list[list[Any]]) -> None:
        for values in batch:
            self.ws.append([self._cell(value) for value in values])

    def _cell(self, value: Any) -> Any:
        if isinstance(value, datetime):
            cell = WriteOnlyCell(self.ws, value=value)
            cell.number_format = DATETIME
            return cell
        if isinstance(value, date):
            cell = WriteOnlyCell(self.ws, value=value)
            cell.number_format = DATE
            return cell
        if isinstance(value, str):
            text = ILLEGAL_CHARACTERS_RE.sub("", value)  # Excel cannot store them
            if text.startswith("="):
                # A site typed as "=HYPERLINK(...)" stays text, never becomes a formula.
                cell = WriteOnlyCell(self.ws, value=text)
                cell.data_type = "s"
                return cell
            return text
        return value


Row = TypeVar("Row")


@dataclass(frozen=True)
class _Words:
    """How a row reads in this workbook: the reader's language, the field names, and times in
    the campaign's time zone."""

    translate: Translator
    fields: dict[str, FieldInfo]
    tz: ZoneInfo

    def local(self, value: datetime | None) -> datetime | None:
        # Excel has no time zones: show the campaign's wall-clock time.
        return value.astimezone(self.tz).replace(tzinfo=None) if value else None

    def field_of(self, code: str) -> str:
        return field_name(self.translate, self.fields[code]) if code in self.fields else code

    def task(self, row: tuple[Any, ...]) -> list[Any]:
        _ = self.translate
        code, title, source, field_code, unit, due, status, found, closed, open_, late = row
        return [
            code,
            title,
            _(SOURCE_NAMES[source]) if source in SOURCE_NAMES else source,
            self.field_of(field_code),
            unit,
            due,
            _("done") if status == "done" else _("open"),
            found,
            closed,
            open_,
            late,
        ]

    def listed(self, r: DangerRow) -> list[Any]:
        _ = self.translate
        return [
            r.number,
            self.local(r.found_at),
            r.unit,
            r.site,
            self.field_of(r.field),
            level_name(_, r.level),
            r.description,
            r.deadline,
            status_name(_, r.status),
            self.local(r.closed_at),
            r.days_overdue,
        ]

    def major(self, r: DangerRow) -> list[Any]:
        return self.listed(r) + [r.measures.get(k, "") for k in FIVE_KEYS]

    def ledger(self, r: DangerRow) -> list[Any]:
        _ = self.translate
        return [
            r.number,
            self.local(r.found_at),
            r.unit,
            r.site,
            self.field_of(r.field),
            r.task or "",
            level_name(_, r.level),
            r.description,
            r.location,
            r.reporter,
            r.deadline,
            status_name(_, r.status),
            self.local(r.rectified_at),
            r.verified_by or "",
            self.local(r.closed_at),
            r.days_overdue,
            r.photos,
            kind_name(_, r.kind),
        ]


async def _each(
    rows: AsyncIterator[Row], values: Callable[[Row], list[Any]]
) -> AsyncIterator[list[Any]]:
    async for row in rows:
        yield values(row)


async def _fill(
    book: Workbook,
    title: str,
    columns: list[tuple[str, int]],
    _: Translator,
    rows: AsyncIterator[list[Any]],
) -> int:
    """Write one sheet from the rows as they stream; return how many it holds."""
    sheet = Sheet(book, title, columns, _)
    async for values in rows:
        await sheet.add(values)
    await sheet.close()
    return sheet.rows


async def _ledger_sheet(
    book: Workbook, session: AsyncSession, scope: LedgerScope, words: _Words
) -> tuple[int, int]:
    """The full ledger; return its rows and how many of them are hidden dangers."""
    sheet = Sheet(
        book, words.translate(N_("Hidden-danger ledger")), LEDGER_COLUMNS, words.translate
    )
    hidden_dangers = 0
    async for r in danger_rows(session, scope):
        hidden_dangers += r.kind == RecordKind.HIDDEN_DANGER
        await sheet.add(words.ledger(r))
    await sheet.close()
    return sheet.rows, hidden_dangers


async def _quarter_sheet(
    book: Workbook, session: AsyncSession, scope: LedgerScope, _: Translator
) -> int | None:
    """The quarter's figures per unit, when the export covers one quarter."""
    quarter = scope.quarter()
    if quarter is None:
        return None
    year, q = quarter
    sheet = Sheet(book, _("{year} Q{q} statistics", year=year, q=q), QUARTER_COLUMNS, _)
    for row in await quarter_rows(session, scope):
        await sheet.add(list(row))
    await sheet.close()
    return sheet.rows


async def write_ledger(
    session: AsyncSession, scope: LedgerScope, path: Path, _: Translator
) -> dict[str, int]:
    """Write the workbook to `path`; return the number of rows per sheet."""
    fields = {
        f.code: FieldInfo(f.id, f.code, f.name_zh, f.name_en)
        for f in await session.scalars(select(Field))
    }
    words = _Words(_, fields, scope.tz)
    book = Workbook(write_only=True)
    # "One table and four lists" in the order the campaign's forms give them, then the ledger.
    # The rows are streamed only when their sheet is written.
    lists = [
        ("tasks", _("Task progress"), TASK_COLUMNS, _each(task_rows(session, scope), words.task)),
        (
            "problems",
            _("Outstanding problems"),
            LIST_COLUMNS,
            _each(danger_rows(session, scope, kind=RecordKind.PROBLEM), words.listed),
        ),
        (
            "major",
            _("Major hidden dangers"),
            LIST_COLUMNS + FIVE_COLUMNS,
            _each(
                danger_rows(session, scope, kind=RecordKind.HIDDEN_DANGER, level=DangerLevel.MAJOR),
                words.major,
            ),
        ),
        (
            "measures",
            _("Institutional measures"),
            TASK_COLUMNS,
            _each(task_rows(session, scope, source=TaskSource.INSTITUTIONAL), words.task),
        ),
        (
            "risks",
            _("Risks"),
            LIST_COLUMNS,
            _each(danger_rows(session, scope, kind=RecordKind.RISK), words.listed),
        ),
    ]
    counts = {
        key: await _fill(book, title, columns, _, rows) for key, title, columns, rows in lists
    }
    counts["ledger"], counts["hidden_dangers"] = await _ledger_sheet(book, session, scope, words)
    quarter = await _quarter_sheet(book, session, scope, _)
    if quarter is not None:
        counts["quarter"] = quarter
    await asyncio.to_thread(book.save, path)
    return counts


def export_name(scope: LedgerScope, _: Translator, stamp: Callable[[], str]) -> str:
    """A file name people recognise: ledger, unit, period, date."""
    parts = [_("ledger"), scope.unit_name or scope.campaign.name]
    if scope.date_from or scope.date_to:
        parts.append(
            f"{scope.date_from.isoformat() if scope.date_from else ''}~"
            f"{scope.date_to.isoformat() if scope.date_to else ''}"
        )
    parts.append(stamp())
    safe = "_".join(p.replace("/", "-").replace(" ", "") for p in parts if p)
    return f"{safe}.xlsx"


def ledger_document(_: Translator, counts: dict[str, int], path: Path, filename: str) -> Say:
    """The written workbook to hand over, captioned with what it holds."""
    caption = _(
        "The ledger: {tasks} tasks, {dangers} hidden dangers (major {major}), "
        "{problems} problems, {risks} risks.",
        tasks=counts["tasks"],
        dangers=counts["hidden_dangers"],
        major=counts["major"],
        problems=counts["problems"],
        risks=counts["risks"],
    )
    return Say(caption, document=Document(path, filename))
