"""End to end: hidden dangers carried through the closed loop in chat, notifications and all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.push.sender import drain
from bot.sandbox.botapi import Chat, FakeBotAPI, Message, Person, make_jpeg
from storage import invites, tasks
from storage.clock import ShiftedClock
from storage.models import Event, HiddenDanger
from storage.pushes import enqueue_due
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


async def rectify(person: Person, number: str, *, major: bool, color: tuple[int, int, int]) -> int:
    """From the card: Rectify, the five items of a major danger (the report's suggestions taken
    with one tap where there are some), the after-photos as an album with the note as its
    caption, Submit. Return how many actions it took."""
    chat = person.private_chat
    card = await open_card(person, number)
    actions = 0
    await press(person, card, "📷 Rectify")
    actions += 1
    if major:
        for answer in (None, "Install nets", "20,000 yuan", None, "Close floors"):
            prompt = await chat.next_message()
            assert "five items" in (prompt.text or "")
            if answer is None:  # suggested from the report: one tap takes it
                await press(person, prompt, "✓ ")
            else:
                person.send_text(answer)
            actions += 1
    prompt = await chat.next_message()
    assert "Send photos of the rectified site" in (prompt.text or "")
    person.send_album(
        [make_jpeg(color=color), make_jpeg(color=(color[0], color[1] // 2, color[2]))],
        "Nets installed on every floor",
    )
    actions += 1
    summary = await chat.next_message()
    assert "Submit this rectification" in (summary.text or "")
    assert "After-photos: 2" in (summary.text or "")
    assert "Note: Nets installed on every floor" in (summary.text or "")
    await chat.expect_silence(0.3)  # one answer for the album, not one per picture
    await press(person, summary, "✅ Submit")
    actions += 1
    await chat.next_message(lambda m: "submitted for verification" in (m.text or ""))
    await updated_card(chat, number)
    return actions


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
        if major:  # taken as the report suggested it
            assert "Responsibility: Wang, 甘井子区" in (card.text or "")
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
    # The card offers one button to rectify (it starts the rectification too) …
    assert "📷 Rectify" in card.buttons and "🔧 Start rectifying" not in card.buttons
    # … and a stale "start" (an older card's) pressed twice is refused the second time.
    card.reply_markup = {
        "inline_keyboard": [[{"text": "start", "callback_data": f"d:{danger_id}:start"}]]
    }
    await wang.press(card, "start").answered()
    await wang.private_chat.next_message(lambda m: "rectification started" in (m.text or ""))
    again = await wang.press(card, "start").answered()
    assert again.show_alert and "Not allowed" in (again.text or "")


async def test_rectification_in_three_actions_verification_in_two(
    server: FakeBotAPI, bot: RunningBot
) -> None:
    wang = await join(server, bot, "Wang", "inspector", "甘井子区")
    li = await join(server, bot, "Li", "supervisor", "甘井子区")
    number = await report(wang, site="Works E", level="General", color=(200, 90, 10))
    rectification = await rectify(wang, number, major=False, color=(120, 200, 60))
    assert rectification == 3  # Rectify, the album with its caption, Submit
    print(f"rectification in {rectification} actions")

    told = await notice(li.private_chat, f"{number} (Works E) was rectified by Wang")
    verification = 0
    await press(li, told, "Open")
    verification += 1
    await li.private_chat.next_message(lambda m: bool(m.photo))  # before and after, side by side
    card = await updated_card(li.private_chat, number)
    assert "Nets installed on every floor" in (card.text or "")
    await press(li, card, "✅ Approve and close")
    verification += 1
    assert f"{number} is closed." in ((await li.private_chat.next_message()).text or "")
    assert verification == 2  # open, approve
    print(f"verification in {verification} actions")
    await notice(wang.private_chat, f"{number} was verified and closed by Li")

    async with bot.sessions() as s:
        danger = (await s.scalars(select(HiddenDanger))).one()
        trail = list(
            await s.scalars(
                select(Event.action).where(Event.danger_id == danger.id).order_by(Event.id)
            )
        )
    assert danger.status == "closed"
    # Rectify on a danger still reported started it: both changes are in the trail.
    assert trail == [
        "danger.reported",
        "danger.rectifying",
        "danger.rectification_submitted",
        "danger.closed",
    ]


async def test_major_rectification_with_the_five_items_suggested(
    server: FakeBotAPI, bot: RunningBot
) -> None:
    wang = await join(server, bot, "Wang", "inspector", "甘井子区")
    await join(server, bot, "Li", "supervisor", "甘井子区")
    number = await report(wang, site="Works F", level="Major", color=(30, 90, 200))
    chat = wang.private_chat
    card = await open_card(wang, number)
    await press(wang, card, "📷 Rectify")
    responsibility = await chat.next_message()
    assert "five items to settle (1/5)" in (responsibility.text or "")
    assert button(responsibility, "✓ ") == "✓ Wang, 甘井子区"
    await press(wang, responsibility, "✓ ")
    measures = await chat.next_message()
    assert "(2/5)" in (measures.text or "") and not any(
        t.startswith("✓") for row in measures.inline_keyboard for t, _ in row
    )
    wang.send_text("Install nets on floors 5 to 9")
    funds = await chat.next_message()
    wang.send_text("20,000 yuan from the contractor")
    time_limit = await chat.next_message()
    assert "(4/5)" in (time_limit.text or "")
    async with bot.sessions() as s:
        deadline = (await s.scalars(select(HiddenDanger.deadline))).one()
    assert button(time_limit, "✓ ") == f"✓ {deadline.isoformat()}"
    wang.send_text("Floors 5-7 by Friday, 8-9 by Monday")  # typed over the suggestion
    plan = await chat.next_message()
    assert "(5/5)" in (plan.text or "") and funds.text
    wang.send_text("Floors closed to workers until then")
    photos = await chat.next_message()
    assert "Send photos of the rectified site" in (photos.text or "")
    wang.send_album([make_jpeg(color=(90, 160, 90)), make_jpeg(color=(90, 90, 160))], "Nets up")
    summary = await chat.next_message()
    text = summary.text or ""
    assert "Five items: Wang, 甘井子区 · Install nets" in text
    assert "Floors 5-7 by Friday" in text
    assert len(text.split("\n")) <= 6
    await press(wang, summary, "✅ Submit")
    await chat.next_message(lambda m: "submitted for verification" in (m.text or ""))
    submitted = await updated_card(chat, number)
    assert "Responsibility: Wang, 甘井子区" in (submitted.text or "")
    assert "Time limit: Floors 5-7 by Friday, 8-9 by Monday" in (submitted.text or "")


async def test_a_reminder_of_several_opens_each_card(
    server: FakeBotAPI, bot: RunningBot, clock: ShiftedClock
) -> None:
    wang = await join(server, bot, "Wang", "inspector", "甘井子区")
    first = await report(wang, site="Works G", level="General", color=(200, 40, 140))
    second = await report(wang, site="Works H", level="General", color=(40, 200, 140))
    clock.advance(timedelta(days=4))  # both due in 3 days: one reminder names them both
    async with bot.sessions() as s:
        await enqueue_due(s, force="reminders")
    await drain(bot.application.bot, bot.sessions, bot.settings)
    reminder = await notice(wang.private_chat, "Your hidden dangers that need you")
    labels = [t for row in reminder.inline_keyboard for t, _ in row]
    assert labels == [f"{first} · Works G", f"{second} · Works H"]
    # Each button leads straight to its card, where Rectify is one tap away.
    await press(wang, reminder, second)
    card = await updated_card(wang.private_chat, second)
    assert "📷 Rectify" in [t for row in card.inline_keyboard for t, _ in row]


async def test_a_number_typed_alone_finds_its_hidden_danger(
    server: FakeBotAPI, bot: RunningBot
) -> None:
    wang = await join(server, bot, "Wang", "inspector", "甘井子区")
    number = await report(wang, site="Works F", level="General", color=(30, 90, 160))
    wang.send_text(f" {number.lower()} ")
    found = await wang.private_chat.next_message(lambda m: (m.text or "").startswith("Found for"))
    assert any(number in label for row in found.inline_keyboard for label, _ in row)
