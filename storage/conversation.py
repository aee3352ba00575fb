"""What every conversation shares: plain inputs from any front, notices, and update claims.

A front (Telegram now, WeCom later) turns a person's message into an `Input`; operations
answer with `Notice`s (translation keys and placeholders) that the front words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.clock import utcnow
from storage.models import Draft, Photo, ProcessedUpdate


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

    def as_row(self, *, draft_id: int, stage: str) -> Photo:
        """The photo row that keeps this photo with a draft until it is submitted."""
        return Photo(
            draft_id=draft_id,
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


def clean(text: str) -> str:
    return " ".join(text.split())


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
