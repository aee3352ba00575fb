"""Who may use which command, end to end: every private command for every kind of person.

Strangers and people whose access was taken away may use /start, /help and /lang; the rest is
refused (told once how to register, then silence). Registered people use the lists, the
countdown, the statistics and /report (when they belong to a unit); the ledger is for
supervisors and administrators (DESIGN.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.sandbox.botapi import FakeBotAPI, Person
from storage import handover, people
from tests.factories import tg
from tests.harness import RunningBot, running_bot, settings_for
from tests.phone import enrol, seed_campaign

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

COMMANDS = [
    "/start",
    "/help",
    "/lang",
    "/report",
    "/mine",
    "/overdue",
    "/find DL",
    "/stats",
    "/export",
    "/countdown",
    "/cancel",
]
OPEN = {"/start", "/help", "/lang"}
WAIT = 20.0
PROBE_ANSWER = "Choose your language:"  # /lang's, to everyone
REFUSALS = (
    "You are not registered yet",
    "Only supervisors and administrators can export",
    "Only registered inspectors of a unit can report",
    "To use it you need an invite link",
    "/start — register",
)
# What each kind of person may do ("allowed": the command does its work).
EXPECTED = {
    "stranger": OPEN,
    "deactivated": OPEN,
    "inspector": set(COMMANDS) - {"/export"},
    "supervisor": set(COMMANDS),
    "administrator": set(COMMANDS) - {"/report"},  # no unit of their own to report for
}


@pytest.fixture
async def bot(server: FakeBotAPI, sqlite_url: str, tmp_path: Path) -> AsyncIterator[RunningBot]:
    settings = settings_for(server, db_url=sqlite_url, data_dir=tmp_path, language="en")
    async with running_bot(settings) as running:
        await seed_campaign(running)
        # Each command comes with a /lang (see answer_to): a stranger's pace here is no flood.
        running.application.bot_data.flood.limit = 1_000
        yield running


async def answer_to(person: Person, command: str) -> str | None:
    """The first thing the bot says to a command (text or caption), or None for silence.

    A person's updates are handled in order, and /lang is answered to everyone: sent right
    after the command, its answer marks the end of the command's, however slow the machine.
    """
    chat = person.private_chat
    sent = person.send_text(command)
    if command == "/lang":
        reply = await chat.next_message(lambda m: m.message_id > sent.message_id, within=WAIT)
        return reply.text
    person.send_text("/lang")
    marker = await chat.next_message(
        lambda m: m.message_id > sent.message_id and m.text == PROBE_ANSWER, within=WAIT
    )
    between = [m for m in chat.bot_messages if sent.message_id < m.message_id < marker.message_id]
    if not between:
        return None
    return between[0].text or between[0].caption or "(a picture or file)"


async def test_every_private_command_for_every_kind_of_person(
    server: FakeBotAPI, bot: RunningBot
) -> None:
    people_of = {who: server.user(first_name=who, language_code="en") for who in EXPECTED}
    await enrol(bot, people_of["deactivated"], "inspector", "甘井子区")
    async with bot.sessions() as s:
        await handover.deactivate_user(s, account=tg(people_of["deactivated"].id), actor="t")
    await enrol(bot, people_of["inspector"], "inspector", "甘井子区")
    await enrol(bot, people_of["supervisor"], "supervisor", "甘井子区")
    async with bot.sessions() as s:
        await people.add_admin(s, account=tg(people_of["administrator"].id), actor="t")
    for who, person in people_of.items():
        allowed = set()
        for command in COMMANDS:
            said = await answer_to(person, command)
            if said is not None and not said.startswith(REFUSALS):
                allowed.add(command)
            if command == "/report" and said and said.startswith("Step 1/9"):
                await answer_to(person, "/cancel")  # leave nothing open for the next command
        assert allowed == EXPECTED[who], (who, allowed ^ EXPECTED[who])
    assert not bot.errors
