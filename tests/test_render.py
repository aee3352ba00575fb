"""Replies as data, rendered for Telegram: what a person sees for each kind of `Say`.

The e2e suites show the conversations; these pin the renderer's own rules, including the
ones no conversation reaches today (a caption too long, a photo Telegram refuses).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Bot

from bot.sandbox.botapi import FakeBotAPI, make_jpeg
from bot.views.reply import Ask, Button, Document, Say
from handlers.telegram.render import say_in_chat

CHOICES = ((Button("General", "r:7:level:general"), Button("Major", "r:7:level:major")),)


@pytest.fixture
async def bot(server: FakeBotAPI) -> AsyncIterator[Bot]:
    """A bare client of the fake Bot API (conftest's `server`): the renderer needs no app."""
    async with Bot(server.token, base_url=server.base_url, base_file_url=server.base_file_url) as c:
        yield c


async def test_buttons_become_an_inline_keyboard_that_gives_back_the_action(
    server: FakeBotAPI, bot: Bot, tmp_path: Path
) -> None:
    person = server.user()
    await say_in_chat(bot, person.id, Say("How serious is it?", CHOICES), photo_dir=tmp_path)
    message = await person.private_chat.next_message()
    assert message.text == "How serious is it?"
    assert message.inline_keyboard == [
        [("General", "r:7:level:general"), ("Major", "r:7:level:major")]
    ]


async def test_an_ask_requests_the_location_and_clear_ask_takes_it_away(
    server: FakeBotAPI, bot: Bot, tmp_path: Path
) -> None:
    person = server.user()
    ask = Ask("📍 Send my location", ("Skip",))
    await say_in_chat(bot, person.id, Say("Where is it?", ask=ask), photo_dir=tmp_path)
    asked = await person.private_chat.next_message()
    assert asked.reply_keyboard == [["📍 Send my location"], ["Skip"]]
    assert asked.reply_markup is not None
    assert asked.reply_markup["keyboard"][0][0]["request_location"] is True

    await say_in_chat(bot, person.id, Say("✓ Location noted.", clear_ask=True), photo_dir=tmp_path)
    noted = await person.private_chat.next_message()
    assert noted.removes_keyboard and person.private_chat.reply_keyboard is None


async def test_a_caption_that_fits_rides_on_the_photo_with_its_buttons(
    server: FakeBotAPI, bot: Bot, tmp_path: Path
) -> None:
    person = server.user()
    text = "🔥" * 512  # 1,024 UTF-16 units: the most a caption holds
    await say_in_chat(bot, person.id, Say(text, CHOICES, photo=make_jpeg()), photo_dir=tmp_path)
    message = await person.private_chat.next_message()
    assert message.photo and message.caption == text
    assert message.buttons == ["General", "Major"]
    await person.private_chat.expect_silence()


async def test_a_caption_too_long_in_utf16_follows_the_photo_as_text(
    server: FakeBotAPI, bot: Bot, tmp_path: Path
) -> None:
    person = server.user()
    text = "🔥" * 513  # 513 characters, but 1,026 UTF-16 units: one emoji too many
    await say_in_chat(bot, person.id, Say(text, CHOICES, photo=make_jpeg()), photo_dir=tmp_path)
    photo = await person.private_chat.next_message()
    assert photo.photo and not photo.caption and photo.buttons == []
    follow = await person.private_chat.next_message()
    assert follow.text == text and follow.buttons == ["General", "Major"]


async def test_an_album_carries_the_text_as_the_first_photos_caption(
    server: FakeBotAPI, bot: Bot, tmp_path: Path
) -> None:
    person = server.user()
    pictures = (make_jpeg(color=(10, 10, 10)), make_jpeg(color=(240, 240, 240)))
    await say_in_chat(
        bot, person.id, Say("Before: DL-2026-000001", photos=pictures), photo_dir=tmp_path
    )
    first = await person.private_chat.next_message()
    second = await person.private_chat.next_message()
    assert first.media_group_id and first.media_group_id == second.media_group_id
    assert (first.caption, second.caption) == ("Before: DL-2026-000001", None)


async def test_a_photo_telegram_refuses_costs_only_the_photo(
    server: FakeBotAPI, bot: Bot, tmp_path: Path
) -> None:
    person = server.user()
    server.inject("sendPhoto", kind="500")
    summary = Say("📋 Please check your report", CHOICES, photo=make_jpeg())
    await say_in_chat(bot, person.id, summary, photo_dir=tmp_path)
    message = await person.private_chat.next_message()
    assert message.text == "📋 Please check your report" and not message.photo
    assert message.buttons == ["General", "Major"]


async def test_a_document_goes_under_its_name_with_the_text_as_caption(
    server: FakeBotAPI, bot: Bot, tmp_path: Path
) -> None:
    person = server.user()
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(b"PK\x03\x04 a workbook")
    ledger = Say("The ledger: 3 tasks.", document=Document(path, "台账_甘井子区.xlsx"))
    await say_in_chat(bot, person.id, ledger, photo_dir=tmp_path)
    message = await person.private_chat.next_message()
    assert message.document is not None and message.document_bytes == path.read_bytes()
    assert message.document.file_name == "台账_甘井子区.xlsx"
    assert message.caption == "The ledger: 3 tasks."


def test_an_action_longer_than_telegram_gives_back_is_refused() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        Button("x", "l:find:0:" + "隐患" * 10)
