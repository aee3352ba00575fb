"""Many at once, end to end: floods do not hold up inspectors, conversations keep their order."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

import handlers.ledger as ledger_answers
from bot.intake.updates import OrderedUpdateProcessor
from bot.sandbox.botapi import Chat, FakeBotAPI, Message, Person, make_jpeg
from storage.models import Draft, DraftStatus, Photo, User
from tests.harness import RunningBot, running_bot, settings_for
from tests.phone import enrol, report_up_to_photos, seed_campaign

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # load tests: at the first machine date only

RECEIVED = re.compile(r"(\d+) of at most 10 photos received")


@pytest.fixture
async def bot(server: FakeBotAPI, sqlite_url: str, tmp_path: Path) -> AsyncIterator[RunningBot]:
    settings = settings_for(server, db_url=sqlite_url, data_dir=tmp_path, language="en")
    async with running_bot(settings) as running:
        await seed_campaign(running)
        yield running


def processor(bot: RunningBot) -> OrderedUpdateProcessor:
    found = bot.application.update_processor
    assert isinstance(found, OrderedUpdateProcessor)
    return found


async def keep_sending(person: Person, texts: list[str], per_second: float, chat: Chat) -> None:
    for text in texts:
        person.send_text(text, chat=chat)
        await asyncio.sleep(1 / per_second)


async def inspectors(server: FakeBotAPI, bot: RunningBot, *names: str) -> list[Person]:
    """Registered inspectors of 甘井子区, English phones."""
    people = [server.user(first_name=name, language_code="en") for name in names]
    for person in people:
        await enrol(bot, person, "inspector", "甘井子区")
    return people


async def answer_time(person: Person, text: str) -> float:
    """Seconds from sending `text` to the bot's answer."""
    sent = person.send_text(text)
    started = time.monotonic()
    await person.private_chat.next_message(lambda m: m.message_id > sent.message_id, within=30)
    return time.monotonic() - started


async def test_an_inspector_is_answered_while_strangers_and_a_group_flood(
    server: FakeBotAPI, bot: RunningBot
) -> None:
    wang, zhao = await inspectors(server, bot, "Wang", "Zhao")
    await report_up_to_photos(zhao, site="Works A", description="Broken railing")

    strangers = [server.user(first_name=f"S{n}", language_code="en") for n in range(20)]
    spammer = strangers[0]
    their_group = server.group("Spam group", members=strangers, admins=[spammer])
    floods = [
        keep_sending(
            spammer, ["/countdown", "/help", "/bind 甘井子区", "/mine"] * 25, 20, their_group
        )
    ] + [keep_sending(s, [f"hello {n}" for n in range(25)], 5, s.private_chat) for s in strangers]
    flooding = asyncio.gather(*floods)
    # An inspector sends an album of ten big photos meanwhile.
    zhao.send_album([make_jpeg(3000, 2000, color=(20 * n, 90, 160)) for n in range(10)])

    waits = []
    for _ in range(8):
        waits.append(await answer_time(wang, "/help"))
        await asyncio.sleep(0.4)
    await flooding

    assert max(waits) < 3, waits  # today: no answer within 30 s
    album = await zhao.private_chat.next_message(within=30)
    assert RECEIVED.search(album.text or "") and "10 of" in (album.text or "")
    await zhao.private_chat.expect_silence(0.5)  # one answer for the album
    # The group nobody bound got at most a couple of answers for a hundred commands.
    assert len(their_group.bot_messages) <= 2
    # Each stranger was told how to register once, not once per message.
    assert all(len(s.private_chat.bot_messages) <= 1 for s in strangers)
    assert processor(bot).refused > 0  # the floods were cut before any handler


async def test_a_bound_group_gets_at_most_its_share_of_answers(
    server: FakeBotAPI, bot: RunningBot
) -> None:
    li = server.user(first_name="Li", language_code="en")
    wang = server.user(first_name="Wang", language_code="en")
    await enrol(bot, li, "supervisor", "甘井子区")
    await enrol(bot, wang, "inspector", "甘井子区")
    group = server.group("Ganjingzi safety", members=[wang], admins=[li])
    li.send_text("/bind 甘井子区", chat=group)
    await group.next_message()
    await keep_sending(wang, ["/countdown"] * 40, 8, group)
    assert await answer_time(wang, "/help") < 3
    await asyncio.sleep(1.5)
    cards = [m for m in group.bot_messages if m.photo]
    # Telegram allows about 20 messages a minute in a group; the bind answer was one of them.
    assert 5 <= len(cards) <= 19


async def test_two_conversations_interleave_each_in_order_and_an_album_is_answered_once(
    server: FakeBotAPI, bot: RunningBot
) -> None:
    wang, zhao = await inspectors(server, bot, "Wang", "Zhao")
    await report_up_to_photos(wang, site="Works A", description="Broken railing")
    await report_up_to_photos(zhao, site="Works B", description="Blocked fire exit")

    # Photo by photo, alternating, without waiting for any answer.
    sent: dict[int, list[str]] = {wang.id: [], zhao.id: []}
    for n in range(5):
        for person, tint in ((wang, 40), (zhao, 200)):
            message = person.send_photo(make_jpeg(color=(tint, 10 * n, 90)))
            sent[person.id].append(largest(message))
    for person in (wang, zhao):
        counts = [
            int(RECEIVED.search(m.text or "")[1])  # type: ignore[index]
            for m in await answers(person.private_chat, 5)
        ]
        assert counts == [1, 2, 3, 4, 5]  # each answer saw the one before it

    # Both interleaved again, this time an album each: one answer per album.
    wang.send_album([make_jpeg(color=(40, 200, n * 60)) for n in range(3)])
    zhao.send_album([make_jpeg(color=(200, 200, n * 60)) for n in range(4)])
    assert "9 of" in ((await zhao.private_chat.next_message(within=10)).text or "")
    assert "8 of" in ((await wang.private_chat.next_message(within=10)).text or "")
    for person in (wang, zhao):
        await person.private_chat.expect_silence(0.5)

    # The photos are kept in the order each person sent them.
    async with bot.sessions() as s:
        for person in (wang, zhao):
            user = (await s.scalars(select(User).where(User.telegram_id == person.id))).one()
            draft = (
                await s.scalars(
                    select(Draft).where(Draft.user_id == user.id, Draft.status == DraftStatus.OPEN)
                )
            ).one()
            stored = list(
                await s.scalars(
                    select(Photo.file_unique_id)
                    .where(Photo.draft_id == draft.id)
                    .order_by(Photo.id)
                )
            )
            assert len(stored) == (8 if person is wang else 9)
            assert stored[:5] == sent[person.id]


async def answers(chat: Chat, n: int) -> list[Message]:
    return [await chat.next_message(within=10) for _ in range(n)]


def largest(message: Message) -> str:
    """The file_unique_id the bot keeps of a photo: its largest size's."""
    assert message.photo
    return message.photo[-1].file_unique_id


async def test_heavy_commands_take_turns_and_say_so(
    server: FakeBotAPI, bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    supervisors = [server.user(first_name=f"Sup{n}", language_code="en") for n in range(3)]
    for person in supervisors:
        await enrol(bot, person, "supervisor", "甘井子区")
    bot.application.bot_data.heavy = asyncio.Semaphore(1)
    real_write = ledger_answers.write_ledger

    async def slow_write(*args: object, **kwargs: object) -> dict[str, int]:
        await asyncio.sleep(0.5)  # a big district's workbook takes a while
        return await real_write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ledger_answers, "write_ledger", slow_write)
    for person in supervisors:
        person.send_text("/export")
    documents = [
        await p.private_chat.next_message(lambda m: m.document is not None, within=15)
        for p in supervisors
    ]
    assert len(documents) == 3
    told = [
        m
        for p in supervisors
        for m in p.private_chat.bot_messages
        if "yours follows in a moment" in (m.text or "")
    ]
    assert len(told) == 2  # the first went at once; the two behind it were told
