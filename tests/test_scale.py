"""The province-scale queries (migration 0008) give the answers a plain recount gives.

Every test writes records straight into the tables, as a bulk import would, and then checks the
tally the triggers keep, the lists, /find, the statistics' trend and the near-duplicate check
against the obvious query, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, text, update

from storage.campaigns import require_campaign
from storage.db import Sessions, refresh_statistics
from storage.figures import figures
from storage.fraud import BANDS, NEAR_DUPLICATE_BITS, near_values
from storage.ledger import ledger_scope, statistics
from storage.lists import PAGE_SIZE, list_dangers
from storage.models import DangerTally, HiddenDanger, Unit, User
from storage.overdue import is_overdue
from storage.photos import hamming
from storage.units import unit_and_descendants
from tests.factories import tg
from tests.timeline import NOW, today
from tests.world import ADMIN, CITY_SUPERVISOR, INSPECTOR, SUPERVISOR, world

STATUSES = ("reported", "rectifying", "submitted", "closed")


async def _records(sessions: Sessions, n: int, seed: int = 1) -> list[dict[str, Any]]:
    """`n` hidden dangers (and a few problems) spread over the units and people of the world."""
    rng = random.Random(seed)
    async with sessions() as s:
        campaign = await require_campaign(s)
        units = list(await s.scalars(select(Unit.id)))
        people = list(await s.scalars(select(User.id)))
        rows = []
        for i in range(n):
            status = rng.choice(STATUSES)
            created = NOW - timedelta(days=rng.randint(0, 90), minutes=i)
            rows.append(
                {
                    "number": f"DL-2026-{900_000 + i:06d}",
                    "campaign_id": campaign.id,
                    "kind": "hidden_danger" if i % 7 else "problem",
                    "level": "major" if i % 5 == 0 else "general",
                    "unit_id": rng.choice(units),
                    "site": rng.choice(["大连石化储运公司", "金州燃气站", "旅顺港码头"])
                    + str(i % 9),
                    "field_id": 1,
                    "description": rng.choice(["防火堤破损", "消防通道被占用", "燃气管道腐蚀"]),
                    "deadline": today() + timedelta(days=rng.randint(-20, 20)),
                    "status": status,
                    "reporter_id": rng.choice(people),
                    "responsible_id": rng.choice([None, *people]),
                    "created_at": created,
                    "updated_at": created,
                    "closed_at": created + timedelta(days=rng.uniform(0.5, 9))
                    if status == "closed"
                    else None,
                }
            )
        await s.execute(insert(HiddenDanger), rows)
        await s.commit()
    return rows


async def _tally_matches_recount(sessions: Sessions) -> None:
    async with sessions() as s:
        kept = {
            (t.campaign_id, t.unit_id, t.kind, t.level, t.status): (t.n, round(t.closed_days, 6))
            for t in await s.scalars(select(DangerTally))
            if t.n
        }
        recount = {}
        for row in await s.scalars(select(HiddenDanger)):
            key = (row.campaign_id, row.unit_id, row.kind, row.level, row.status)
            n, days = recount.get(key, (0, 0.0))
            if row.status == "closed" and row.closed_at is not None:
                days += (row.closed_at - row.created_at).total_seconds() / 86400
            recount[key] = (n + 1, days)
    assert kept == {k: (n, round(d, 6)) for k, (n, d) in recount.items()}


async def test_the_tally_follows_every_insert_update_and_delete(sessions: Sessions) -> None:
    await world(sessions)
    await _records(sessions, 120)
    await _tally_matches_recount(sessions)
    async with sessions() as s:
        ids = list(await s.scalars(select(HiddenDanger.id).order_by(HiddenDanger.id)))
        units = list(await s.scalars(select(Unit.id)))
        await s.execute(
            update(HiddenDanger)
            .where(HiddenDanger.id.in_(ids[:30]))
            .values(status="closed", closed_at=NOW)
        )
        await s.execute(
            update(HiddenDanger)
            .where(HiddenDanger.id.in_(ids[30:50]))
            .values(status="rectifying", closed_at=None)
        )
        await s.execute(
            update(HiddenDanger).where(HiddenDanger.id.in_(ids[50:60])).values(level="major")
        )
        await s.execute(
            update(HiddenDanger).where(HiddenDanger.id.in_(ids[60:70])).values(unit_id=units[-1])
        )
        await s.execute(delete(HiddenDanger).where(HiddenDanger.id.in_(ids[70:80])))
        await s.commit()
    await _tally_matches_recount(sessions)


async def test_figures_from_the_tally_equal_a_recount(sessions: Sessions) -> None:
    await world(sessions)
    await _records(sessions, 150)
    async with sessions() as s:
        campaign = await require_campaign(s)
        for unit_id in [None, *await s.scalars(select(Unit.id))]:
            ids = None if unit_id is None else await unit_and_descendants(s, unit_id)
            got = await figures(s, campaign_id=campaign.id, unit_ids=ids, today=today())
            rows = [
                r
                for r in await s.scalars(select(HiddenDanger))
                if r.kind == "hidden_danger" and (ids is None or r.unit_id in ids)
            ]
            # The Python check of one record, against the SQL condition the figures count with.
            day = today()
            late = [r for r in rows if is_overdue(status=r.status, deadline=r.deadline, today=day)]
            assert (got.found, got.closed, got.overdue, got.major_open) == (
                len(rows),
                sum(r.status == "closed" for r in rows),
                len(late),
                sum(r.status != "closed" and r.level == "major" for r in rows),
            )


async def _every_page(sessions: Sessions, telegram_id: int, scope: str, query: str = "") -> list:
    lines, page = [], 0
    while True:
        async with sessions() as s:
            got = await list_dangers(
                s, account=tg(telegram_id), scope=scope, query=query, page=page, now=NOW
            )
        lines += got.items
        assert len(got.items) <= PAGE_SIZE
        if page + 1 >= got.pages:
            assert len(lines) == got.total
            return lines
        page += 1


async def _visible_ids(sessions: Sessions, telegram_id: int, own_only: bool) -> set[int]:
    async with sessions() as s:
        user = (await s.scalars(select(User).where(User.telegram_id == telegram_id))).one()
        units = await unit_and_descendants(s, user.unit_id) if user.unit_id else None
        return {
            r.id
            for r in await s.scalars(select(HiddenDanger))
            if user.id in (r.reporter_id, r.responsible_id)
            or (not own_only and (units is None or r.unit_id in units))
        }


async def test_lists_page_through_open_first_then_closed(sessions: Sessions) -> None:
    await world(sessions)
    await _records(sessions, 200)
    for telegram_id, own_only in (
        (INSPECTOR, True),
        (SUPERVISOR, False),
        (CITY_SUPERVISOR, False),
        (ADMIN, False),
    ):
        lines = await _every_page(sessions, telegram_id, "mine")
        assert {line.id for line in lines} == await _visible_ids(sessions, telegram_id, own_only)
        order = [(line.status == "closed", line.deadline, -line.id) for line in lines]
        assert order == sorted(order)
        late = await _every_page(sessions, telegram_id, "overdue")
        assert {line.id for line in late} == {
            line.id for line in lines if line.status != "closed" and line.days_left < 0
        }


async def test_find_by_number_name_and_words(sessions: Sessions) -> None:
    await world(sessions)
    rows = await _records(sessions, 200)
    everything = await _visible_ids(sessions, ADMIN, False)

    async def found(query: str) -> set[str]:
        return {line.number for line in await _every_page(sessions, ADMIN, "find", query)}

    assert await found(rows[17]["number"].lower()) == {rows[17]["number"]}
    for query in ("石化储运", "燃气站3", "防火堤", "被占", "900123", "港"):
        expected = {
            r["number"]
            for r in rows
            if query in r["number"] or query in r["site"] or query in r["description"]
        }
        assert expected and await found(query) == expected, query
    assert await found("没有这样的") == set()
    # An inspector's /find reaches what they may see, not further.
    mine = {line.id for line in await _every_page(sessions, INSPECTOR, "find", "防火堤")}
    assert mine <= await _visible_ids(sessions, INSPECTOR, False) and mine < everything


async def test_the_trend_equals_counting_each_week(sessions: Sessions) -> None:
    await world(sessions)
    await _records(sessions, 150)
    async with sessions() as s:
        scope = await ledger_scope(s, account=tg(CITY_SUPERVISOR), managers_only=False, now=NOW)
        stats = await statistics(s, scope)
        rows = [r for r in await s.scalars(select(HiddenDanger)) if r.kind == "hidden_danger"]
    monday = today() - timedelta(days=today().weekday() + 7 * (len(stats.weeks) - 1))
    for n, week in enumerate(stats.weeks):
        start = monday + timedelta(days=7 * n)
        end = start + timedelta(days=7)

        def day(moment: Any) -> date:
            return moment.astimezone(scope.tz).date()

        assert week.found == sum(start <= day(r.created_at) < end for r in rows)
        assert week.closed == sum(
            r.closed_at is not None and start <= day(r.closed_at) < end for r in rows
        )
        assert week.open_end == sum(
            day(r.created_at) < end and (r.closed_at is None or day(r.closed_at) >= end)
            for r in rows
        )
    assert stats.total.found == len(rows)
    assert stats.total.avg_days_to_close is not None


def test_the_hash_bands_find_every_hash_within_six_bits() -> None:
    """Pigeonhole: at most 6 differing bits leave one band within 2 bits of the other's."""
    rng = random.Random(3)
    for _ in range(300):
        a = rng.getrandbits(64)
        b = a
        for bit in rng.sample(range(64), rng.randint(0, NEAR_DUPLICATE_BITS)):
            b ^= 1 << bit
        signed = b - (1 << 64) if b >= 1 << 63 else b
        assert hamming(a, signed) <= NEAR_DUPLICATE_BITS
        assert any(
            (signed >> start) & ((1 << width) - 1)
            in near_values((a >> start) & ((1 << width) - 1), width)
            for start, width in BANDS
        )


async def test_sqlite_s_planner_gets_statistics_and_the_lists_stay_the_same(
    sessions: Sessions,
) -> None:
    """ANALYZE (bot/housekeeping.py, daily) changes how SQLite reads, never what it answers."""
    await world(sessions)
    await _records(sessions, 300)
    async with sessions() as s:
        before = await list_dangers(s, account=tg(SUPERVISOR), scope="overdue", now=NOW)
    async with sessions() as s:
        ran = await refresh_statistics(s)
        dialect = s.get_bind().dialect.name
    assert ran == (dialect == "sqlite")
    async with sessions() as s:
        if dialect == "sqlite":
            stats = await s.scalar(text("SELECT count(*) FROM sqlite_stat1"))
            assert stats and stats > 10
        after = await list_dangers(s, account=tg(SUPERVISOR), scope="overdue", now=NOW)
    assert after == before
