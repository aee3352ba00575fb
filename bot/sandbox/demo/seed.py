"""The demo's database: the example campaign of examples/, its people and groups, and a few
hidden dangers (dangers.py), all made by the domain operations, so the audit trail is there.

The campaign closes four weeks after the clock's today (storage/clock.py: the machine's day,
or HDBOT_CLOCK_START's), and the example tasks' due dates move with it: the example campaign
closes on EXAMPLE_CLOSING, and each task keeps its distance from the closing day.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from bot.cli.tables import read_table
from bot.config import Settings
from bot.sandbox.botapi import FakeBotAPI
from bot.sandbox.demo.cast import GROUPS, PEOPLE, ROBOT_KEY, Cast
from bot.sandbox.demo.dangers import DangerSeeder
from bot.sandbox.wecom import FakeWeCom
from storage import campaigns, invites, migrate, tasks, units
from storage.accounts import Account
from storage.clock import utcnow
from storage.db import Sessions, create_engine, make_sessions
from storage.groups import bind_group, subscribe
from storage.languages import ENGLISH
from storage.linking import link_accounts
from storage.people import choose_language
from storage.pushes import add_wecom_target

ACTOR = "demo"
CAMPAIGN = "大连市安全生产专项整治三年行动"
EXAMPLE_CLOSING = date(2026, 12, 31)  # examples/load.sh's closing date
WEEKS_TO_CLOSE = 4
# examples/ beside the package in a source checkout (`make install` installs it editable).
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


class MissingExamples(Exception):
    """examples/ is not where the demo looks for it."""


@dataclass(frozen=True)
class Seeded:
    """What the demo's database holds, for the page and the log."""

    closing_date: date
    tasks: int
    dangers: int
    group_chats: dict[str, int]  # each group's key (cast.py) → its chat id in the fake Telegram


def closing_date(settings: Settings) -> date:
    """The demo campaign's closing date: four weeks after the clock's today."""
    return utcnow().astimezone(settings.tz).date() + timedelta(weeks=WEEKS_TO_CLOSE)


async def seed(
    settings: Settings, *, telegram: FakeBotAPI, wecom: FakeWeCom, examples: Path = EXAMPLES
) -> Seeded:
    """Create the database at settings.db_url and fill it; the fakes get the same people."""
    unit_rows, task_rows = _read_examples(examples)
    await migrate.upgrade(settings.db_url)
    engine = create_engine(settings.db_url)
    try:
        sessions = make_sessions(engine)
        closing = closing_date(settings)
        async with sessions() as s:
            await campaigns.set_campaign(
                s, name=CAMPAIGN, closing_date=closing, timezone=settings.timezone, actor=ACTOR
            )
        await _add_units(sessions, unit_rows)
        shift = closing - EXAMPLE_CLOSING
        async with sessions() as s:
            result = await tasks.import_tasks(s, rows=_moved(task_rows, shift), actor=ACTOR)
        for member in PEOPLE:
            telegram.user(member.telegram_id, member.name, language_code=member.language_code)
            await _register(sessions, member)
            wecom.application.add_person(member.wecom_user_id, member.name)
        dangers = await DangerSeeder(sessions, telegram, settings).seed_all()
        group_chats = await _groups(sessions, telegram)
        wecom.add_robot(ROBOT_KEY)
        async with sessions() as s:
            await add_wecom_target(
                s,
                unit=GROUPS[0].unit,
                key=ROBOT_KEY,
                kinds="countdown,overdue,reports",
                name=GROUPS[0].title,
            )
        return Seeded(
            closing_date=closing, tasks=result.total, dangers=dangers, group_chats=group_chats
        )
    finally:
        await engine.dispose()


def _read_examples(
    folder: Path,
) -> tuple[list[dict[str, str]], list[tuple[int, dict[str, object]]]]:
    units_csv, tasks_csv = folder / "units.csv", folder / "tasks.csv"
    if not units_csv.is_file() or not tasks_csv.is_file():
        raise MissingExamples(str(folder))
    unit_rows = list(csv.DictReader(io.StringIO(units_csv.read_text(encoding="utf-8"))))
    task_rows = [(line, dict(row)) for line, row in read_table(tasks_csv)]
    return unit_rows, task_rows


async def _add_units(sessions: Sessions, rows: list[dict[str, str]]) -> None:
    # units.csv lists parents first, as examples/load.sh adds them.
    for row in rows:
        async with sessions() as s:
            await units.add_unit(
                s, name=row["name"], kind=row["kind"], parent=row["parent"] or None, actor=ACTOR
            )


def _moved(
    rows: list[tuple[int, dict[str, object]]], shift: timedelta
) -> list[tuple[int, dict[str, object]]]:
    """The task rows with their due dates moved by `shift`."""
    moved = []
    for line, row in rows:
        due = date.fromisoformat(str(row["due_date"])) + shift
        moved.append((line, {**row, "due_date": due.isoformat()}))
    return moved


async def _register(sessions: Sessions, member: Cast) -> None:
    """Register as a person does (an invite, redeemed), then put their WeCom id on them."""
    async with sessions() as s:
        code = (
            await invites.create_invite(s, role=member.role, unit=member.unit, actor=ACTOR)
        ).code
    telegram = Account.telegram(member.telegram_id)
    async with sessions() as s:
        await invites.redeem_invite(s, code=code, account=telegram, name=member.name, username=None)
    async with sessions() as s:
        await link_accounts(
            s, telegram=telegram, wecom=Account.wecom(member.wecom_user_id), actor=ACTOR
        )
    if not member.language_code.startswith("zh"):
        # As if they had tapped English after /lang: their notices come in it too.
        async with sessions() as s:
            await choose_language(s, account=telegram, language=ENGLISH)


async def _groups(sessions: Sessions, telegram: FakeBotAPI) -> dict[str, int]:
    """Make each group in the fake Telegram, bound and subscribed by its creator."""
    chats = {}
    for group in GROUPS:
        members = [telegram.state.people[_telegram_id(key)] for key in group.members]
        chat = telegram.group(group.title, creator=members[0], members=members[1:])
        chats[group.key] = chat.id
        creator = Account.telegram(members[0].id)
        async with sessions() as s:
            await bind_group(
                s,
                chat_id=chat.id,
                title=group.title,
                unit=group.unit,
                account=creator,
                is_chat_admin=True,
            )
        for kind in group.kinds:
            async with sessions() as s:
                await subscribe(
                    s,
                    chat_id=chat.id,
                    title=group.title,
                    kind=kind,
                    at_time=None,
                    account=creator,
                    is_chat_admin=True,
                )
    return chats


def _telegram_id(key: str) -> int:
    return next(member.telegram_id for member in PEOPLE if member.key == key)
