"""End to end: the real Application over HTTP against the fake Bot API answers /start and /help."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.sandbox.botapi import FakeBotAPI
from storage.clock import ShiftedClock
from tests.harness import RunningBot, running_bot, settings_for

pytestmark = pytest.mark.e2e


@pytest.fixture
async def bot(server: FakeBotAPI, sqlite_url: str, tmp_path: Path) -> AsyncIterator[RunningBot]:
    async with running_bot(settings_for(server, db_url=sqlite_url, data_dir=tmp_path)) as running:
        yield running


async def test_start_explains_invites_to_a_stranger(server: FakeBotAPI, bot: RunningBot) -> None:
    alice = server.user(first_name="Alice", language_code="en")
    alice.send_text("/start")
    reply = await alice.private_chat.next_message()
    assert reply.text is not None
    assert reply.text.startswith("Welcome to hdbot")
    assert "invite link" in reply.text


async def test_help_in_chinese_for_a_chinese_phone(server: FakeBotAPI, bot: RunningBot) -> None:
    wang = server.user(first_name="王", language_code="zh-hans")
    wang.send_text("/help")
    reply = await wang.private_chat.next_message()
    assert reply.text is not None and "隐患" in reply.text and "/start" in reply.text


async def test_no_language_code_uses_the_deployment_default(
    server: FakeBotAPI, sqlite_url: str, tmp_path: Path
) -> None:
    settings = settings_for(server, db_url=sqlite_url, data_dir=tmp_path, language="en")
    async with running_bot(settings):
        anon = server.user(first_name="Anon", language_code=None)
        anon.send_text("/help")
        reply = await anon.private_chat.next_message()
        assert reply.text is not None and reply.text.startswith("hdbot logs hidden dangers")


async def test_strangers_can_use_only_start_help_and_lang(
    server: FakeBotAPI, bot: RunningBot, clock: ShiftedClock
) -> None:
    bob = server.user(first_name="Bob", language_code="en")
    bob.send_text("/report")
    reply = await bob.private_chat.next_message()
    assert reply.text is not None and reply.text.startswith("You are not registered yet")
    # Told once; more messages within ten minutes get no answer (and cost no answer).
    bob.send_text("just some words")
    bob.send_text("/mine")
    await bob.private_chat.expect_silence(0.5)
    # /help is a question of its own: answered, once in a while too.
    bob.send_text("/help")
    assert "/start" in ((await bob.private_chat.next_message()).text or "")
    bob.send_text("/help")
    await bob.private_chat.expect_silence(0.5)
    clock.advance(timedelta(minutes=11))
    bob.send_text("just some words")
    assert (await bob.private_chat.next_message()).text == reply.text


async def test_lang_switches_language(server: FakeBotAPI, bot: RunningBot) -> None:
    carol = server.user(first_name="Carol", language_code="en")
    carol.send_text("/lang")
    menu = await carol.private_chat.next_message()
    press = carol.press(menu, "中文")
    await press.answered()
    await carol.private_chat.wait_until(lambda: menu.text == "语言已设置为：中文。")
    carol.send_text("/help")
    reply = await carol.private_chat.next_message()
    assert reply.text is not None and "隐患" in reply.text


async def test_menu_is_registered_per_scope_and_language(
    server: FakeBotAPI, bot: RunningBot
) -> None:
    private_zh = [c[0] for c in server.commands("all_private_chats", "zh")]
    group_en = [c[0] for c in server.commands("all_group_chats", "en")]
    assert "report" in private_zh and "start" in private_zh and "lang" in private_zh
    assert "bind" in group_en and "report" not in group_en
    default = server.commands("all_private_chats", "")
    assert default and default[0] == ("report", "上报隐患")
