"""WeCom group robots as push targets: the countdown as markdown, once, within WeCom's limits.

The real storage and sender run against FakeWeCom (bot/sandbox/wecom/server.py), which answers as
WeCom's robot webhook does: HTTP 200 and an errcode. Telegram is a FakeBotAPI, used only for
the notices to admins and, through the command line, for a subscribed group.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select, update
from telegram import Bot

from bot.cli import main
from bot.config import Settings
from bot.push.sender import drain
from bot.sandbox.botapi import FakeBotAPI
from bot.sandbox.wecom.server import FakeWeCom
from storage import groups, people, tasks, units
from storage.clock import utcnow
from storage.db import Sessions, create_engine, make_sessions
from storage.models import (
    DangerStatus,
    Field,
    HiddenDanger,
    Outbox,
    OutboxStatus,
    PushTarget,
    Task,
    TaskStatus,
    Unit,
    User,
)
from storage.pushes import add_wecom_target, enqueue_due
from tests.factories import make_campaign, task_row, tg

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROBOT = "693a91f6-7b3e-4bc4-97a0-0ec2d1fa5aaa"  # shaped like a real robot key
OTHER_ROBOT = "1c2d3e4f-0000-4a4a-9b9b-123456789abc"
CITY_ADMIN = 7001  # no unit: told about everything
DISTRICT_ADMIN = 7002  # 甘井子区
FAR_ADMIN = 7003  # 长海县: not told about 甘井子区's robot
DAYS_LEFT = 40
SENDS = {"sendMessage", "sendPhoto", "sendMediaGroup", "sendDocument"}  # what posts a message
CAMPAIGN = "大连市安全生产专项整治三年行动"


def today() -> date:
    """Today in the campaign's time zone (what the countdown counts from)."""
    return utcnow().astimezone(SHANGHAI).date()


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def wecom() -> Iterator[FakeWeCom]:
    with FakeWeCom() as fake:
        yield fake


@pytest.fixture
def telegram() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
async def bot(telegram: FakeBotAPI) -> AsyncIterator[Bot]:
    async with Bot(
        telegram.token, base_url=telegram.base_url, base_file_url=telegram.base_file_url
    ) as client:
        yield client


@pytest.fixture
def settings(wecom: FakeWeCom, tmp_path: Path) -> Settings:
    return Settings(language="en", wecom_base_url=wecom.url, data_dir=tmp_path)


async def seed(sessions: Sessions) -> None:
    """A campaign 40 days from its close; 甘井子区 has known figures, 长海县 some of its own.

    甘井子区: 3 tasks (1 done, 1 past due); 4 hidden dangers (1 closed, 1 overdue, 1 major open).
    """
    t = today()
    await make_campaign(sessions, closing_date=t + timedelta(days=DAYS_LEFT), name=CAMPAIGN)
    rows = [
        task_row(2, "GJZ-01", due_date=(t + timedelta(days=20)).isoformat()),
        task_row(3, "GJZ-02", due_date=(t + timedelta(days=25)).isoformat()),
        task_row(4, "GJZ-03", due_date=(t - timedelta(days=2)).isoformat()),
        task_row(5, "CH-01", unit="长海县", due_date=(t - timedelta(days=9)).isoformat()),
    ]
    async with sessions() as s:
        await tasks.import_tasks(s, rows=rows, actor="test")
    for telegram_id, unit in (
        (CITY_ADMIN, None),
        (DISTRICT_ADMIN, "甘井子区"),
        (FAR_ADMIN, "长海县"),
    ):
        async with sessions() as s:
            await people.add_admin(s, account=tg(telegram_id), actor="test", unit=unit)
    async with sessions() as s:
        await s.execute(update(Task).where(Task.code == "GJZ-01").values(status=TaskStatus.DONE))
        unit_ids = {u.name: u.id for u in await s.scalars(select(Unit))}
        field_id = (await s.scalars(select(Field.id).order_by(Field.id))).first()
        reporter = await s.scalar(select(User.id).where(User.telegram_id == DISTRICT_ADMIN))
        assert field_id is not None and reporter is not None
        campaign_id = (await s.scalars(select(Task.campaign_id))).first()
        assert campaign_id is not None
        dangers = [
            ("甘井子区", "general", DangerStatus.CLOSED, t - timedelta(days=5)),
            ("甘井子区", "general", DangerStatus.RECTIFYING, t - timedelta(days=3)),  # overdue
            ("甘井子区", "major", DangerStatus.REPORTED, t + timedelta(days=10)),
            ("甘井子区", "general", DangerStatus.SUBMITTED, t + timedelta(days=2)),
            ("长海县", "major", DangerStatus.REPORTED, t - timedelta(days=20)),
        ]
        for n, (unit, level, status, deadline) in enumerate(dangers, start=1):
            s.add(
                HiddenDanger(
                    number=f"DL-{t.year}-{900000 + n}",
                    campaign_id=campaign_id,
                    level=level,
                    unit_id=unit_ids[unit],
                    site=f"企业{n}",
                    field_id=field_id,
                    description="储罐区防火堤破损",
                    deadline=deadline,
                    status=status,
                    reporter_id=reporter,
                )
            )
        await s.commit()


async def add_robot(sessions: Sessions, key: str = ROBOT, unit: str = "甘井子区", **kw: str) -> int:
    async with sessions() as s:
        return await add_wecom_target(s, unit=unit, key=key, **kw)


async def queue_countdown(sessions: Sessions, **kw: object) -> int:
    async with sessions() as s:
        return (await enqueue_due(s, force="countdown", **kw)).total  # type: ignore[arg-type]


async def outbox(sessions: Sessions, channel: str | None = None) -> list[Outbox]:
    async with sessions() as s:
        q = select(Outbox).order_by(Outbox.id)
        if channel is not None:
            q = q.where(Outbox.channel == channel)
        return list(await s.scalars(q))


def expected_countdown_lines() -> list[str]:
    closing = (today() + timedelta(days=DAYS_LEFT)).isoformat()
    return [
        f"### {CAMPAIGN}",
        f'<font color="warning">⏳ {DAYS_LEFT} days to the close ({closing})</font>',
        "Unit: 甘井子区",
        "Tasks: 1/3 done (33%), 1 past due",
        "Hidden dangers: 4 found, 1 closed, 3 open, 1 overdue",
        "Rectification rate: 25% · major still open: 1",
    ]


# --- the countdown to a robot --------------------------------------------------------------------


async def test_the_robot_gets_the_countdown_once_as_markdown(
    sessions: Sessions, wecom: FakeWeCom, telegram: FakeBotAPI, bot: Bot, settings: Settings
) -> None:
    await seed(sessions)
    wecom.add_robot(ROBOT)
    await add_robot(sessions, kinds="countdown")
    assert await queue_countdown(sessions) == 1
    assert await drain(bot, sessions, settings) == 1

    [message] = wecom.requests(ROBOT)
    assert message.ok and message.content_type == "application/json"
    assert message.body == {"msgtype": "markdown", "markdown": {"content": message.content}}
    assert len(message.content.encode("utf-8")) <= 4096
    assert message.content.splitlines() == expected_countdown_lines()
    [row] = await outbox(sessions)
    assert (row.key, row.status, row.attempts) == (
        f"wecom:{row.target}:countdown:{today().isoformat()}",
        OutboxStatus.SENT,
        0,
    )
    assert [e for e in telegram.requests() if e.method in SENDS] == []  # not to Telegram

    # Drained again, queued again the same day: nothing more.
    assert await drain(bot, sessions, settings) == 0
    assert await queue_countdown(sessions) == 0
    assert await drain(bot, sessions, settings) == 0
    assert len(wecom.requests()) == 1
    assert len(await outbox(sessions)) == 1


async def test_a_city_robot_gets_the_ranking_cut_to_4096_bytes(
    sessions: Sessions, wecom: FakeWeCom, bot: Bot, settings: Settings
) -> None:
    await seed(sessions)
    units_below = [
        f"大连市第{n:03d}号街道安全生产委员会办公室（专项整治工作专班）" for n in range(120)
    ]
    for name in units_below:  # a province's worth of long unit names below the city
        async with sessions() as s:
            await units.add_unit(
                s,
                name=name,
                kind="department",
                parent="大连市",
                actor="test",
            )
    wecom.add_robot(ROBOT)
    await add_robot(sessions, unit="大连市", kinds="countdown")
    assert await queue_countdown(sessions) == 1
    assert await drain(bot, sessions, settings) == 1
    [message] = wecom.requests(ROBOT)
    assert message.ok, message.errmsg
    content = message.content
    assert len(content.encode("utf-8")) <= 4096
    assert content.startswith(f"### {CAMPAIGN}\n")
    assert "Units by overdue hidden dangers:" in content
    ranking = content.split("Units by overdue hidden dangers:\n")[1].splitlines()
    assert ranking[:3] == [  # most overdue first, then most open
        "1. 甘井子区: 1 overdue, 3 open, rate 25%",
        "2. 长海县: 1 overdue, 1 open, rate 0%",
        f"3. {units_below[0]}: 0 overdue, 0 open, rate —",
    ]
    assert "…" in content.splitlines()[-1]  # the cut is shown, not silent


# --- WeCom's answers -----------------------------------------------------------------------------


async def test_freq_out_of_limit_is_retried_later_and_delivered_once(
    sessions: Sessions, wecom: FakeWeCom, bot: Bot, settings: Settings
) -> None:
    await seed(sessions)
    wecom.add_robot(ROBOT)
    await add_robot(sessions, kinds="countdown")
    await queue_countdown(sessions)
    wecom.fail_next(ROBOT, 45009)
    before = utcnow()
    assert await drain(bot, sessions, settings) == 0
    [row] = await outbox(sessions)
    assert row.status == OutboxStatus.QUEUED
    assert "45009" in (row.last_error or "")
    assert row.not_before >= before + timedelta(seconds=30)  # not hammered while limited

    # Not due yet: a drain now sends nothing.
    assert await drain(bot, sessions, settings) == 0
    assert len(wecom.requests(ROBOT)) == 1

    # A minute later (moved back instead of waited for), it goes out once.
    async with sessions() as s:
        await s.execute(update(Outbox).values(not_before=utcnow() - timedelta(seconds=1)))
        await s.commit()
    assert await drain(bot, sessions, settings) == 1
    assert await drain(bot, sessions, settings) == 0
    first, second = wecom.requests(ROBOT)
    assert (first.errcode, second.errcode) == (45009, 0)
    assert first.body == second.body  # the same message, resent as it was
    [row] = await outbox(sessions)
    assert row.status == OutboxStatus.SENT


async def test_the_sender_keeps_a_robot_under_20_a_minute(
    sessions: Sessions, wecom: FakeWeCom, bot: Bot, settings: Settings
) -> None:
    await seed(sessions)
    wecom.add_robot(ROBOT)
    await add_robot(sessions, kinds="countdown")
    start = utcnow() - timedelta(seconds=30)
    for n in range(25):  # `push now --again`, 25 times in the last half minute
        assert await queue_countdown(sessions, again=True, now=start + timedelta(seconds=n)) == 1
    assert await drain(bot, sessions, settings) == 20
    assert len(wecom.messages(ROBOT)) == 20
    assert wecom.errors() == []  # the robot never had to say 45009
    rows = await outbox(sessions)
    waiting = [r for r in rows if r.status == OutboxStatus.QUEUED]
    assert len(waiting) == 5
    assert all(r.attempts == 0 for r in waiting)  # deferred, not counted as failures
    assert all(r.not_before > utcnow() + timedelta(seconds=45) for r in waiting)


async def test_a_dead_key_switches_the_robot_off_and_tells_its_admins(
    sessions: Sessions, wecom: FakeWeCom, telegram: FakeBotAPI, bot: Bot, settings: Settings
) -> None:
    await seed(sessions)
    city_admin = telegram.user(id=CITY_ADMIN, first_name="City", language_code="en")
    district_admin = telegram.user(id=DISTRICT_ADMIN, first_name="District", language_code="en")
    far_admin = telegram.user(id=FAR_ADMIN, first_name="Far", language_code="en")
    target_id = await add_robot(sessions)  # countdown and overdue; the fake never knew the key
    assert await queue_countdown(sessions) == 1

    assert await drain(bot, sessions, settings) == 2  # the two notices
    [answer] = wecom.requests(ROBOT)
    assert answer.errcode == 93000 and "invalid webhook url" in answer.errmsg
    async with sessions() as s:
        target = await s.get(PushTarget, target_id)
        assert target is not None and target.active is False
        assert "93000" in (target.last_error or "")
    wecom_row, *notices = await outbox(sessions)
    assert wecom_row.status == OutboxStatus.FAILED and "93000" in (wecom_row.last_error or "")
    assert sorted(int(n.target) for n in notices) == [CITY_ADMIN, DISTRICT_ADMIN]
    assert all(n.kind == "notice" and n.status == OutboxStatus.SENT for n in notices)
    for admin in (city_admin, district_admin):
        told = await admin.private_chat.next_message()
        assert told.text is not None
        assert told.text.startswith(
            "The WeCom robot of 甘井子区 refused our pushes (WeCom errcode 93000"
        )
        assert told.text.endswith(
            "it is switched off. Add it again with hdbot push-target add-wecom."
        )
    assert far_admin.private_chat.bot_messages == []

    # Switched off: no more pushes to it, not even forced ones; re-adding switches it on.
    assert await queue_countdown(sessions, again=True) == 0
    assert await drain(bot, sessions, settings) == 0
    assert len(wecom.requests()) == 1
    wecom.add_robot(ROBOT)
    assert await add_robot(sessions) == target_id
    assert await queue_countdown(sessions, again=True) == 1
    assert await drain(bot, sessions, settings) == 1
    assert len(wecom.messages(ROBOT)) == 1


async def test_other_robots_keep_receiving_when_one_key_dies(
    sessions: Sessions, wecom: FakeWeCom, bot: Bot, settings: Settings
) -> None:
    await seed(sessions)
    wecom.add_robot(OTHER_ROBOT)
    await add_robot(sessions, key=ROBOT, kinds="countdown")  # dead
    await add_robot(sessions, key=OTHER_ROBOT, unit="长海县", kinds="countdown")
    assert await queue_countdown(sessions) == 2
    await drain(bot, sessions, settings)
    [delivered] = wecom.messages()
    assert delivered.key == OTHER_ROBOT and "Unit: 长海县" in delivered.content
    assert "Tasks: 0/1 done (0%), 1 past due" in delivered.content


# --- the command line ----------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "HDBOT_DATA_DIR": str(tmp_path / "data"),
        "HDBOT_LANGUAGE": "en",
        "HDBOT_DATABASE_URL": "",
        "HDBOT_TOKEN": "",
        "HDBOT_BOT_USERNAME": "",
        "HDBOT_WECOM_BASE_URL": "",
    }


def hdbot(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def db_url(env: dict[str, str]) -> str:
    return f"sqlite+aiosqlite:///{(Path(env['HDBOT_DATA_DIR']) / 'hdbot.sqlite3').resolve()}"


def in_db(env: dict[str, str], fn):  # type: ignore[no-untyped-def]
    """Run fn(sessions) against the CLI's database, from a sync test."""

    async def run():  # type: ignore[no-untyped-def]
        engine = create_engine(db_url(env))
        try:
            return await fn(make_sessions(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def set_up(env: dict[str, str]) -> None:
    assert hdbot(env, "db", "upgrade").exit_code == 0
    closing = (today() + timedelta(days=DAYS_LEFT)).isoformat()
    result = hdbot(env, "campaign", "set", "--name", CAMPAIGN, "--closing-date", closing)
    assert result.exit_code == 0, result.output
    assert hdbot(env, "unit", "add", "大连市", "--kind", "region").exit_code == 0
    for district in ("甘井子区", "长海县"):
        result = hdbot(env, "unit", "add", district, "--kind", "region", "--parent", "大连市")
        assert result.exit_code == 0, result.output
    assert hdbot(env, "admin", "add", str(CITY_ADMIN)).exit_code == 0


def targets(env: dict[str, str]) -> int:
    async def count(sessions: Sessions) -> int:
        async with sessions() as s:
            return int(await s.scalar(select(func.count()).select_from(PushTarget)) or 0)

    return int(in_db(env, count))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--key", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + ROBOT],
            "A WeCom robot key is the key=… part of its webhook address.",
        ),
        (["--key", "has spaces in it"], "A WeCom robot key is the key=… part of its webhook"),
        (["--key", ""], "A WeCom robot key is the key=… part of its webhook address."),
        (
            ["--key", ROBOT, "--kinds", "countdown,weather"],
            "WeCom robots can receive countdown, overdue and reports.",
        ),
        (["--key", ROBOT, "--at", "25:00"], "“25:00” is not a time like 09:00."),
    ],
)
def test_add_wecom_refuses_bad_input_clearly(
    env: dict[str, str], args: list[str], message: str
) -> None:
    set_up(env)
    result = hdbot(env, "push-target", "add-wecom", "--unit", "甘井子区", *args)
    assert result.exit_code == 1, result.output
    assert f"hdbot: {message}" in result.output
    assert "Traceback" not in result.output
    assert targets(env) == 0


def test_add_wecom_refuses_an_unknown_unit_and_accepts_a_good_target(
    env: dict[str, str],
) -> None:
    set_up(env)
    result = hdbot(env, "push-target", "add-wecom", "--unit", "火星区", "--key", ROBOT)
    assert result.exit_code == 1
    assert "火星区" in result.output
    assert targets(env) == 0
    result = hdbot(
        env,
        "push-target",
        "add-wecom",
        "--unit",
        "甘井子区",
        "--key",
        ROBOT,
        "--kinds",
        "countdown",
    )
    assert result.exit_code == 0, result.output
    assert "甘井子区" in result.output and "countdown" in result.output
    assert targets(env) == 1


def status_counts(output: str) -> dict[str, dict[str, int]]:
    """`hdbot push status`'s table as {kind: {status: rows}}, statuses with no rows left out."""
    lines = output.splitlines()
    header = next(n for n, line in enumerate(lines) if line.split()[:1] == ["kind"])
    statuses = lines[header].split()[1:]
    assert {"queued", "sent", "failed"} <= set(statuses), lines[header]
    table: dict[str, dict[str, int]] = {}
    for line in lines[header + 1 :]:
        if not line.strip():
            break
        kind, *numbers = line.split()
        table[kind] = {s: int(n) for s, n in zip(statuses, numbers, strict=True) if int(n)}
    return table


def test_push_now_countdown_reaches_a_telegram_group_and_a_wecom_robot_once(
    env: dict[str, str],
) -> None:
    with FakeBotAPI() as telegram, FakeWeCom() as wecom:
        env = {**env, **telegram.env(), "HDBOT_WECOM_BASE_URL": wecom.url}
        set_up(env)
        admin = telegram.user(id=CITY_ADMIN, first_name="Admin", language_code="en")
        group = telegram.group("甘井子区安全生产群", members=[admin], admins=[admin])
        quiet = telegram.group("未订阅的群", members=[admin], admins=[admin])

        async def bind(sessions: Sessions) -> None:
            for chat, kind in ((group, "countdown"), (quiet, "reports")):
                async with sessions() as s:
                    await groups.bind_group(
                        s,
                        chat_id=chat.id,
                        title=chat.title or "",
                        unit="甘井子区",
                        account=tg(CITY_ADMIN),
                        is_chat_admin=True,
                    )
                async with sessions() as s:
                    await groups.subscribe(
                        s,
                        chat_id=chat.id,
                        title=chat.title or "",
                        kind=kind,
                        at_time=None,
                        account=tg(CITY_ADMIN),
                        is_chat_admin=True,
                    )

        in_db(env, bind)
        wecom.add_robot(ROBOT)
        added = hdbot(env, "push-target", "add-wecom", "--unit", "长海县", "--key", ROBOT)
        assert added.exit_code == 0, added.output

        first = hdbot(env, "push", "now", "countdown")
        assert first.exit_code == 0, first.output
        assert "queued 2: countdown 2" in first.output
        assert "sent 2;" in first.output
        [card] = group.bot_messages  # a text, or a picture with the text as its caption
        closing = (today() + timedelta(days=DAYS_LEFT)).isoformat()
        assert card.visible_text.splitlines()[:3] == [
            CAMPAIGN,
            f"⏳ {DAYS_LEFT} days to the close ({closing})",
            "Unit: 甘井子区",
        ]
        assert quiet.bot_messages == []
        [robot] = wecom.messages(ROBOT)
        assert robot.msgtype == "markdown" and "Unit: 长海县" in robot.content
        assert robot.content.startswith(f"### {CAMPAIGN}\n")

        # Once a day: the same command again queues and sends nothing.
        sends = len(telegram.requests())
        again = hdbot(env, "push", "now", "countdown")
        assert again.exit_code == 0, again.output
        assert again.output.startswith("nothing new to send")
        assert "sent 0;" in again.output
        assert [e.method for e in telegram.requests()[sends:] if e.method in SENDS] == []
        assert len(wecom.requests()) == 1

        # --again: once more, to both.
        forced = hdbot(env, "push", "now", "countdown", "--again")
        assert forced.exit_code == 0, forced.output
        assert "queued 2: countdown 2" in forced.output and "sent 2;" in forced.output
        assert len(group.bot_messages) == 2
        assert len(wecom.messages(ROBOT)) == 2

        status = hdbot(env, "push", "status")
        assert status.exit_code == 0, status.output
        assert status_counts(status.output) == {"countdown": {"sent": 4}}
        assert "failed:" not in status.output and "retrying:" not in status.output


def test_push_status_shows_what_is_retrying_and_what_failed(env: dict[str, str]) -> None:
    with FakeBotAPI() as telegram, FakeWeCom() as wecom:
        env = {**env, **telegram.env(), "HDBOT_WECOM_BASE_URL": wecom.url}
        set_up(env)
        telegram.user(id=CITY_ADMIN, first_name="Admin", language_code="en")
        assert (
            hdbot(env, "push-target", "add-wecom", "--unit", "长海县", "--key", ROBOT).exit_code
            == 0
        )
        other = ["--unit", "甘井子区", "--key", OTHER_ROBOT, "--kinds", "countdown"]
        assert hdbot(env, "push-target", "add-wecom", *other).exit_code == 0
        wecom.add_robot(OTHER_ROBOT)
        wecom.fail_next(OTHER_ROBOT, 45009)
        result = hdbot(env, "push", "now", "countdown")
        assert result.exit_code == 0, result.output
        assert "queued 2: countdown 2" in result.output
        status = hdbot(env, "push", "status")
        assert status_counts(status.output)["countdown"] == {"queued": 1, "failed": 1}
        retrying = status.output.split("retrying:")[1].split("failed:")[0]
        assert f"wecom:2:countdown:{today().isoformat()} (countdown) attempt" in retrying
        assert "45009" in retrying
        failed = status.output.split("failed:")[1]
        assert f"wecom:1:countdown:{today().isoformat()} (countdown)" in failed
        assert "93000" in failed


# --- the fake itself answers as WeCom does -------------------------------------------------------


def test_the_fake_answers_like_wecom() -> None:
    with FakeWeCom() as fake, httpx.Client(base_url=fake.url) as http:
        fake.add_robot(ROBOT)

        def post(key: str | None, **kw: object) -> dict[str, object]:
            params = {"key": key} if key is not None else {}
            response = http.post("/cgi-bin/webhook/send", params=params, **kw)  # type: ignore[arg-type]
            assert response.status_code == 200
            return dict(response.json())

        markdown = {"msgtype": "markdown", "markdown": {"content": "### 倒计时\n还有 **40** 天"}}
        assert post(ROBOT, json=markdown) == {"errcode": 0, "errmsg": "ok"}
        assert post(ROBOT, json={"msgtype": "text", "text": {"content": "hi"}})["errcode"] == 0
        assert post("no-such-key", json=markdown)["errcode"] == 93000
        assert "invalid webhook url" in str(post(None, json=markdown)["errmsg"])
        assert post(ROBOT, content=b"{not json")["errcode"] == 40008
        assert post(ROBOT, json={"markdown": {"content": "x"}})["errcode"] == 40008
        assert post(ROBOT, json={"msgtype": "image", "image": {}})["errcode"] == 40008
        assert (
            post(ROBOT, json={"msgtype": "markdown", "text": {"content": "x"}})["errcode"] == 44004
        )
        assert post(ROBOT, json={"msgtype": "markdown", "markdown": {}})["errcode"] == 44004
        assert (
            post(ROBOT, json={"msgtype": "markdown", "markdown": {"content": ""}})["errcode"]
            == 44004
        )
        exactly = {"msgtype": "markdown", "markdown": {"content": "隐" * 1365 + "a"}}  # 4,096 bytes
        assert post(ROBOT, json=exactly)["errcode"] == 0
        over = {"msgtype": "markdown", "markdown": {"content": "隐" * 1366}}  # 4,098 bytes
        answer = post(ROBOT, json=over)
        assert answer["errcode"] == 40058 and "4096" in str(answer["errmsg"])
        fake.fail_next(ROBOT, 93004, times=2)
        assert [post(ROBOT, json=markdown)["errcode"] for _ in range(3)] == [93004, 93004, 0]
        assert len(fake.messages(ROBOT)) == 4
        for _ in range(16):
            assert post(ROBOT, json=markdown)["errcode"] == 0
        answer = post(ROBOT, json=markdown)  # the 21st within a minute
        assert answer["errcode"] == 45009 and "api freq out of limit" in str(answer["errmsg"])
        assert fake.peak(60.0, ROBOT) == 20
        logged = fake.requests(ROBOT)
        assert logged[0].body == markdown and logged[0].content == "### 倒计时\n还有 **40** 天"
        assert logged[0].at <= logged[-1].at


def test_the_fake_frees_a_robot_after_a_minute() -> None:
    now = [1000.0]
    with FakeWeCom(clock=lambda: now[0]) as fake:
        fake.add_robot(ROBOT)
        body = {"msgtype": "text", "text": {"content": "hi"}}
        url = f"{fake.url}/cgi-bin/webhook/send?key={ROBOT}"
        codes = []
        for n in range(22):
            now[0] = 1000.0 + n * 2.0  # one every two seconds: 20 in 38 s, then limited
            codes.append(httpx.post(url, json=body).json()["errcode"])
        assert codes == [0] * 20 + [45009, 45009]
        now[0] = 1060.0  # the first went out 60 s ago
        assert httpx.post(url, json=body).json()["errcode"] == 0


async def test_a_bad_gateway_in_front_of_wecom_is_retried_with_backoff(
    sessions: Sessions, wecom: FakeWeCom, bot: Bot, settings: Settings
) -> None:
    await seed(sessions)
    wecom.add_robot(ROBOT)
    await add_robot(sessions, kinds="countdown")
    await queue_countdown(sessions)
    wecom.fail_next(ROBOT, 0, status=502)
    assert await drain(bot, sessions, settings) == 0
    [row] = await outbox(sessions)
    assert row.status == OutboxStatus.QUEUED and row.attempts == 1
    assert "502" in (row.last_error or "")
    async with sessions() as s:
        await s.execute(update(Outbox).values(not_before=utcnow() - timedelta(seconds=1)))
        await s.commit()
    assert await drain(bot, sessions, settings) == 1
    assert len(wecom.messages(ROBOT)) == 1


def test_push_status_never_prints_a_robot_key(env: dict[str, str]) -> None:
    with FakeBotAPI() as telegram, FakeWeCom() as wecom:
        env = {**env, **telegram.env(), "HDBOT_WECOM_BASE_URL": wecom.url}
        set_up(env)
        wecom.add_robot(ROBOT)
        added = hdbot(env, "push-target", "add-wecom", "--unit", "长海县", "--key", ROBOT)
        assert added.exit_code == 0, added.output
        wecom.fail_next(ROBOT, 0, status=502)  # a proxy in front of WeCom has a bad minute
        assert "queued 1: countdown 1" in hdbot(env, "push", "now", "countdown").output
        status = hdbot(env, "push", "status")
        assert "502" in status.output
        assert ROBOT not in status.output


async def test_a_long_busy_robot_still_gets_the_countdown(
    sessions: Sessions, wecom: FakeWeCom, bot: Bot, settings: Settings
) -> None:
    await seed(sessions)
    wecom.add_robot(ROBOT)
    await add_robot(sessions, kinds="countdown")
    await queue_countdown(sessions)
    # Another system shares the robot and keeps it at its 20 a minute for ten minutes.
    wecom.fail_next(ROBOT, 45009, times=10)
    for _ in range(11):
        async with sessions() as s:  # each retry's minute passes at once
            await s.execute(update(Outbox).values(not_before=utcnow() - timedelta(seconds=1)))
            await s.commit()
        await drain(bot, sessions, settings)
    [row] = await outbox(sessions)
    assert row.status == OutboxStatus.SENT, (row.status, row.attempts, row.last_error)
    assert len(wecom.messages(ROBOT)) == 1
