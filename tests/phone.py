"""What people do with their phones, in the words of a test: enrol, start a report, tap on.

Helpers shared by end-to-end tests; each acts through the fake Bot API exactly as a person would
and waits for the bot's answer the person would wait for.
"""

from __future__ import annotations

from bot.sandbox.botapi import Message, Person
from storage import invites, tasks
from tests.factories import make_campaign, task_row
from tests.harness import RunningBot


async def seed_campaign(bot: RunningBot) -> None:
    """The test campaign with two tasks of 甘井子区."""
    await make_campaign(bot.sessions)
    rows = [
        task_row(2, "MU-01", title="危险化学品重大危险源企业专项检查", due_date="2026-12-20"),
        task_row(3, "MU-02", title="城镇燃气管网隐患排查", field="town_gas"),
    ]
    async with bot.sessions() as s:
        await tasks.import_tasks(s, rows=rows, actor="test")


async def enrol(bot: RunningBot, person: Person, role: str, unit: str | None) -> None:
    """Register `person` as an administrator would: an invite, opened on the phone."""
    async with bot.sessions() as s:
        code = (await invites.create_invite(s, role=role, unit=unit, actor="test")).code
    person.send_text(f"/start {code}")
    await person.private_chat.next_message()  # the welcome


def button(message: Message, prefix: str) -> str:
    """The text of the message's inline button that starts with `prefix`."""
    return next(t for row in message.inline_keyboard for t, _ in row if t.startswith(prefix))


async def tap(person: Person, message: Message, prefix: str) -> None:
    """Press the button and wait until the bot has answered the press."""
    await person.press(message, button(message, prefix)).answered()


async def report_up_to_photos(person: Person, *, site: str, description: str) -> Message:
    """/report, the first task, a site, the task's field, a description: the photos prompt."""
    chat = person.private_chat
    person.send_text("/report")
    await tap(person, await chat.next_message(), "MU-01")
    await chat.next_message()  # site
    person.send_text(site)
    await tap(person, await chat.next_message(), "✓")
    await chat.next_message()  # description
    person.send_text(description)
    return await chat.next_message()
