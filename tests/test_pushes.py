"""Scheduled pushes with a controllable clock: due once, caught up, never sent late."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import Translator
from bot.views.push_view import days_line, telegram_text, wecom_markdown
from storage.campaigns import require_campaign
from storage.db import Sessions, create_engine, make_sessions
from storage.models import HiddenDanger, Outbox
from storage.push_payloads import payload_of
from storage.pushes import PushRules, claim_due, countdown_data, enqueue_due
from tests.timeline import at
from tests.world import SUPERVISOR, group, report, world

SHANGHAI = ZoneInfo("Asia/Shanghai")
ADMIN = 6005


async def keys(sessions: Sessions) -> list[str]:
    async with sessions() as s:
        return sorted(await s.scalars(select(Outbox.key).where(Outbox.kind != "report_card")))


async def tick(sessions: Sessions, now: datetime, **kw: object) -> int:
    async with sessions() as s:
        return (await enqueue_due(s, now=now, **kw)).total  # type: ignore[arg-type]


async def test_each_group_gets_one_countdown_a_day_at_its_time(sessions: Sessions) -> None:
    await world(sessions)
    await group(sessions, -1, "甘井子区", "countdown@09:00")
    await group(sessions, -2, "庄河市", "countdown@10:30")
    assert await tick(sessions, at("2026-11-29", "08:59")) == 0
    assert await tick(sessions, at("2026-11-29", "09:00")) == 1
    for minute in range(1, 60, 7):  # the bot ticks every minute; nothing twice
        assert await tick(sessions, at("2026-11-29", f"09:{minute:02d}")) == 0
    assert await tick(sessions, at("2026-11-29", "10:30")) == 1
    assert await tick(sessions, at("2026-11-29", "23:59")) == 0
    assert await tick(sessions, at("2026-11-30", "09:00")) == 1
    assert await keys(sessions) == [
        "tg:-1:countdown:2026-11-29",
        "tg:-1:countdown:2026-11-30",
        "tg:-2:countdown:2026-11-29",
    ]


async def test_a_restart_at_0920_catches_up_once_and_a_missed_day_is_not_sent_late(
    sessions: Sessions,
) -> None:
    await world(sessions)
    await group(sessions, -1, "甘井子区", "countdown@09:00")
    # Down at 09:00, back at 09:20: the 09:00 countdown goes out, once.
    assert await tick(sessions, at("2026-11-29", "09:20")) == 1
    assert await tick(sessions, at("2026-11-29", "09:21")) == 0
    # Down all of the 30th, back on 1 December at 08:00: nothing from the 30th.
    assert await tick(sessions, at("2026-12-01", "08:00")) == 0
    # Back too late on the 2nd (past the catch-up window): not sent that day either.
    assert await tick(sessions, at("2026-12-02", "11:30")) == 0
    assert await keys(sessions) == ["tg:-1:countdown:2026-11-29"]
    late = PushRules(catch_up=timedelta(hours=3))
    assert await tick(sessions, at("2026-12-02", "11:30"), rules=late) == 1


async def test_push_now_sends_once_a_day_unless_again(sessions: Sessions) -> None:
    await world(sessions)
    await group(sessions, -1, "甘井子区", "countdown@09:00")
    await group(sessions, -2, "长海县", "countdown@09:00")
    noon = at("2026-11-29", "12:00")
    assert await tick(sessions, noon, force="countdown") == 2
    assert await tick(sessions, noon, force="countdown") == 0
    assert await tick(sessions, noon, force="countdown", unit="长海县", again=True) == 1


async def test_countdown_figures_and_city_ranking(sessions: Sessions) -> None:
    await world(sessions)
    await report(sessions, photo_base=1)  # 甘井子区, due 2026-12-06
    async with sessions() as s:
        campaign = await require_campaign(s)
        district = await countdown_data(
            s, campaign=campaign, unit_id=None, today=date(2026, 12, 10)
        )
    assert district.days_left == 21
    assert district.figures.found == 1 and district.figures.overdue == 1
    assert district.figures.rate == 0
    ranking = district.ranking
    assert ranking[0].unit == "甘井子区" and ranking[0].overdue == 1
    assert {r.unit for r in ranking} >= {"长海县", "庄河市", "市消防救援支队"}


@pytest.mark.parametrize(
    ("closing", "today", "zh", "en"),
    [
        ("2026-12-31", "2026-11-29", "距收官还有 32 天", "32 days to the close"),
        ("2026-12-31", "2026-12-30", "距收官还有 1 天", "1 day to the close"),
        ("2026-12-31", "2026-12-31", "今天收官", "closes today"),
        ("2026-12-31", "2027-01-03", "已收官 3 天", "closed 3 days ago"),
    ],
)
def test_the_last_day_the_closing_day_and_after_read_right(
    closing: str, today: str, zh: str, en: str
) -> None:
    closing_day = date.fromisoformat(closing)
    days_left = (closing_day - date.fromisoformat(today)).days
    assert zh in days_line(Translator("zh_CN"), days_left=days_left, closing=closing_day)
    assert en in days_line(Translator("en"), days_left=days_left, closing=closing_day)


async def test_reminders_digests_and_escalation(sessions: Sessions) -> None:
    await world(sessions)
    await group(sessions, -1, "甘井子区", "overdue@09:30")
    await group(sessions, -9, "大连市", "overdue@09:30")
    danger_id = await report(sessions, photo_base=1)  # due 2026-12-06, general
    # 3 days before: the responsible inspector is reminded; 2 days before: not.
    assert await tick(sessions, at("2026-12-03", "09:00")) == 1
    assert await tick(sessions, at("2026-12-04", "09:00")) == 0
    assert await tick(sessions, at("2026-12-05", "09:00")) == 1  # 1 day before
    # Overdue: the inspector daily, the district's and the city's supervisors a digest each;
    # the district group at 09:30.
    assert await tick(sessions, at("2026-12-08", "09:00")) == 3
    assert await tick(sessions, at("2026-12-08", "09:30")) >= 1
    k = await keys(sessions)
    assert "tg:5001:reminder:2026-12-08" in k  # one a day, listing what is late
    assert f"tg:{SUPERVISOR}:digest:2026-12-08" in k
    assert "tg:6003:digest:2026-12-08" in k  # the city's supervisor
    assert "tg:6004:digest:2026-12-08" not in k  # 长海县 has nothing overdue
    assert "tg:-1:overdue:2026-12-08" in k
    assert not any(key.startswith("tg:-9:escalation") for key in k)
    # More than 7 days overdue: escalated to the city's group.
    await tick(sessions, at("2026-12-14", "09:00"))
    assert "tg:-9:escalation:2026-12-14" in await keys(sessions)
    async with sessions() as s:
        row = (
            await s.scalars(select(Outbox).where(Outbox.key == "tg:-9:escalation:2026-12-14"))
        ).one()
        assert row.payload["dangers"][0]["days"] == 8
        text = telegram_text(Translator("zh_CN"), payload_of(row))
        assert "DL-2026-000001" in text and "逾期 8 天" in text
        md = wecom_markdown(Translator("zh_CN"), payload_of(row))
        assert md.startswith("### ") and len(md.encode()) <= 4096
        reminder = (
            await s.scalars(select(Outbox).where(Outbox.key == "tg:5001:reminder:2026-12-14"))
        ).one()
        assert reminder.payload["danger_id"] == danger_id
        assert "is 8 days overdue" in telegram_text(Translator("en"), payload_of(reminder))
    # Closed: no more reminders.
    async with sessions() as s:
        danger = await s.get(HiddenDanger, danger_id)
        assert danger is not None
        danger.status = "closed"
        await s.commit()
    before = len(await keys(sessions))
    await tick(sessions, at("2026-12-15", "09:00"))
    assert not [x for x in await keys(sessions) if x.endswith("2026-12-15") and ":reminder:" in x]
    assert len(await keys(sessions)) >= before


async def test_one_reminder_a_day_lists_every_item(sessions: Sessions) -> None:
    await world(sessions)
    for base in (1, 2, 3):
        await report(sessions, photo_base=base)  # all due 2026-12-06
    assert await tick(sessions, at("2026-12-05", "09:00")) == 1
    async with sessions() as s:
        row = (await s.scalars(select(Outbox).where(Outbox.kind == "reminder"))).one()
    text = telegram_text(Translator("en"), payload_of(row))
    assert text.count("is due in 1 day, on 2026-12-06") == 3
    assert text.startswith("Your hidden dangers that need you:")


async def test_a_window_across_midnight_is_caught_up(sessions: Sessions) -> None:
    await world(sessions)
    await group(sessions, -1, "甘井子区", "countdown@23:30")
    assert await tick(sessions, at("2026-11-30", "00:10")) == 1  # down from 23:25 to 00:10
    assert await keys(sessions) == ["tg:-1:countdown:2026-11-29"]
    async with sessions() as s:
        row = (await s.scalars(select(Outbox))).one()
    assert row.expires_at is not None and row.payload["today"] == "2026-11-29"


async def test_a_queued_daily_push_expires_instead_of_going_out_late(sessions: Sessions) -> None:
    await world(sessions)
    await group(sessions, -1, "甘井子区", "countdown@09:00")
    assert await tick(sessions, at("2026-11-29", "09:00")) == 1
    async with sessions() as s:  # the bot died before sending; it is back the next morning
        assert await claim_due(s, worker="w", now=at("2026-11-30", "08:00")) == []
        row = (await s.scalars(select(Outbox))).one()
        assert row.status == "expired"


async def test_major_escalates_sooner(sessions: Sessions) -> None:
    await world(sessions)
    await group(sessions, -9, "大连市", "overdue@09:30")
    await report(sessions, photo_base=1, level="major")  # due 2026-12-06
    await tick(sessions, at("2026-12-10", "09:00"))  # 4 days overdue > 3 for a major one
    assert "tg:-9:escalation:2026-12-10" in await keys(sessions)


async def test_no_campaign_area_without_groups_pushes_nothing(sessions: Sessions) -> None:
    await world(sessions)
    assert await tick(sessions, at("2026-11-29", "09:00")) == 0


async def test_the_minute_tick_in_several_processes_queues_each_push_once(
    sessions: Sessions, db_url: str
) -> None:
    """Every process runs the minute tick (webhook mode, all active): ticking at the same
    moment, they queue each push once between them."""
    await world(sessions)
    for n in range(1, 21):
        await group(sessions, -n, "甘井子区", "countdown@09:00", "overdue@09:30")
    engines = [create_engine(db_url) for _ in range(3)]
    try:
        moment = at("2026-11-29", "09:40")

        async def tick_in(engine: AsyncEngine) -> int:
            async with make_sessions(engine)() as s:
                return (await enqueue_due(s, now=moment)).total

        totals = await asyncio.gather(*(tick_in(engine) for engine in engines))
    finally:
        for engine in engines:
            await engine.dispose()
    queued = await keys(sessions)
    assert len(queued) == len(set(queued)) == sum(totals) == 40, totals
