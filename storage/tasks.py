"""Campaign tasks: import them from a table (upsert by code) and look them up."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import record_event
from storage.campaigns import require_campaign
from storage.dto import ImportResult
from storage.errors import N_, DomainError
from storage.models import Field, Task, TaskSource, Unit
from storage.units import find_unit, unit_and_descendants

COLUMNS = ("code", "title", "source", "field", "unit", "due_date")

# Headers people actually write, in English and Chinese, mapped to our column names.
HEADER_ALIASES = {
    "code": "code",
    "task code": "code",
    "编号": "code",
    "任务编号": "code",
    "title": "title",
    "task": "title",
    "标题": "title",
    "任务": "title",
    "任务名称": "title",
    "source": "source",
    "来源": "source",
    "任务来源": "source",
    "field": "field",
    "领域": "field",
    "专项领域": "field",
    "unit": "unit",
    "owning unit": "unit",
    "单位": "unit",
    "责任单位": "unit",
    "牵头单位": "unit",
    "due_date": "due_date",
    "due date": "due_date",
    "due": "due_date",
    "截止日期": "due_date",
    "完成时限": "due_date",
    "完成时间": "due_date",
}

SOURCE_ALIASES = {
    "state_council": TaskSource.STATE_COUNCIL,
    "state council": TaskSource.STATE_COUNCIL,
    "国务院": TaskSource.STATE_COUNCIL,
    "国务院安委会": TaskSource.STATE_COUNCIL,
    "provincial": TaskSource.PROVINCIAL,
    "province": TaskSource.PROVINCIAL,
    "省": TaskSource.PROVINCIAL,
    "省级": TaskSource.PROVINCIAL,
    "municipal": TaskSource.MUNICIPAL,
    "city": TaskSource.MUNICIPAL,
    "市": TaskSource.MUNICIPAL,
    "市级": TaskSource.MUNICIPAL,
    "enterprise": TaskSource.ENTERPRISE,
    "企业主体责任": TaskSource.ENTERPRISE,
    "institutional": TaskSource.INSTITUTIONAL,
    "制度措施": TaskSource.INSTITUTIONAL,
}

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$")
MAX_TITLE = 500


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one line of an import file was refused."""

    line: int
    key: str
    params: Mapping[str, Any]


class TaskImportError(DomainError):
    """The file had bad rows; nothing was imported."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(N_("{count} bad rows; nothing was imported."), count=len(errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class _TaskRow:
    line: int
    code: str
    title: str
    source: str
    field_id: int
    unit_id: int
    due_date: date


def normalise_header(name: str) -> str:
    """Map a column header to hdbot's column name ("" when unknown)."""
    key = " ".join(str(name or "").replace("\ufeff", "").split()).lower()
    return HEADER_ALIASES.get(key, HEADER_ALIASES.get(key.replace(" ", "_"), ""))


def parse_date(value: object) -> date | None:
    """Read a date as spreadsheets and people write it (2026-12-05, 2026/12/5, 2026年12月5日)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    match = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", text)
    if not match:
        match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})[T ][\d:.]+", text)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


async def import_tasks(
    session: AsyncSession,
    *,
    rows: Iterable[tuple[int, Mapping[str, object]]],
    actor: str,
    default_source: str | None = None,
) -> ImportResult:
    """Upsert tasks by code from (line number, {header: value}) rows, all or nothing.

    `default_source` fills a missing or empty source column (institutional measures).
    """
    campaign = await require_campaign(session)
    names = await _names(session)
    parsed = _parse_rows(rows, names, default_source)
    result = await _upsert(session, campaign.id, parsed)
    if result.created or result.updated:
        record_event(
            session,
            action="tasks.imported",
            actor=actor,
            subject=campaign.name,
            detail={
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
            },
        )
    await session.commit()
    return result


@dataclass(frozen=True)
class _Names:
    """What a sheet may call a field (its code or either name, any case) and a unit."""

    field_by_name: dict[str, int]
    unit_by_name: dict[str, int]


async def _names(session: AsyncSession) -> _Names:
    field_by_name: dict[str, int] = {}
    for f in await session.scalars(select(Field)):
        for name in (f.code, f.name_zh, f.name_en):
            field_by_name[name.lower()] = f.id
    unit_by_name = {u.name: u.id for u in await session.scalars(select(Unit))}
    return _Names(field_by_name, unit_by_name)


def _parse_rows(
    rows: Iterable[tuple[int, Mapping[str, object]]], names: _Names, default_source: str | None
) -> list[_TaskRow]:
    """Check every row and return them parsed; raise TaskImportError with every error found."""
    errors: list[RowError] = []
    parsed: list[_TaskRow] = []
    first_line_of: dict[str, int] = {}
    header_checked = False
    for line, raw in rows:
        values = {normalise_header(k): v for k, v in raw.items() if normalise_header(k)}
        if default_source is not None and not str(values.get("source") or "").strip():
            values["source"] = default_source
        if not header_checked:
            header_checked = True
            missing = [c for c in COLUMNS if c not in values]
            if missing:
                errors.append(
                    RowError(1, N_("missing columns: {columns}"), {"columns": ", ".join(missing)})
                )
                break
        values = {column: None for column in COLUMNS} | values
        text = {k: ("" if v is None else str(v).strip()) for k, v in values.items()}
        if not any(text.values()):
            continue
        row_errors = _check_row(line, text, values, names.field_by_name, names.unit_by_name)
        if row_errors:
            errors.extend(row_errors)
            continue
        code = text["code"]
        if code in first_line_of:
            errors.append(
                RowError(
                    line,
                    N_("code {code} already appears on line {other}"),
                    {"code": code, "other": first_line_of[code]},
                )
            )
            continue
        first_line_of[code] = line
        parsed.append(_task_row(line, text, values, names))
    if not header_checked:
        errors.append(RowError(1, N_("the file has no rows"), {}))
    if errors:
        raise TaskImportError(errors)
    return parsed


def _task_row(
    line: int, text: Mapping[str, str], values: Mapping[str, object], names: _Names
) -> _TaskRow:
    return _TaskRow(
        line=line,
        code=text["code"],
        title=" ".join(text["title"].split()),
        source=SOURCE_ALIASES[text["source"].lower()],
        field_id=names.field_by_name[text["field"].lower()],
        unit_id=names.unit_by_name[text["unit"]],
        due_date=parse_date(values["due_date"]) or date.min,
    )


async def _upsert(session: AsyncSession, campaign_id: int, parsed: list[_TaskRow]) -> ImportResult:
    """Add the new codes, update the changed ones; count each."""
    existing = {
        t.code: t
        for t in await session.scalars(select(Task).where(Task.campaign_id == campaign_id))
    }
    created = updated = unchanged = 0
    for row in parsed:
        task = existing.get(row.code)
        new = {
            "title": row.title,
            "source": row.source,
            "field_id": row.field_id,
            "unit_id": row.unit_id,
            "due_date": row.due_date,
        }
        if task is None:
            session.add(Task(campaign_id=campaign_id, code=row.code, **new))
            created += 1
        elif any(getattr(task, k) != v for k, v in new.items()):
            for k, v in new.items():
                setattr(task, k, v)
            updated += 1
        else:
            unchanged += 1
    return ImportResult(created, updated, unchanged)


def _check_row(
    line: int,
    text: Mapping[str, str],
    values: Mapping[str, object],
    field_by_name: Mapping[str, int],
    unit_by_name: Mapping[str, int],
) -> list[RowError]:
    errors: list[RowError] = []

    def bad(key: str, **params: Any) -> None:
        errors.append(RowError(line, key, params))

    if not text["code"]:
        bad(N_("the code is empty"))
    elif not CODE_RE.match(text["code"]):
        bad(
            N_("code {code} may hold only letters, digits and . _ / - (at most 40)"),
            code=text["code"],
        )
    if not text["title"]:
        bad(N_("the title is empty"))
    elif len(text["title"]) > MAX_TITLE:
        bad(N_("the title is longer than {max} characters"), max=MAX_TITLE)
    if text["source"].lower() not in SOURCE_ALIASES:
        bad(
            N_("unknown source {source} (use one of {choices})"),
            source=text["source"],
            choices=", ".join(TaskSource),
        )
    if text["field"].lower() not in field_by_name:
        bad(N_("unknown field {field}"), field=text["field"])
    if text["unit"] not in unit_by_name:
        bad(N_("unknown unit {unit} (add it with `hdbot unit add`)"), unit=text["unit"])
    if parse_date(values["due_date"]) is None:
        bad(N_("due date {value} is not a date like 2026-12-31"), value=text["due_date"])
    return errors


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """A task as the command line lists it."""

    code: str
    title: str
    source: str
    field: str
    unit: str
    due_date: date
    status: str


async def list_tasks(session: AsyncSession, *, unit: str | None = None) -> list[TaskInfo]:
    """The campaign's tasks (of a unit and the units below it, when given), by code."""
    campaign = await require_campaign(session)
    stmt = (
        select(
            Task.code, Task.title, Task.source, Field.code, Unit.name, Task.due_date, Task.status
        )
        .join(Field, Field.id == Task.field_id)
        .join(Unit, Unit.id == Task.unit_id)
        .where(Task.campaign_id == campaign.id)
        .order_by(Task.code)
    )
    if unit is not None:
        below = await unit_and_descendants(session, (await find_unit(session, unit)).id)
        stmt = stmt.where(Task.unit_id.in_(below))
    return [TaskInfo(*row) for row in await session.execute(stmt)]
