"""What each kind of push carries: one frozen dataclass per kind, and the one way in and out of
an outbox row's JSON.

A push's content is fixed when it is queued (the figures of that morning, the notice of that
event) and worded when it is sent, possibly by another process after a restart: so the row
holds plain JSON, and `payload_json` / `payload_of` are the only code that writes or reads it.
The JSON keeps the shape rows always had (the same keys in the same order, dates as ISO
strings), so rows queued before these types existed still read.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from enum import StrEnum
from functools import cache
from typing import Any, Protocol, Union, get_args, get_origin, get_type_hints


class PushKind(StrEnum):
    """The kinds of push, as `outbox.kind` stores them."""

    COUNTDOWN = "countdown"  # a group's (or robot's) daily countdown with the figures
    OVERDUE = "overdue"  # a group's (or robot's) daily list of what is overdue in its unit
    DIGEST = "digest"  # a supervisor's daily list of what is overdue in their units
    ESCALATION = "escalation"  # what is long overdue below a unit, to that unit's groups
    REMINDER = "reminder"  # an inspector's daily list of what is due soon or late
    REPORT_CARD = "report_card"  # a new report's card, to the groups of its unit and above
    NOTICE = "notice"  # a translated sentence about a change, to a person or a group


# --- the countdown --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FigureCounts:
    """The campaign's figures for a unit, as the countdown shows them."""

    tasks_total: int
    tasks_done: int
    tasks_percent: int
    tasks_overdue: int
    found: int
    closed: int
    open: int
    overdue: int
    major_open: int
    rate: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RankedUnit:
    """One line of a city-wide countdown's ranking of the units below."""

    unit: str
    overdue: int
    open: int
    rate: int
    tasks_percent: int
    # How many were found (None in pushes queued before it was kept): none found has no rate.
    found: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CountdownPush:
    """Days to the close and the figures of a unit (or the whole campaign: `unit` None)."""

    campaign: str
    closing: date
    today: date
    days_left: int
    unit: str | None
    figures: FigureCounts
    ranking: tuple[RankedUnit, ...] = ()


# --- what is overdue ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class LateDanger:
    id: int
    number: str
    site: str
    unit: str
    level: str
    days: int  # past its deadline


@dataclass(frozen=True, slots=True, kw_only=True)
class LateTask:
    code: str
    title: str
    unit: str
    days: int  # past its due date


@dataclass(frozen=True, slots=True, kw_only=True)
class OverdueList:
    """What is overdue in a unit (with the units below) on a day: counted in full, the oldest
    named. Not a push itself: the three kinds below carry it to different people."""

    today: date
    count: int
    dangers: tuple[LateDanger, ...]
    task_count: int
    tasks: tuple[LateTask, ...]
    unit: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class OverduePush(OverdueList):
    """A group's (or robot's) daily overdue list; sent even when nothing is overdue."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestPush(OverdueList):
    """A supervisor's daily overdue list; queued only when something is overdue."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EscalationPush(OverdueList):
    """What has been overdue longer than the rules allow, below the unit of the groups told."""

    general_days: int
    major_days: int


# --- people's pushes ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ReminderItem:
    danger_id: int
    number: str
    site: str
    deadline: date
    days: int  # to the deadline; negative when past it


@dataclass(frozen=True, slots=True, kw_only=True)
class ReminderPush:
    """An inspector's daily reminder: what is due in a few days or late (the first named)."""

    items: tuple[ReminderItem, ...]
    count: int
    # The one hidden danger, when there is one: the message gets an "Open" button.
    danger_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportCardPush:
    """A new report's card: drawn from the record itself when sent (its photos included)."""

    danger_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticePush:
    """A sentence (a translation key and its placeholders) worded in the reader's language."""

    key: str
    params: Mapping[str, str | int] = field(default_factory=dict)
    # The hidden danger it is about, when there is one: the message gets an "Open" button.
    danger_id: int | None = None


Payload = (
    CountdownPush
    | OverduePush
    | DigestPush
    | EscalationPush
    | ReminderPush
    | ReportCardPush
    | NoticePush
)

PAYLOAD_TYPES: Mapping[PushKind, type[Payload]] = types.MappingProxyType(
    {
        PushKind.COUNTDOWN: CountdownPush,
        PushKind.OVERDUE: OverduePush,
        PushKind.DIGEST: DigestPush,
        PushKind.ESCALATION: EscalationPush,
        PushKind.REMINDER: ReminderPush,
        PushKind.REPORT_CARD: ReportCardPush,
        PushKind.NOTICE: NoticePush,
    }
)
_KINDS = {payload_type: kind for kind, payload_type in PAYLOAD_TYPES.items()}


def kind_of(payload: Payload) -> PushKind:
    """The kind of push a payload makes (by its exact type: a digest is not an overdue list)."""
    return _KINDS[type(payload)]


# --- to and from the row's JSON -------------------------------------------------------------------


class StoredPush(Protocol):
    """An outbox row, or the sender's copy of one."""

    @property
    def kind(self) -> str: ...

    @property
    def payload(self) -> Mapping[str, Any]: ...


def payload_json(payload: Payload) -> dict[str, Any]:
    """The JSON an outbox row stores for a payload.

    A field that defaults to None is left out while None, as such keys always were.
    """
    out = _plain(payload)
    assert isinstance(out, dict)
    return out


def payload_of(row: StoredPush) -> Payload:
    """Read a row's payload back into the type of its kind; ValueError for an unknown kind."""
    payload_type = PAYLOAD_TYPES[PushKind(row.kind)]
    return _read(payload_type, row.payload)


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, object] = {}
        for f in fields(value):
            item = getattr(value, f.name)
            if item is None and f.default is None:
                continue
            out[f.name] = _plain(item)
        return out
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _read(hint: Any, value: Any) -> Any:
    """Turn JSON back into `hint`: dataclasses, tuples, optional values, dates; the rest as is."""
    origin = get_origin(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        wanted = _hints(hint)
        return hint(**{name: _read(wanted[name], v) for name, v in value.items() if name in wanted})
    if origin is tuple:
        item_hint = get_args(hint)[0]
        return tuple(_read(item_hint, v) for v in value)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        present = [a for a in get_args(hint) if a is not type(None)]
        return _read(present[0], value) if len(present) == 1 else value
    if hint is date:
        return date.fromisoformat(value)
    if origin is Mapping:
        return dict(value)
    return value
