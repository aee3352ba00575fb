"""Benchmark: a province's million hidden dangers; p50 and p99 of every chat operation.

    .venv/bin/python bench/storage_1m.py [--dangers 1000000] [--db sqlite postgresql]
        [--runs 200] [--keep DIR] [--reuse] [--pg-url URL]

It generates a province as one would have it after three years of the campaign (80 units,
800 tasks, 5,000 people, the hidden dangers: about 85 % closed, 10 % open, 5 % overdue, 1.5
photos each, a rectification and its audit events for each that got one) with bulk inserts
through the product's own schema and migrations, checks every counter the product keeps
against a recount, then calls the domain operations the chat handlers call, as the people of
the province would, and prints p50 and p99 of each. Figures are printed, not asserted: this
machine is shared and noisy. `--keep DIR --reuse` builds once and measures again (after
`hdbot db upgrade`-style migrations, which `--reuse` runs).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import statistics as stats_module
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from storage import campaigns, clock, migrate  # noqa: E402
from storage.accounts import Account  # noqa: E402
from storage.closed_loop import danger_detail  # noqa: E402
from storage.conversation import Input, InputKind, NewPhoto  # noqa: E402
from storage.db import (  # noqa: E402
    Sessions,
    create_engine,
    make_sessions,
    reading,
    refresh_statistics,
)
from storage.figures import figures  # noqa: E402
from storage.ledger import ledger_scope, statistics  # noqa: E402
from storage.lists import list_dangers  # noqa: E402
from storage.models import (  # noqa: E402
    Event,
    Field,
    HiddenDanger,
    Photo,
    Rectification,
    Task,
    Unit,
    User,
)
from storage.people import who_is  # noqa: E402
from storage.pushes import countdown_data, enqueue_due  # noqa: E402
from storage.report import Area, ReportRules, Step, answer_report, begin_report  # noqa: E402
from storage.report.suggestions import last_place, likely_sites, likely_tasks  # noqa: E402
from storage.units import unit_and_descendants  # noqa: E402

# The bench's "now": 10:00 in the campaign's zone on a weekday, the middle of a working day.
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 25)
YEARS = 3
RULES = ReportRules(area=Area(38.5, 118.5, 43.5, 125.8), number_prefix="LN")
CITIES = ("沈阳", "大连", "鞍山", "抚顺", "本溪", "丹东", "锦州", "营口", "阜新")
DISTRICTS_PER_CITY = (8, 8, 8, 8, 8, 8, 8, 7, 7)  # 70 districts, 9 cities, 1 province: 80 units
WORDS = ("化工", "燃气", "港口", "冶金", "建材", "仓储", "物流", "机械", "纺织", "食品")
KINDS = ("有限公司", "集团", "厂", "站", "码头", "仓库")
DESCRIPTIONS = (
    "储罐区防火堤破损，可燃气体报警装置未按规定设置",
    "消防通道被占用，应急照明损坏",
    "燃气管道腐蚀，未设置警示标志",
    "高处作业未系安全带，脚手架未验收",
    "配电箱未接地，电缆老化破损",
    "危险化学品混存，安全距离不足",
)


@dataclass
class Province:
    """What the operations are called with: who is who, and a few records of each kind."""

    province_id: int = 0
    city_ids: list[int] = field(default_factory=list)
    district_ids: list[int] = field(default_factory=list)
    inspectors: list[int] = field(default_factory=list)  # telegram ids
    reporters: list[tuple[int, int]] = field(default_factory=list)  # (user id, unit id)
    district_supervisors: list[int] = field(default_factory=list)
    city_supervisors: list[int] = field(default_factory=list)
    to_verify: list[tuple[int, int]] = field(default_factory=list)  # (supervisor, danger id)
    numbers: list[tuple[int, str]] = field(default_factory=list)  # (supervisor, number)
    words: list[tuple[int, str]] = field(default_factory=list)  # (supervisor, words)
    sites: list[str] = field(default_factory=list)


def phash_of(rng: random.Random) -> int:
    value = rng.getrandbits(64)
    return value - (1 << 64) if value >= 1 << 63 else value


async def build(url: str, n: int, rng: random.Random) -> None:
    """Generate the province in a database at `url` (migrated to the newest schema first)."""
    await migrate.upgrade(url)
    engine = create_engine(url)
    sessions = make_sessions(engine)
    started = NOW - timedelta(days=365 * YEARS)
    async with sessions() as s:
        await campaigns.set_campaign(
            s, name="辽宁省安全生产治本攻坚三年行动", closing_date=date(2026, 12, 31), actor="bench"
        )
        campaign_id = (await campaigns.require_campaign(s)).id
        province = (
            await s.execute(
                insert(Unit).returning(Unit.id),
                [{"name": "辽宁省", "kind": "region", "parent_id": None, "created_at": started}],
            )
        ).scalar_one()
        cities = list(
            (
                await s.execute(
                    insert(Unit).returning(Unit.id, sort_by_parameter_order=True),
                    [{"name": f"{c}市", "kind": "region", "parent_id": province} for c in CITIES],
                )
            ).scalars()
        )
        districts: list[tuple[int, int]] = []  # (district, city)
        for city, name, count in zip(cities, CITIES, DISTRICTS_PER_CITY, strict=True):
            ids = (
                await s.execute(
                    insert(Unit).returning(Unit.id, sort_by_parameter_order=True),
                    [
                        {"name": f"{name}第{k + 1}区", "kind": "region", "parent_id": city}
                        for k in range(count)
                    ],
                )
            ).scalars()
            districts += [(d, city) for d in ids]
        field_ids = list(await s.scalars(select(Field.id)))
        all_units = [province, *cities, *(d for d, _ in districts)]
        task_rows = [
            {
                "campaign_id": campaign_id,
                "code": f"LN-{k + 1:04d}",
                "title": f"{rng.choice(WORDS)}企业专项检查第{k + 1}批",
                "source": "provincial",
                "field_id": rng.choice(field_ids),
                # Most tasks are a district's; some a city's or the province's.
                "unit_id": rng.choice([d for d, _ in districts])
                if k % 10
                else rng.choice(all_units[:10]),
                "due_date": TODAY + timedelta(days=rng.randint(-400, 60)),
                "status": "done" if rng.random() < 0.3 else "open",
            }
            for k in range(800)
        ]
        tasks = list(
            (
                await s.execute(
                    insert(Task).returning(Task.id, Task.unit_id, sort_by_parameter_order=True),
                    task_rows,
                )
            ).all()
        )
        people = []
        for i in range(5000):
            if i < 20:
                role, unit = "supervisor", province
            elif i < 110:
                role, unit = "supervisor", cities[i % len(cities)]
            elif i < 460:
                role, unit = "supervisor", districts[i % len(districts)][0]
            else:
                role, unit = "inspector", districts[i % len(districts)][0]
            people.append(
                {
                    "telegram_id": 100_000 + i,
                    "name": f"人员{i}",
                    "role": role,
                    "unit_id": unit,
                    "active": True,
                    "created_at": started,
                }
            )
        users = list(
            (
                await s.execute(
                    insert(User).returning(
                        User.id, User.unit_id, User.role, sort_by_parameter_order=True
                    ),
                    people,
                )
            ).all()
        )
        await s.commit()
    inspectors_of: dict[int, list[int]] = {}
    supervisors_of: dict[int, list[int]] = {}
    for uid, unit, role in users:
        (inspectors_of if role == "inspector" else supervisors_of).setdefault(unit, []).append(uid)
    tasks_of: dict[int, list[int]] = {}
    for tid, unit in tasks:
        tasks_of.setdefault(unit, []).append(tid)
    sites = [
        f"{rng.choice(CITIES)}{rng.choice(WORDS)}{rng.choice(KINDS)}{k}号" for k in range(20_000)
    ]
    span = (NOW - started).total_seconds()
    deferred = await _defer_search_index(engine)
    batch = 20_000
    photo_id = 0
    for first in range(0, n, batch):
        dangers, photos, rounds, events = [], [], [], []
        for i in range(first, min(n, first + batch)):
            did = i + 1
            district, city = rng.choice(districts)
            # Created evenly over the three years, in order of their numbers.
            created = started + timedelta(seconds=span * (i + rng.random()) / n)
            draw = rng.random()
            reporter = rng.choice(inspectors_of[district])
            if created > NOW - timedelta(days=20) or draw < 0.15:
                # The last weeks' reports are mostly open; of the older ones 15 % are.
                status = rng.choice(("reported", "rectifying", "submitted"))
                overdue = draw < 0.05
                deadline = (
                    TODAY - timedelta(days=rng.randint(1, 120))
                    if overdue
                    else TODAY + timedelta(days=rng.randint(0, 30))
                )
                closed_at = None
            else:
                status = "closed"
                deadline = (created + timedelta(days=rng.choice((7, 15, 30)))).date()
                closed_at = created + timedelta(days=rng.uniform(1, 25))
            task_choices = tasks_of.get(district) or tasks_of.get(city) or [None]
            level = "major" if rng.random() < 0.08 else "general"
            dangers.append(
                {
                    "id": did,
                    "number": f"LN-{created.year}-{did:07d}",
                    "campaign_id": campaign_id,
                    "kind": "hidden_danger" if rng.random() < 0.95 else "problem",
                    "level": level,
                    "task_id": rng.choice(task_choices),
                    "unit_id": district,
                    "site": rng.choice(sites),
                    "field_id": rng.choice(field_ids),
                    "description": rng.choice(DESCRIPTIONS),
                    "latitude": 38.9 + rng.random() * 3,
                    "longitude": 121.0 + rng.random() * 3,
                    "address": None,
                    "deadline": deadline,
                    "status": status,
                    "reporter_id": reporter,
                    "responsible_id": reporter if rng.random() < 0.9 else None,
                    "created_at": created,
                    "updated_at": closed_at or created,
                    "closed_at": closed_at,
                }
            )
            stages = ["before"] if i % 2 else ["before", "after"]
            rid = None
            if status in ("submitted", "closed"):
                rounds.append(
                    {
                        "id": did,
                        "danger_id": did,
                        "submitted_by_id": reporter,
                        "note": "已整改完毕",
                        "measures": {},
                        "submitted_at": (closed_at or created) - timedelta(hours=3),
                        "verdict": "approved" if status == "closed" else None,
                        "verified_by_id": rng.choice(supervisors_of[district])
                        if status == "closed"
                        else None,
                        "verified_at": closed_at,
                    }
                )
                rid = did
            for stage in stages:
                photo_id += 1
                digest = hashlib.sha256(f"{photo_id}".encode()).hexdigest()
                photos.append(
                    {
                        "id": photo_id,
                        "danger_id": did,
                        "stage": stage,
                        "rectification_id": rid if stage == "after" else None,
                        "file_id": f"f{photo_id}",
                        "file_unique_id": f"u{photo_id}",
                        "sha256": digest,
                        "phash": phash_of(rng),
                        "path": f"{digest[:2]}/{digest}.jpg",
                        "size": 900_000,
                        "source": "photo",
                        "user_id": reporter,
                        "created_at": created,
                    }
                )
            events.append(
                {
                    "danger_id": did,
                    "actor_id": reporter,
                    "action": "danger.reported",
                    "subject": f"LN-{created.year}-{did:07d}",
                    "detail": {},
                    "created_at": created,
                }
            )
            if closed_at is not None:
                events.append(
                    {
                        "danger_id": did,
                        "actor_id": reporter,
                        "action": "danger.closed",
                        "subject": f"LN-{created.year}-{did:07d}",
                        "detail": {},
                        "created_at": closed_at,
                    }
                )
        async with sessions() as s:
            await s.execute(insert(HiddenDanger), dangers)
            if rounds:
                await s.execute(insert(Rectification), rounds)
            await s.execute(insert(Photo), photos)
            await s.execute(insert(Event), events)
            await s.commit()
        print(f"  {min(n, first + batch):>9,} hidden dangers", end="\r", flush=True)
    print()
    async with sessions() as s:
        if engine.dialect.name == "postgresql":
            for table in ("hidden_danger", "photo", "rectification", "event"):
                await s.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
        # The number sequence of the current year goes on from the generated ones.
        await s.execute(
            text("INSERT INTO number_sequence (name, last) VALUES (:name, :last)"),
            {"name": f"LN-{NOW.year}", "last": n + 1},
        )
        await s.commit()
    async with engine.connect() as connection:
        if deferred:
            # One build of the trigram index over the loaded rows, as for any bulk load.
            await connection.execute(text(deferred))
        await connection.commit()
    # After a bulk load PostgreSQL's visibility map is empty until autovacuum comes by, and
    # until then no count is index-only: vacuum now, as after any bulk load.
    # SQLite gets the statistics hdbot's housekeeping gives it once a day (in the engine's
    # autocommit mode an ANALYZE was silently dropped: it runs in a transaction like any write).
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE"))
    else:
        async with make_sessions(engine)() as session:
            await refresh_statistics(session)
    await engine.dispose()


async def _defer_search_index(engine: AsyncEngine) -> str | None:
    """Drop PostgreSQL's trigram index for the load and return how to build it again.

    A GIN index kept up row by row makes a million inserts take over an hour here; built once
    after the load it takes a minute or two. The tally's triggers stay: the counters are built
    the way the product keeps them, and checked against a recount afterwards.
    """
    if engine.dialect.name != "postgresql":
        return None
    async with engine.begin() as connection:
        definition = await connection.scalar(
            text("SELECT pg_get_indexdef('ix_hidden_danger_search'::regclass)")
        )
        await connection.execute(text("DROP INDEX ix_hidden_danger_search"))
    return str(definition)


async def province(sessions: Sessions, rng: random.Random) -> Province:
    """Pick the people and records the operations are called with."""
    p = Province()
    async with sessions() as s:
        units = list((await s.execute(select(Unit.id, Unit.parent_id))).all())
        p.province_id = next(u for u, parent in units if parent is None)
        p.city_ids = [u for u, parent in units if parent == p.province_id]
        p.district_ids = [u for u, parent in units if parent in p.city_ids]
        people = list((await s.execute(select(User.telegram_id, User.role, User.unit_id))).all())
        p.inspectors = [t for t, role, _ in people if role == "inspector"]
        p.reporters = [
            (user_id, unit_id)
            for user_id, unit_id in (
                await s.execute(
                    select(User.id, User.unit_id).where(
                        User.role == "inspector", User.unit_id.is_not(None)
                    )
                )
            ).all()
        ]
        district_sup = {u: t for t, role, u in people if role == "supervisor"}
        p.district_supervisors = [district_sup[d] for d in p.district_ids if d in district_sup]
        p.city_supervisors = [district_sup[c] for c in p.city_ids if c in district_sup]
        waiting = list(
            (
                await s.execute(
                    select(HiddenDanger.id, HiddenDanger.unit_id)
                    .join(Photo, Photo.danger_id == HiddenDanger.id)
                    .where(HiddenDanger.status == "submitted", Photo.stage == "after")
                    .limit(2000)
                )
            ).all()
        )
        for danger_id, unit in rng.sample(waiting, min(200, len(waiting))):
            p.to_verify.append((district_sup[unit], danger_id))
        some = list(
            (
                await s.execute(
                    select(HiddenDanger.number, HiddenDanger.unit_id, HiddenDanger.site).where(
                        HiddenDanger.id.in_([rng.randint(1, 1_000_000) for _ in range(400)])
                    )
                )
            ).all()
        )
        for number, unit, site in some:
            p.numbers.append((district_sup[unit], number))
            p.words.append((district_sup[unit], site[2:]))
    return p


@dataclass
class Timing:
    name: str
    ms: list[float] = field(default_factory=list)

    def line(self) -> str:
        ordered = sorted(self.ms)
        if not ordered:
            return f"| {self.name} | 0 | | | |"
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return (
            f"| {self.name} | {len(ordered)} | {stats_module.median(ordered):.1f} | {p99:.1f} | "
            f"{ordered[-1]:.1f} |"
        )


async def timed(timing: Timing, call: Callable[[], Awaitable[Any]]) -> Any:
    began = time.perf_counter()
    result = await call()
    timing.ms.append((time.perf_counter() - began) * 1000)
    return result


async def measure(engine: AsyncEngine, p: Province, runs: int, rng: random.Random) -> list[Timing]:
    """Time every chat operation `runs` times, each with a different person or record."""
    sessions = make_sessions(engine)
    reads = reading(sessions)
    out: list[Timing] = []

    async def each(name: str, call: Callable[[int], Awaitable[Any]]) -> None:
        timing = Timing(name)
        for k in range(runs):
            await timed(timing, lambda k=k: call(k))
        out.append(timing)

    async def listing(telegram_id: int, scope: str, query: str = "", page: int = 0) -> Any:
        async with reads() as s:
            return await list_dangers(
                s,
                account=Account.telegram(telegram_id),
                scope=scope,
                query=query,
                page=page,
                now=NOW,
            )

    async def who(telegram_id: int) -> Any:
        async with reads() as s:
            return await who_is(s, Account.telegram(telegram_id))

    await each("who is writing (every update)", lambda k: who(rng.choice(p.inspectors)))
    await each("/mine of an inspector", lambda k: listing(rng.choice(p.inspectors), "mine"))
    await each(
        "/mine, page 3", lambda k: listing(rng.choice(p.district_supervisors), "mine", page=2)
    )
    await each(
        "/overdue of a district",
        lambda k: listing(rng.choice(p.district_supervisors), "overdue"),
    )
    await each("/overdue of a city", lambda k: listing(rng.choice(p.city_supervisors), "overdue"))
    await each("/overdue of an inspector", lambda k: listing(rng.choice(p.inspectors), "overdue"))
    await each(
        "/find by number",
        lambda k: listing(
            *p.numbers[k % len(p.numbers)][:1], "find", p.numbers[k % len(p.numbers)][1]
        ),
    )
    await each(
        "/find by an enterprise's name",
        lambda k: listing(p.words[k % len(p.words)][0], "find", p.words[k % len(p.words)][1]),
    )
    await each(
        "/find by words of many descriptions (1 in 6)",
        lambda k: listing(
            p.words[k % len(p.words)][0], "find", DESCRIPTIONS[k % len(DESCRIPTIONS)][:5]
        ),
    )

    async def card(k: int) -> Any:
        supervisor, danger_id = p.to_verify[k % len(p.to_verify)]
        async with reads() as s:
            detail = await danger_detail(
                s, account=Account.telegram(supervisor), danger_id=danger_id, now=NOW
            )
        assert "approve" in detail.actions, detail.actions
        return detail

    await each("a card to verify (with fraud checks)", card)

    async def stats(telegram_id: int) -> Any:
        async with reads() as s:
            scope = await ledger_scope(
                s, account=Account.telegram(telegram_id), managers_only=False, now=NOW
            )
            return await statistics(s, scope)

    await each("/stats of a district", lambda k: stats(rng.choice(p.district_supervisors)))
    await each("/stats of a city", lambda k: stats(rng.choice(p.city_supervisors)))

    async def countdown(unit_id: int | None) -> Any:
        async with reads() as s:
            campaign = await campaigns.require_campaign(s)
            return await countdown_data(s, campaign=campaign, unit_id=unit_id, today=TODAY)

    await each("countdown of the province group", lambda k: countdown(p.province_id))
    await each("countdown of a city group", lambda k: countdown(rng.choice(p.city_ids)))
    await each("countdown of a district group", lambda k: countdown(rng.choice(p.district_ids)))

    async def guesses(k: int) -> Any:
        # What a report begun by its photos offers: the last place, the sites near the place
        # given, the tasks of the nearest site.
        user_id, unit_id = p.reporters[k * 13 % len(p.reporters)]
        async with reads() as s:
            campaign = await campaigns.require_campaign(s)
            await last_place(s, user_id=user_id, now=NOW)
            sites = await likely_sites(s, user_id=user_id, latitude=41.8, longitude=123.4)
            return await likely_tasks(
                s,
                user_id=user_id,
                unit_ids=await unit_and_descendants(s, unit_id),
                campaign_id=campaign.id,
                site=sites[0].site if sites else None,
            )

    await each("photo first: the guesses (place, sites, tasks)", guesses)

    async def tick(k: int) -> Any:
        async with sessions() as s:
            return await enqueue_due(s, now=NOW + timedelta(minutes=k))

    await each("the minute tick", tick)
    out += await reports(sessions, p, max(10, runs // 10), rng)
    return out


async def reports(sessions: Sessions, p: Province, count: int, rng: random.Random) -> list[Timing]:
    """Whole reports by different inspectors: each step's time, and the submit's."""
    steps, submits = Timing("one report step"), Timing("submit")
    update_id = int(time.time() * 1000)  # new ones on every run of the bench
    for k in range(count):
        telegram_id = p.inspectors[k * 7 % len(p.inspectors)]
        account = Account.telegram(telegram_id)

        async def send(given: Input) -> Any:
            nonlocal update_id
            update_id += 1
            async with sessions() as s:
                return await answer_report(
                    s,
                    account=account,  # noqa: B023
                    update_id=update_id,
                    given=given,
                    rules=RULES,
                    now=NOW,
                )

        async with sessions() as s:
            update_id += 1
            reply = await timed(
                steps,
                lambda s=s: begin_report(s, account=account, update_id=update_id),  # noqa: B023
            )
        for _ in range(12):
            draft = reply.draft
            if draft is None or reply.submitted is not None:
                break
            step = Step(draft.step)
            if step == Step.TASK:
                if not reply.tasks or not reply.tasks.items:
                    raise SystemExit(f"no open task for inspector {telegram_id}")
                given = Input(InputKind.BUTTON, button=f"task:{reply.tasks.items[0].id}")
            elif step == Step.SITE:
                given = Input(InputKind.TEXT, text=rng.choice(p.sites or ["某化工有限公司"]))
            elif step == Step.FIELD:
                given = Input(InputKind.BUTTON, button="field:hazardous_chemicals")
            elif step == Step.DESCRIPTION:
                given = Input(InputKind.TEXT, text=rng.choice(DESCRIPTIONS))
            elif step == Step.PHOTOS:
                given = (
                    Input(InputKind.BUTTON, button="done")
                    if draft.photos
                    else Input(InputKind.PHOTO, photo=_photo(rng))
                )
            elif step == Step.LOCATION:
                given = Input(InputKind.LOCATION, latitude=41.8, longitude=123.4)
            elif step == Step.LEVEL:
                given = Input(InputKind.BUTTON, button="level:general")
            elif step == Step.DEADLINE:
                given = Input(InputKind.BUTTON, button="days:7")
            else:
                reply = await timed(submits, lambda: send(Input(InputKind.BUTTON, button="submit")))
                assert reply.submitted is not None, reply
                break
            reply = await timed(steps, lambda given=given: send(given))
        else:
            raise SystemExit("the report did not finish")
    return [steps, submits]


def _photo(rng: random.Random) -> NewPhoto:
    digest = hashlib.sha256(rng.randbytes(16)).hexdigest()
    return NewPhoto(
        file_id=f"bench-{digest[:12]}",
        file_unique_id=digest[:16],
        sha256=digest,
        path=f"{digest[:2]}/{digest}.jpg",
        thumb_path=None,
        size=800_000,
        width=1600,
        height=1200,
        exif_time=None,
        exif_lat=None,
        exif_lon=None,
        phash=phash_of(rng),
    )


async def check_counters(engine: AsyncEngine) -> list[str]:
    """The counters the product keeps, against a recount of the ledger; the differences."""
    sessions = make_sessions(engine)
    wrong = []
    async with sessions() as s:
        campaign = await campaigns.require_campaign(s)
        units = [None, *await s.scalars(select(Unit.id))]
        for unit_id in units:
            ids = None
            if unit_id is not None:
                from storage.units import unit_and_descendants

                ids = await unit_and_descendants(s, unit_id)
            kept = await figures(s, campaign_id=campaign.id, unit_ids=ids, today=TODAY)
            recount = select(
                func.count(),
                func.count().filter(HiddenDanger.status == "closed"),
                func.count().filter(HiddenDanger.status != "closed", HiddenDanger.deadline < TODAY),
                func.count().filter(HiddenDanger.status != "closed", HiddenDanger.level == "major"),
            ).where(HiddenDanger.kind == "hidden_danger")
            if ids is not None:
                recount = recount.where(HiddenDanger.unit_id.in_(ids))
            found, closed, overdue, major = (await s.execute(recount)).one()
            got = (kept.found, kept.closed, kept.overdue, kept.major_open)
            if got != (found, closed, overdue, major):
                wrong.append(
                    f"unit {unit_id}: kept {got}, recount {(found, closed, overdue, major)}"
                )
    return wrong


async def run(url: str, args: argparse.Namespace, built: bool) -> None:
    rng = random.Random(8)
    if not built:
        began = time.perf_counter()
        await build(url, args.dangers, rng)
        print(f"built {args.dangers:,} hidden dangers in {time.perf_counter() - began:.0f} s")
    else:
        await migrate.upgrade(url)
    engine = create_engine(url)
    try:
        wrong = await check_counters(engine)
        print("counters: " + ("all equal to a recount" if not wrong else "; ".join(wrong)))
        p = await province(make_sessions(engine), rng)
        p.sites = [w for _, w in p.words]
        timings = await measure(engine, p, args.runs, rng)
    finally:
        await engine.dispose()
    print("| operation | runs | p50 ms | p99 ms | max ms |")
    print("| --- | --- | --- | --- | --- |")
    for timing in timings:
        print(timing.line())


async def fresh_pg(url: str) -> str:
    """A new, empty database beside the one at `url`; its URL."""
    base = create_engine(url)
    name = "hdbot_bench_1m"
    async with base.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        await connection.execute(text(f"CREATE DATABASE {name}"))
    await base.dispose()
    return url.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dangers", type=int, default=1_000_000)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="Build the SQLite database here and keep it.")
    parser.add_argument("--reuse", action="store_true", help="Measure the kept databases again.")
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    clock.install(clock.ShiftedClock(NOW))
    for db in args.db:
        print(f"\n## {db}, {args.dangers:,} hidden dangers")
        if db == "sqlite":
            folder = args.keep or Path(tempfile.mkdtemp(prefix="hdbot-1m-"))
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"province-{args.dangers}.sqlite3"
            built = args.reuse and path.exists()
            if not built:
                path.unlink(missing_ok=True)
            asyncio.run(run(f"sqlite+aiosqlite:///{path}", args, built))
        else:
            url = args.pg_url.rsplit("/", 1)[0] + "/hdbot_bench_1m"
            if not args.reuse:
                url = asyncio.run(fresh_pg(args.pg_url))
            asyncio.run(run(url, args, args.reuse))


if __name__ == "__main__":
    main()
