"""Plain objects that domain operations return: no ORM rows leave storage/."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from storage.models.dangers import DangerLevel


@dataclass(frozen=True, slots=True)
class CampaignInfo:
    id: int
    name: str
    closing_date: date
    timezone: str
    deadline_days_general: int = 7
    deadline_days_major: int = 30

    def default_deadline_days(self, level: str) -> int:
        """Days a report of this level gets to be rectified unless its reporter picks a date."""
        if level == DangerLevel.MAJOR:
            return self.deadline_days_major
        return self.deadline_days_general


@dataclass(frozen=True, slots=True)
class UnitInfo:
    id: int
    name: str
    kind: str
    parent_id: int | None
    parent_name: str | None = None
    depth: int = 0


@dataclass(frozen=True, slots=True)
class FieldInfo:
    id: int
    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True, slots=True)
class PhotoRef:
    """Where a stored photo can be found: on Telegram's servers and in the photo store."""

    file_id: str
    source: str
    path: str
    thumb_path: str | None


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A registered person; they hold a Telegram id, a WeCom user id, or both."""

    id: int
    telegram_id: int | None
    wecom_user_id: str | None
    name: str
    role: str
    unit_id: int | None
    unit_name: str | None
    active: bool


@dataclass(frozen=True, slots=True)
class InviteInfo:
    code: str
    role: str
    unit_name: str | None
    max_uses: int
    uses: int
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged
