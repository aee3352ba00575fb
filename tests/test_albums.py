"""An album's photos may reach several processes: whoever handled the latest answers, once."""

from __future__ import annotations

from datetime import timedelta

from storage import albums, inbox
from storage.albums import AlbumTurn
from storage.clock import utcnow
from storage.db import Sessions

CHAT = 500
ALBUM = "13579"


async def _note(sessions: Sessions, update_id: int, receiver: int) -> None:
    async with sessions() as s:
        await albums.note_photo(
            s,
            chat_id=CHAT,
            media_group_id=ALBUM,
            update_id=update_id,
            sender_id=CHAT,
            language="en",
            receiver=receiver,
            now=utcnow(),
        )


async def _turn(sessions: Sessions, update_id: int) -> AlbumTurn:
    async with sessions() as s:
        return await albums.answer_turn(s, chat_id=CHAT, media_group_id=ALBUM, update_id=update_id)


async def test_the_process_with_the_latest_photo_answers_once(sessions: Sessions) -> None:
    # Photos 11, 13 to one process, 12 and 14 to another — kept in whatever order they finish.
    for update_id, receiver in ((11, 1), (12, 2), (14, 2), (13, 1)):
        await _note(sessions, update_id, receiver)
    assert [await _turn(sessions, u) for u in (11, 12, 13, 14)] == [
        AlbumTurn.NOT_MINE,
        AlbumTurn.NOT_MINE,
        AlbumTurn.NOT_MINE,
        AlbumTurn.MINE,
    ]
    async with sessions() as s:
        await albums.answered(s, chat_id=CHAT, media_group_id=ALBUM, update_id=14)
    assert await _turn(sessions, 14) == AlbumTurn.NOT_MINE  # answered already
    # A photo later still makes the album due again, for its own process.
    await _note(sessions, 15, 1)
    assert await _turn(sessions, 15) == AlbumTurn.MINE


async def test_a_later_update_of_the_sender_in_the_inbox_makes_the_answer_wait(
    sessions: Sessions,
) -> None:
    await _note(sessions, 11, 1)
    async with sessions() as s:
        await inbox.write(
            s, keep={12: {}}, now=utcnow(), receiver=2, orders={12: inbox.Order(CHAT, CHAT)}
        )
    assert await _turn(sessions, 11) == AlbumTurn.WAIT
    async with sessions() as s:
        await inbox.forget(s, [12])
    assert await _turn(sessions, 11) == AlbumTurn.MINE


async def test_an_album_at_the_wrong_step_is_hinted_once(sessions: Sessions) -> None:
    hints = []
    for _ in range(3):
        async with sessions() as s:
            hints.append(
                await albums.first_hint(
                    s,
                    chat_id=CHAT,
                    media_group_id=ALBUM,
                    sender_id=CHAT,
                    language="en",
                    now=utcnow(),
                )
            )
    assert hints == [True, False, False]
    async with sessions() as s:  # a hint is no photo: nothing to answer, nothing to adopt
        assert await albums.adopt_unanswered(s, receiver=3, now=utcnow()) == []


async def test_an_album_a_gone_process_left_unanswered_is_adopted_once(
    sessions: Sessions,
) -> None:
    await _note(sessions, 11, 1)
    await _note(sessions, 12, 1)
    async with sessions() as s:
        [left] = await albums.adopt_unanswered(s, receiver=2, now=utcnow())
    assert (left.chat_id, left.media_group_id, left.last_update_id) == (CHAT, ALBUM, 12)
    async with sessions() as s:  # now the adopter's: it does not take it over again
        assert await albums.adopt_unanswered(s, receiver=2, now=utcnow()) == []
    async with sessions() as s:
        await albums.answered(s, chat_id=CHAT, media_group_id=ALBUM, update_id=12)
    async with sessions() as s:
        assert await albums.adopt_unanswered(s, receiver=4, now=utcnow()) == []


async def test_old_albums_are_neither_adopted_nor_kept(sessions: Sessions) -> None:
    await _note(sessions, 11, 1)
    later = utcnow() + albums.ADOPT_WITHIN + timedelta(seconds=1)
    async with sessions() as s:
        assert await albums.adopt_unanswered(s, receiver=2, now=later) == []
    async with sessions() as s:
        assert await albums.forget_old(s, now=utcnow() + albums.KEEP - timedelta(1)) == 0
        assert await albums.forget_old(s, now=utcnow() + albums.KEEP + timedelta(1)) == 1
