"""An album is answered once, after it has gone quiet, wherever its photos were handled.

Telegram sends an album as separate updates with no count and no end marker, and behind one
webhook address they may reach several processes. Each photo kept is noted in the database
(storage/albums.py); the process that handled the latest one answers, a moment after the
album went quiet, with the step's prompt ("3 of at most 10 …"); an album at the wrong step
gets one hint. What a dead process left unanswered is answered by whoever adopts it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Message
from telegram.ext import JobQueue

from bot.context import BotContext
from bot.i18n import Translator
from bot.intake.updates import OrderedUpdateProcessor
from handlers.telegram.dangers import show_loop
from handlers.telegram.prompts import send_prompt, where_they_stand
from storage import albums
from storage.accounts import Account
from storage.albums import AlbumTurn
from storage.clock import utcnow
from storage.db import Sessions
from storage.dialogue import PHOTOS

logger = logging.getLogger(__name__)

ALBUM_QUIET_SECONDS = 1.5
# A later update of the sender is still waiting: look again this soon.
ALBUM_RECHECK_SECONDS = 0.3


@dataclass(frozen=True, slots=True)
class _Album:
    """What the album's answer needs once the album has gone quiet."""

    media_group_id: str
    language: str
    update_id: int  # of the latest photo this process kept


async def answer_album_later(
    context: BotContext, message: Message, *, telegram_id: int, language: str, update_id: int
) -> None:
    """Note the photo just kept from this album; answer once the album has gone quiet, if no
    later photo of it came to this process or another meanwhile."""
    assert message.media_group_id is not None
    mark = context.bot_data.process_mark
    async with context.sessions() as session:
        await albums.note_photo(
            session,
            chat_id=message.chat_id,
            media_group_id=message.media_group_id,
            update_id=update_id,
            sender_id=telegram_id,
            language=language,
            receiver=mark.number if mark is not None else 0,
            now=utcnow(),
        )
    album = _Album(message.media_group_id, language, update_id)
    _schedule(context.jobs, message.chat_id, telegram_id, album)


async def first_of_album_at_wrong_step(
    context: BotContext, message: Message, *, telegram_id: int, language: str
) -> bool:
    """True for the first photo (in any process) of an album sent at a step that wants no
    photos: the album gets one hint, not one per picture."""
    assert message.media_group_id is not None
    async with context.sessions() as session:
        return await albums.first_hint(
            session,
            chat_id=message.chat_id,
            media_group_id=message.media_group_id,
            sender_id=telegram_id,
            language=language,
            now=utcnow(),
        )


async def answer_albums_left_over(
    job_queue: JobQueue[BotContext], sessions: Sessions, *, receiver: int
) -> int:
    """Answer the albums that processes now gone kept photos of and never answered; return
    how many were taken over."""
    async with sessions() as session:
        left = await albums.adopt_unanswered(session, receiver=receiver, now=utcnow())
    for album in left:
        _schedule(
            job_queue,
            album.chat_id,
            album.sender_id,
            _Album(album.media_group_id, album.language, album.last_update_id),
            after=0.0,
        )
    if left:
        logger.info("answering %d albums a stopped process had not answered", len(left))
    return len(left)


def _schedule(
    job_queue: JobQueue[BotContext],
    chat_id: int,
    telegram_id: int,
    album: _Album,
    after: float = ALBUM_QUIET_SECONDS,
) -> None:
    name = f"album:{chat_id}:{album.media_group_id}"
    for job in job_queue.get_jobs_by_name(name):
        job.schedule_removal()
    job_queue.run_once(
        _album_quiet, after, chat_id=chat_id, user_id=telegram_id, name=name, data=album
    )


async def _album_quiet(context: BotContext) -> None:
    job = context.job
    if job is None or job.chat_id is None or job.user_id is None:
        return
    album = job.data
    assert isinstance(album, _Album)
    processor = context.application.update_processor
    if isinstance(processor, OrderedUpdateProcessor):
        wait = processor.album_wait(job.user_id, album.media_group_id, ALBUM_QUIET_SECONDS)
        if wait > 0:  # more of it arrived meanwhile, or is still being stored
            _schedule(context.jobs, job.chat_id, job.user_id, album, after=wait)
            return
    async with context.sessions() as session:
        turn = await albums.answer_turn(
            session,
            chat_id=job.chat_id,
            media_group_id=album.media_group_id,
            update_id=album.update_id,
        )
    if turn is AlbumTurn.WAIT:
        _schedule(context.jobs, job.chat_id, job.user_id, album, after=ALBUM_RECHECK_SECONDS)
        return
    if turn is AlbumTurn.NOT_MINE:
        return
    try:
        await _answer(context, job.chat_id, job.user_id, Translator(album.language))
    finally:
        # Marked after the answer: a process killed in between leaves it to be answered again
        # rather than never.
        async with context.sessions() as session:
            await albums.answered(
                session,
                chat_id=job.chat_id,
                media_group_id=album.media_group_id,
                update_id=album.update_id,
            )


async def _answer(context: BotContext, chat_id: int, telegram_id: int, _: Translator) -> None:
    # A job, not an update: no `identify` ran, and the album kept its sender's Telegram id.
    answer = await where_they_stand(context, Account.telegram(telegram_id))
    # Done may have been pressed before the album went quiet: then the step has moved on
    # and its prompt was sent already. An album that began a report (photo first) stands at
    # the first step it left to ask, and an album sent while a report was open asks where its
    # photos go: either prompt is the album's answer.
    if answer.loop is not None:
        if answer.loop.draft is not None and answer.loop.draft.step == PHOTOS:
            await show_loop(context, chat_id, _, answer.loop)
        return
    report = answer.report
    draft = report.draft if report is not None else None
    if report is not None and draft is not None and draft.takes_photos:
        await send_prompt(context, chat_id, _, report)
