"""Albums: one answer for a media group, however many processes its photos reached.

Telegram sends an album as separate updates sharing a `media_group_id`, with no count and no
end marker; behind one webhook address its photos may be handled by different processes. Each
photo kept notes its update here; the process that handled the latest photo answers once the
album has gone quiet and no later update of the sender waits in the inbox, and marks it
answered. A process that dies before answering leaves the album to whoever notices it is gone
(`adopt_unanswered`), as with the updates it left in the inbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from storage import inbox
from storage.models import Album

# An album not answered within this long after its latest photo is left unanswered: after a
# restart that late, its person has long moved on.
ADOPT_WITHIN = timedelta(minutes=10)
# Albums are forgotten a while after their latest photo (a photo of an album this old is
# simply noted again).
KEEP = timedelta(days=2)


class AlbumTurn(StrEnum):
    """Whether the asking process should answer the album now."""

    MINE = "mine"  # it handled the latest photo, and nothing of the sender waits
    WAIT = "wait"  # a later update of the sender is still in the inbox: ask again shortly
    NOT_MINE = "not mine"  # a later photo came to someone, or the answer went out already


@dataclass(frozen=True, slots=True)
class LeftOver:
    """An album whose answering process is gone, now the adopter's to answer."""

    chat_id: int
    media_group_id: str
    sender_id: int
    language: str
    last_update_id: int


def _key(chat_id: int, media_group_id: str) -> ColumnElement[bool]:
    return and_(Album.chat_id == chat_id, Album.media_group_id == media_group_id)


async def note_photo(
    session: AsyncSession,
    *,
    chat_id: int,
    media_group_id: str,
    update_id: int,
    sender_id: int,
    language: str,
    receiver: int,
    now: datetime,
) -> None:
    """Note that `receiver` kept a photo of the album from this update (the latest noted so
    far makes its process the one to answer)."""
    dialect = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    insert = dialect(Album).values(
        chat_id=chat_id,
        media_group_id=media_group_id,
        sender_id=sender_id,
        language=language,
        last_update_id=update_id,
        receiver=receiver,
        answered_update_id=None,
        hinted=False,
        updated_at=now,
    )
    newer = insert.excluded.last_update_id > Album.last_update_id
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["chat_id", "media_group_id"],
            set_={
                "last_update_id": case(
                    (newer, insert.excluded.last_update_id), else_=Album.last_update_id
                ),
                "receiver": case((newer, insert.excluded.receiver), else_=Album.receiver),
                "language": insert.excluded.language,
                "updated_at": insert.excluded.updated_at,
            },
        )
    )
    await session.commit()


async def answer_turn(
    session: AsyncSession, *, chat_id: int, media_group_id: str, update_id: int
) -> AlbumTurn:
    """Whether the process that kept the photo of `update_id` should answer the album now."""
    album = await session.scalar(select(Album).where(_key(chat_id, media_group_id)))
    if album is None or album.last_update_id != update_id or album.answered_update_id == update_id:
        return AlbumTurn.NOT_MINE
    # A photo still waiting its turn (or "Done" pressed right after the album) comes first.
    if await inbox.sender_has_later(session, sender_id=album.sender_id, after=update_id):
        return AlbumTurn.WAIT
    return AlbumTurn.MINE


async def answered(
    session: AsyncSession, *, chat_id: int, media_group_id: str, update_id: int
) -> None:
    """Mark the album answered as of its photo of `update_id` (a later photo makes it due
    again)."""
    await session.execute(
        update(Album)
        .where(_key(chat_id, media_group_id), Album.last_update_id == update_id)
        .values(answered_update_id=update_id)
    )
    await session.commit()


async def first_hint(
    session: AsyncSession,
    *,
    chat_id: int,
    media_group_id: str,
    sender_id: int,
    language: str,
    now: datetime,
) -> bool:
    """True for the first photo of an album sent at the wrong step, wherever it was handled
    (the album gets one hint, not one per photo)."""
    dialect = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        dialect(Album)
        .values(
            chat_id=chat_id,
            media_group_id=media_group_id,
            sender_id=sender_id,
            language=language,
            last_update_id=0,
            receiver=0,
            hinted=False,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["chat_id", "media_group_id"])
    )
    claimed = await session.execute(
        update(Album)
        .where(_key(chat_id, media_group_id), Album.hinted.is_(False))
        .values(hinted=True, updated_at=now)
    )
    await session.commit()
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


async def adopt_unanswered(
    session: AsyncSession, *, receiver: int, now: datetime
) -> list[LeftOver]:
    """The recent albums left unanswered by processes that are gone, now `receiver`'s."""
    unanswered = and_(
        Album.last_update_id > 0,
        or_(
            Album.answered_update_id.is_(None),
            Album.answered_update_id != Album.last_update_id,
        ),
        Album.updated_at >= now - ADOPT_WITHIN,
    )
    others = set(
        await session.scalars(
            select(Album.receiver).where(unanswered, Album.receiver != receiver).distinct()
        )
    )
    gone = [other for other in sorted(others) if await inbox.process_gone(session, other)]
    if not gone:
        await session.commit()
        return []
    albums = list(await session.scalars(select(Album).where(unanswered, Album.receiver.in_(gone))))
    left = [
        LeftOver(a.chat_id, a.media_group_id, a.sender_id, a.language, a.last_update_id)
        for a in albums
    ]
    for album in albums:
        album.receiver = receiver
    await session.commit()
    return left


async def forget_old(session: AsyncSession, *, now: datetime) -> int:
    """Forget albums whose latest photo came long ago; return how many."""
    result = await session.execute(delete(Album).where(Album.updated_at < now - KEEP))
    await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
