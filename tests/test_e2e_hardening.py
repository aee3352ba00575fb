"""Bad input through Telegram: each gets one clear line, changes nothing, raises nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.sandbox.botapi import FakeBotAPI, Message, Person, jpeg_with_odd_exif, make_jpeg
from tests.harness import RunningBot, running_bot, settings_for
from tests.phone import enrol, report_up_to_photos, seed_campaign

pytestmark = pytest.mark.e2e


@pytest.fixture
async def bot(server: FakeBotAPI, sqlite_url: str, tmp_path: Path) -> AsyncIterator[RunningBot]:
    settings = settings_for(server, db_url=sqlite_url, data_dir=tmp_path, language="en")
    async with running_bot(settings) as running:
        await seed_campaign(running)
        yield running


def forge(person: Person, data: str) -> Message:
    """A message of the bot's in the person's chat, carrying a button with `data` (a client
    can send any callback data it likes)."""
    message = person.private_chat.messages[-1]
    message.reply_markup = {"inline_keyboard": [[{"text": "x", "callback_data": data}]]}
    return message


async def test_forged_callback_data_gets_one_line(server: FakeBotAPI, bot: RunningBot) -> None:
    li = server.user(first_name="Li", language_code="en")
    await enrol(bot, li, "supervisor", "甘井子区")
    for data in ("d:²:open", "d:99999999999999999999:open", "a:٣:done", "l:mine:²:", "r:-1:done"):
        answer = await li.press(forge(li, data), "x").answered()
        assert answer.show_alert and answer.text, data
    assert not bot.errors


@pytest.mark.parametrize(
    "command",
    ["/export 9999Q4", "/stats 2026-01-01 9999-12-31", "/export 0000Q1", "/stats 2026-02-30 x"],
)
async def test_impossible_periods_get_one_line(
    server: FakeBotAPI, bot: RunningBot, command: str
) -> None:
    li = server.user(first_name="Li", language_code="en")
    await enrol(bot, li, "supervisor", "甘井子区")
    li.send_text(command)
    answer = await li.private_chat.next_message()
    assert (answer.text or "").startswith(("Give dates between", "Give a quarter"))
    await li.private_chat.expect_silence(0.3)
    assert not bot.errors


async def test_an_eleventh_photo_is_refused_before_it_is_downloaded(
    server: FakeBotAPI, bot: RunningBot
) -> None:
    wang = server.user(first_name="Wang", language_code="en")
    await enrol(bot, wang, "inspector", "甘井子区")
    await report_up_to_photos(wang, site="Works A", description="Broken railing")
    for n in range(10):
        wang.send_photo(make_jpeg(color=(20 * n, 60, 90)))
        await wang.private_chat.next_message()
    downloads = len(server.requests("getFile"))
    wang.send_photo(make_jpeg(color=(250, 250, 0)))
    refused = await wang.private_chat.next_message()
    assert "10 photos already" in (refused.text or "")
    assert len(server.requests("getFile")) == downloads
    assert not bot.errors


async def test_an_image_with_odd_exif_shows_on_the_summary_card(
    server: FakeBotAPI, bot: RunningBot
) -> None:
    wang = server.user(first_name="Wang", language_code="en")
    await enrol(bot, wang, "inspector", "甘井子区")
    await report_up_to_photos(wang, site="Works A", description="Broken railing")
    wang.send_document(jpeg_with_odd_exif(640, 480), "odd.jpg", "image/jpeg")
    received = await wang.private_chat.next_message()
    assert "1 of at most 10" in (received.text or "")
    wang.press(received, "✅ Done")
    await wang.private_chat.next_message()  # location
    wang.tap("Skip")
    await wang.private_chat.next_message(lambda m: "Step 7/9" in (m.text or ""))
    level = wang.private_chat.last_bot_message
    assert level is not None
    wang.press(level, "General hidden danger")
    deadline = await wang.private_chat.next_message(lambda m: "Step 8/9" in (m.text or ""))
    wang.press(deadline, next(t for row in deadline.inline_keyboard for t, _ in row if "7" in t))
    card = await wang.private_chat.next_message(lambda m: "check your report" in (m.caption or ""))
    assert card.photo  # the picture the reporter needs to check, not a text fallback
    assert not bot.errors


async def test_an_inspector_of_a_unit_without_tasks_is_told_so_and_can_search(
    server: FakeBotAPI, bot: RunningBot
) -> None:
    """The task keyboard of a unit with no open task would have no button, and Telegram
    refuses an empty keyboard: the step says what is missing instead, and stays usable."""
    zhao = server.user(first_name="Zhao", language_code="en")
    await enrol(bot, zhao, "inspector", "庄河市")  # the test tasks are all 甘井子区's
    zhao.send_text("/report")
    step = await zhao.private_chat.next_message()
    assert "no open campaign task yet" in (step.text or "") and step.reply_markup is None
    zhao.send_text("gas")
    searched = await zhao.private_chat.next_message()
    assert "no open task matching this" in (searched.text or "")
    assert [t for row in searched.inline_keyboard for t, _ in row] == ["Show all tasks"]
    zhao.send_text("/cancel")
    assert "discarded" in ((await zhao.private_chat.next_message()).text or "").lower()
    assert not bot.errors
