"""The demo's database: the example campaign closing four weeks from the clock's today, its
people on both fronts, and hidden dangers in every state of the closed loop, some overdue,
each with the audit events real use leaves."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.config import Settings
from bot.sandbox.botapi import FakeBotAPI
from bot.sandbox.demo.cast import PEOPLE, ROBOT_KEY
from bot.sandbox.demo.seed import seed
from bot.sandbox.wecom import FakeWeCom
from storage.campaigns import get_campaign
from storage.db import create_engine, make_sessions
from storage.models import Event, GroupChat, HiddenDanger, Photo, User
from tests.timeline import today


async def test_the_demo_campaign_has_a_danger_in_every_state_made_by_the_operations(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path}/d.db")
    with FakeBotAPI() as telegram, FakeWeCom() as wecom:
        seeded = await seed(settings, telegram=telegram, wecom=wecom)
        assert {p.id for p in telegram.state.people.values()} == {p.telegram_id for p in PEOPLE}
        assert wecom.requests(ROBOT_KEY) == []  # a robot, nothing sent before the bot runs
    assert seeded.closing_date == today() + timedelta(weeks=4)
    engine = create_engine(settings.db_url)
    try:
        async with make_sessions(engine)() as s:
            campaign = await get_campaign(s)
            dangers = list(await s.scalars(select(HiddenDanger)))
            events = Counter((await s.scalars(select(Event.action))).all())
            people = list(await s.scalars(select(User)))
            groups = list(await s.scalars(select(GroupChat)))
            photos = list(await s.scalars(select(Photo)))
    finally:
        await engine.dispose()
    assert campaign is not None and campaign.closing_date == seeded.closing_date
    assert seeded.tasks == 76
    assert {d.status for d in dangers} == {"reported", "rectifying", "submitted", "closed"}
    assert events["danger.rejected"] == 1 and events["danger.closed"] == 1
    assert events["danger.reported"] == len(dangers) == seeded.dangers
    overdue = [d for d in dangers if d.status != "closed" and d.deadline < today()]
    assert len(overdue) >= 2
    assert all(p.telegram_id and p.wecom_user_id for p in people) and len(people) == 3
    assert len(groups) == 2 and all(g.unit_id for g in groups)
    assert all((settings.photo_dir / p.path).is_file() for p in photos)
