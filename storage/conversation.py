"""What every conversation shares: plain inputs from any front, notices, and update claims.

A front (Telegram now, WeCom later) turns a person's message into an `Input`; operations
answer with `Notice`s (translation keys and placeholders) that the front words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.clock import utcnow
from storage.models import Draft, DraftFlow, DraftStatus, Photo, ProcessedUpdate


class InputKind(StrEnum):
    TEXT = "text"
    BUTTON = "button"
    PHOTO = "photo"
    LOCATION = "location"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class NewPhoto:
    """A photo the front has downloaded and stored, with what the store learnt from it."""

    file_id: str
    file_unique_id: str
    sha256: str
    path: str
    thumb_path: str | None
    size: int
    width: int | None
    height: int | None
    exif_time: datetime | None
    exif_lat: float | None
    exif_lon: float | None
    phash: int | None = None
    source: str = "photo"

    def as_row(self, *, draft_id: int, stage: str, user_id: int) -> Photo:
        """The photo row that keeps this photo with a draft until it is submitted."""
        return Photo(
            draft_id=draft_id,
            user_id=user_id,
            stage=stage,
            file_id=self.file_id,
            file_unique_id=self.file_unique_id,
            sha256=self.sha256,
            path=self.path,
            thumb_path=self.thumb_path,
            size=self.size,
            width=self.width,
            height=self.height,
            exif_time=self.exif_time,
            exif_lat=self.exif_lat,
            exif_lon=self.exif_lon,
            phash=self.phash,
            source=self.source,
        )


@dataclass(frozen=True, slots=True)
class Input:
    """One thing a person sent, with the front's details stripped away."""

    kind: InputKind
    text: str = ""
    button: str = ""
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None
    photo: NewPhoto | None = None
    what: str = ""  # for OTHER: sticker, voice, video, … (only to word the hint)
    # The album a photo came in, where the front says (Telegram's media_group_id): the photos
    # of one album belong together, a new album is a new batch.
    album: str | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """A message for the person: a translation key and its placeholders."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)


async def claim_update(session: AsyncSession, update_id: int | None) -> bool:
    """Record the update id in this transaction; False when it was already acted on."""
    if update_id is None:
        return True
    # One statement where a savepoint around an insert took three: every answer runs this.
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    claimed = await session.execute(
        insert(ProcessedUpdate)
        .values(update_id=update_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["update_id"])
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


# Ids and counts a button may carry: plain ASCII digits, small enough for any integer column.
_LARGEST_ID = 2**31 - 1


def small_int(text: str) -> int | None:
    """The number a button or command carries, or None: "²", "٣", a sign or 99…9 are not ids
    (str.isdigit accepts the first two, and the last overflows a database integer)."""
    body = text[1:] if text.startswith("-") else text
    if not body or not body.isascii() or not body.isdecimal() or len(body) > 10:
        return None
    value = int(text)
    return value if -_LARGEST_ID <= value <= _LARGEST_ID else None


# Characters that change how text around them is shown (right-to-left overrides that make
# "gpj.exe" look like "exe.jpg", invisible marks) or are no text at all (C0/C1 controls).
_HIDDEN = re.compile(
    "[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)


def plain(text: str) -> str:
    """Text as people typed it, without direction overrides and control characters."""
    return _HIDDEN.sub("", text)


def clean(text: str) -> str:
    """One line of plain text, its runs of spaces made one."""
    return " ".join(plain(text).split())


async def open_draft_of(session: AsyncSession, user_id: int, flow: DraftFlow) -> Draft | None:
    """The person's open draft of one flow (a report, an action), locked for this answer."""
    return (
        await session.scalars(
            select(Draft)
            .where(
                Draft.user_id == user_id,
                Draft.flow == flow,
                Draft.status == DraftStatus.OPEN,
            )
            # Two answers of one person handled at once (two bot processes) must queue up;
            # SQLite needs no lock: BEGIN IMMEDIATE serialises every writer.
            .with_for_update()
        )
    ).first()


def set_data(draft: Draft, **values: Any) -> None:
    # JSON columns are not mutation-tracked: assign a new dict.
    data = dict(draft.data or {})
    for key, value in values.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    draft.data = data


# Telegram may restart update ids from a random number after a week without updates; ids
# older than this are forgotten so a new update is never mistaken for a replay.
KEEP_UPDATE_IDS = timedelta(days=2)


async def forget_old_updates(session: AsyncSession, *, now: datetime) -> int:
    """Delete update ids claimed long ago; return how many."""
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.created_at < now - KEEP_UPDATE_IDS)
    )
    await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
