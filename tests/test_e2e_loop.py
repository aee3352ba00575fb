"""End to end: hidden dangers carried through the closed loop in chat, notifications and all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.sandbox.botapi import Chat, FakeBotAPI, Message, Person, make_jpeg
from storage import invites, tasks
from storage.models import HiddenDanger
from tests.factories import make_campaign, task_row
from tests.harness import RunningBot, running_bot, settings_for

pytestmark = pytest.mark.e2e


@pytest.fixture
async def bot(server: FakeBotAPI, sqlite_url: str, tmp_path: Path) -> AsyncIterator[RunningBot]:
    settings = settings_for(server, db_url=sqlite_url, data_dir=tmp_path, language="en")
    async with running_bot(settings) as running:
        await make_campaign(running.sessions)
        async with running.sessions() as s:
            await tasks.import_tasks(
                s, rows=[task_row(2, "MU-01", title="Scaffolding safety nets")], actor="test"
            )
        yield running


async def join(server: FakeBotAPI, bot: RunningBot, name: str, role: str, unit: str) -> Person:
    async with bot.sessions() as s:
        code = (await invites.create_invite(s, role=role, unit=unit, actor="test")).code
    person = server.user(first_name=name, language_code="en")
    person.send_text(f"/start {code}")
    await person.private_chat.next_message()
    return person


def button(message: Message, prefix: str) -> str:
    return next(t for row in message.inline_keyboard for t, _ in row if t.startswith(prefix))


async def press(person: Person, message: Message, prefix: str) -> None:
    press = person.press(message, button(message, prefix))
    await press.answered()


async def report(person: Person, *, site: str, level: str, color: tuple[int, int, int]) -> str:
    chat = person.private_chat
    person.send_text("/report")
    await press(person, await chat.next_message(), "MU-01")
    await chat.next_message()
    person.send_text(site)
    await press(person, await chat.next_message(), "✓")
    await chat.next_message()
    person.send_text("Scaffolding without safety nets on floors 5 to 9")
    await chat.next_message()
    person.send_photo(make_jpeg(color=color))
    await press(person, await chat.next_message(), "✅")
    await chat.next_message()
    person.tap("📍 Send my location", location=(38.95, 121.55))
    await chat.next_message()  # location noted
    await press(person, await chat.next_message(), level)
    await press(person, await chat.next_message(), "7 days")
    await press(person, await chat.next_message(), "✅")
    done = await chat.next_message(lambda m: "Submitted as" in (m.text or ""))
    assert done.text is not None
    return done.text.split("Submitted as ")[1].split(".")[0]


async def open_card(person: Person, number: str) -> Message:
    chat = person.private_chat
    sent = person.send_text(f"/find {number}")

    def newer(m: Message) -> bool:  # earlier cards of the same number may still be unread
        return m.message_id > sent.message_id

    found = await chat.next_message(lambda m: newer(m) and (m.text or "").startswith("Found for"))
    label = next(t for row in found.inline_keyboard for t, _ in row if number in t)
    await press(person, found, label)
    return await chat.next_message(
        lambda m: newer(m) and number in (m.text or "") and bool(m.inline_keyboard)
    )


async def rectify(person: Person, number: str, *, major: bool, color: tuple[int, int, int]) -> None:
    chat = person.private_chat
    card = await open_card(person, number)
    await press(person, card, "📷 Submit rectification")
    if major:
        for answer in (
            "Site manager Zhang",
            "Install nets",
            "20,000 yuan",
            "By 12-05",
            "Close floors",
        ):
            prompt = await chat.next_message()
            assert "five items" in (prompt.text or "")
            person.send_text(answer)
    prompt = await chat.next_message()
    assert "Send photos of the rectified site" in (prompt.text or "")
    person.send_photo(make_jpeg(color=color))
    received = await chat.next_message()
    assert "1 after-photos received" in (received.text or "")
    await press(person, received, "✅ Done")
    assert "Describe in a few words" in ((await chat.next_message()).text or "")
    person.send_text("Nets installed on every floor")
    confirm = await chat.next_message()
    assert "Submit this rectification" in (confirm.text or "")
    await press(person, confirm, "✅ Submit")
    await chat.next_message(lambda m: "submitted for verification" in (m.text or ""))
    await updated_card(chat, number)


async def updated_card(chat: Chat, number: str) -> Message:
    """After an action the card comes again, with what may be done next."""
    return await chat.next_message(lambda m: number in (m.text or "") and bool(m.inline_keyboard))


async def notice(chat: Chat, text: str) -> Message:
    return await chat.next_message(lambda m: text in (m.text or ""), within=10)


async def test_general_and_major_through_reject_and_approve(
    server: FakeBotAPI, bot: RunningBot
) -> None:
    wang = await join(server, bot, "Wang", "inspector", "甘井子区")
    li = await join(server, bot, "Li", "supervisor", "甘井子区")
    for level, site, color in (
        ("General", "Works A", (200, 40, 40)),
        ("Major", "Works B", (40, 40, 200)),
    ):
        major = level == "Major"
        number = await report(wang, site=site, level=level, color=color)
        await rectify(wang, number, major=major, color=(color[0] // 2 + 100, 200, color[2] // 2))
        # The supervisor is told, opens it, sees the comparison and rejects with a reason.
        told = await notice(li.private_chat, f"{number} ({site}) was rectified by Wang")
        await press(li, told, "Open")
        comparison = await li.private_chat.next_message(lambda m: bool(m.photo))
        assert comparison.caption == "Before and after rectification"
        card = await updated_card(li.private_chat, number)
        assert "Status: awaiting verification" in (card.text or "")
        if major:
            assert "Responsibility: Site manager Zhang" in (card.text or "")
        await press(li, card, "↩️ Reject")
        assert "Why is the rectification rejected" in (
            (await li.private_chat.next_message()).text or ""
        )
        li.send_text("Nets on floor 9 are missing")
        assert "sent back for rectification" in ((await li.private_chat.next_message()).text or "")
        await updated_card(li.private_chat, number)
        rejected = await notice(
            wang.private_chat, f"The rectification of {number} was rejected by Li"
        )
        assert "Nets on floor 9 are missing" in (rejected.text or "")
        # Rectified again, approved, closed; the inspector is told.
        await rectify(wang, number, major=major, color=(90, 180, 90))
        told = await notice(li.private_chat, f"{number} ({site}) was rectified by Wang")
        await press(li, told, "Open")
        await li.private_chat.next_message(lambda m: bool(m.photo))  # the comparison
        card = await updated_card(li.private_chat, number)
        await press(li, card, "✅ Approve and close")
        assert f"{number} is closed." in ((await li.private_chat.next_message()).text or "")
        await updated_card(li.private_chat, number)
        await notice(wang.private_chat, f"{number} was verified and closed by Li")
        closed = await open_card(wang, number)
        history = closed.text or ""
        for step in ("reported", "rectification submitted", "rejected", "verified and closed"):
            assert step in history
    async with bot.sessions() as s:
        statuses = list(await s.scalars(select(HiddenDanger.status)))
    assert statuses == ["closed", "closed"]


async def test_extension_requested_and_granted(server: FakeBotAPI, bot: RunningBot) -> None:
    wang = await join(server, bot, "Wang", "inspector", "甘井子区")
    li = await join(server, bot, "Li", "supervisor", "甘井子区")
    number = await report(wang, site="Works C", level="General", color=(10, 200, 10))
    card = await open_card(wang, number)
    await press(wang, card, "⏳ Ask for more time")
    prompt = await wang.private_chat.next_message()
    await press(wang, prompt, "+15 days")
    assert "Why is more time needed" in ((await wang.private_chat.next_message()).text or "")
    wang.send_text("Waiting for the nets to be delivered")
    assert "Extension requested" in ((await wang.private_chat.next_message()).text or "")
    told = await notice(li.private_chat, f"Wang asks to move the deadline of {number}")
    await press(li, told, "Open")
    card = await li.private_chat.next_message(
        lambda m: number in (m.text or "") and bool(m.inline_keyboard)
    )
    await press(li, card, "✅ Grant extension")
    assert "Extension granted" in ((await li.private_chat.next_message()).text or "")
    granted = await notice(wang.private_chat, f"The deadline of {number} is now")
    assert "(extension granted by Li)" in (granted.text or "")


async def test_forged_callbacks_are_refused(server: FakeBotAPI, bot: RunningBot) -> None:
    wang = await join(server, bot, "Wang", "inspector", "甘井子区")
    far = await join(server, bot, "Zhao", "supervisor", "长海县")
    number = await report(wang, site="Works D", level="General", color=(200, 200, 10))
    card = await open_card(wang, number)
    danger_id = next(
        d for row in card.inline_keyboard for _, d in row if d and d.startswith("d:")
    ).split(":")[1]
    # Zhao forges buttons for another district's hidden danger: the answer is "not allowed".
    for forged in (
        f"d:{danger_id}:approve",
        f"d:{danger_id}:open",
        f"d:{danger_id}:rectify",
        "d:99999:open",
        "d:x:open",
    ):
        forged_message = far.private_chat.messages[-1]
        forged_message.reply_markup = {
            "inline_keyboard": [[{"text": "x", "callback_data": forged}]]
        }
        answer = await far.press(forged_message, "x").answered()
        assert answer.show_alert and (
            "Not allowed" in (answer.text or "") or "not valid" in (answer.text or "")
        )
    # A stale button: Wang starts rectifying twice from the same card.
    await press(wang, card, "🔧 Start rectifying")
    await wang.private_chat.next_message(lambda m: "rectification started" in (m.text or ""))
    again = await wang.press(card, button(card, "🔧 Start rectifying")).answered()
    assert again.show_alert and "Not allowed" in (again.text or "")
