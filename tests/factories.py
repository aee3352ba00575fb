"""Test object factories: a campaign with the article's units, built by the domain operations."""

from __future__ import annotations

from datetime import date

from storage import campaigns, units
from storage.accounts import Account
from storage.db import Sessions
from storage.push_payloads import CountdownPush, FigureCounts, RankedUnit

CITY = "大连市"
DISTRICTS = ["甘井子区", "庄河市", "长海县"]
DEPARTMENTS = ["市工业和信息化局", "市民政局", "市海洋发展局", "市消防救援支队"]


async def make_campaign(
    sessions: Sessions, *, closing_date: date = date(2026, 12, 31), name: str = "三年行动"
) -> None:
    """Set up the campaign and the city with its districts and departments."""
    async with sessions() as s:
        await campaigns.set_campaign(s, name=name, closing_date=closing_date, actor="test")
    async with sessions() as s:
        await units.add_unit(s, name=CITY, kind="region", actor="test")
    for name in DISTRICTS:
        async with sessions() as s:
            await units.add_unit(s, name=name, kind="region", parent=CITY, actor="test")
    for name in DEPARTMENTS:
        async with sessions() as s:
            await units.add_unit(s, name=name, kind="department", parent=CITY, actor="test")


def task_row(line: int, code: str, **overrides: object) -> tuple[int, dict[str, object]]:
    """One row of a task file, valid unless overridden."""
    row: dict[str, object] = {
        "code": code,
        "title": f"任务 {code}",
        "source": "municipal",
        "field": "hazardous_chemicals",
        "unit": "甘井子区",
        "due_date": "2026-12-15",
    }
    row.update(overrides)
    return line, row


def countdown_push(
    days: int = 40,
    *,
    campaign: str = "隐患排查整治专项行动",
    unit: str | None = None,
    ranking: tuple[RankedUnit, ...] = (),
    figures: FigureCounts | None = None,
    today: date = date(2026, 11, 21),
    closing: date = date(2026, 12, 31),
) -> CountdownPush:
    """A countdown push's payload, with a large city's figures unless given."""
    return CountdownPush(
        campaign=campaign,
        closing=closing,
        today=today,
        days_left=days,
        unit=unit,
        figures=figures
        or FigureCounts(
            tasks_total=832,
            tasks_done=701,
            tasks_percent=84,
            tasks_overdue=12,
            found=1287,
            closed=1201,
            open=86,
            overdue=17,
            major_open=3,
            rate=93,
        ),
        ranking=ranking,
    )


def tg(telegram_id: int) -> Account:
    """The account of a Telegram test person (most of the tests' people)."""
    return Account.telegram(telegram_id)
