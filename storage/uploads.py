"""How much a person may still upload, checked before a download, and forgetting what nobody uses.

A photo is refused before the bot fetches it when the open draft holds the most it may, or
when the person has sent more than a day's share of bytes (a stolen phone cannot fill the
disk). Photos left behind — removed from a draft, in a draft thrown away or a cancelled
action — are deleted after a grace period, their files with them when no other record refers
to the same bytes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account
from storage.errors import N_, Invalid
from storage.models import Draft, DraftStatus, Photo, PhotoStage, User

logger = logging.getLogger(__name__)

MAX_PHOTOS = 10  # a report, a rectification
DAY = timedelta(days=1)
GRACE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Room:
    # In the person's open drafts (report or action), apart from the photos held for "add to
    # the report or start a new one", which fill a place of their own.
    photos_in_draft: int
    bytes_today: int  # sent in the last 24 hours
    photos_held: int = 0


async def upload_room(session: AsyncSession, *, account: Account, now: datetime) -> Room:
    """What the person has already sent: photos in their open drafts, bytes in the last day."""
    user_id = select(User.id).where(account.of_user()).scalar_subquery()
    in_draft, held = (
        select(func.count())
        .select_from(Photo)
        .join(Draft, Draft.id == Photo.draft_id)
        .where(Draft.user_id == user_id, Draft.status == DraftStatus.OPEN, stage)
        .scalar_subquery()
        for stage in (Photo.stage != PhotoStage.HELD, Photo.stage == PhotoStage.HELD)
    )
    today = (
        select(func.coalesce(func.sum(Photo.size), 0))
        .where(Photo.user_id == user_id, Photo.created_at > now - DAY)
        .scalar_subquery()
    )
    photos, sent, kept = (await session.execute(select(in_draft, today, held))).one()
    return Room(int(photos or 0), int(sent or 0), int(kept or 0))


def check_room(room: Room, *, size: int | None, bytes_a_day: int, held: bool = False) -> None:
    """Refuse a photo before it is downloaded, when it would not fit where it goes: into the
    open drafts, or (`held`) among the photos held for "add to it or start a new one"."""
    if (room.photos_held if held else room.photos_in_draft) >= MAX_PHOTOS:
        raise Invalid(N_("That is {max} photos already, the most a report holds."), max=MAX_PHOTOS)
    if room.bytes_today + (size or 0) > bytes_a_day:
        raise Invalid(
            N_("You sent {limit_mb} MB of photos today, the most a day allows. Try tomorrow."),
            limit_mb=bytes_a_day >> 20,
        )


async def forget_unused_photos(
    session: AsyncSession, root: Path, *, now: datetime, grace: timedelta = GRACE, batch: int = 500
) -> int:
    """Delete photos no draft, hidden danger or rectification holds (older than `grace`), and
    their files when nothing else refers to them; return how many photos went."""
    unused = (
        Photo.draft_id.is_(None),
        Photo.danger_id.is_(None),
        Photo.rectification_id.is_(None),
        Photo.created_at < now - grace,
    )
    rows = (
        await session.execute(
            select(Photo.id, Photo.path, Photo.thumb_path).where(*unused).limit(batch)
        )
    ).all()
    if not rows:
        return 0
    await session.execute(delete(Photo).where(Photo.id.in_([r.id for r in rows])))
    paths = {p for r in rows for p in (r.path, r.thumb_path) if p}
    still_used = set(await session.scalars(select(Photo.path).where(Photo.path.in_(paths)))) | set(
        await session.scalars(select(Photo.thumb_path).where(Photo.thumb_path.in_(paths)))
    )
    await session.commit()
    for relative in paths - still_used:
        _remove(root, relative)
    return len(rows)


def _remove(root: Path, relative: str) -> None:
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        logger.warning("refusing to delete %s: outside the photo store", relative)
        return
    try:
        path.unlink(missing_ok=True)
    except OSError as err:
        logger.warning("could not delete %s: %s", relative, err)
