"""What the closed loop's operations return, and the settings they take."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from storage.conversation import (
    Notice,
)
from storage.dangers import DangerCard
from storage.fraud import FAR_FROM_SITE_KM
from storage.permissions import (
    Action,
)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ExtensionInfo:
    id: int
    requested_by: str
    reason: str
    old_deadline: date
    new_deadline: date


@dataclass(frozen=True, slots=True)
class RoundInfo:
    """The latest rectification round."""

    id: int
    submitted_by: str
    note: str
    measures: dict[str, str]
    submitted_at: datetime
    verdict: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class DangerDetail:
    """A hidden danger's card as one person may see it, with what they may do now."""

    card: DangerCard
    days_left: int
    history: list[HistoryEntry]
    actions: list[Action]
    flags: list[Notice]
    extension: ExtensionInfo | None
    latest_round: RoundInfo | None
    before_paths: list[str]
    after_paths: list[str]


@dataclass(frozen=True, slots=True)
class ActionDraftView:
    id: int
    action: str
    step: str
    danger_id: int
    number: str
    major: bool
    photos: int
    data: dict[str, Any]
    # For a reassignment: who could take it over (user id, name).
    choices: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LoopReply:
    """What the front shows after a closed-loop operation."""

    detail: DangerDetail | None = None
    draft: ActionDraftView | None = None
    notices: list[Notice] = field(default_factory=list)
    done: Notice | None = None
    duplicate_update: bool = False
    prompt: bool = True


@dataclass(frozen=True, slots=True)
class LoopRules:
    far_km: float = FAR_FROM_SITE_KM
