"""`hdbot run` serves every configured front: with the WeCom application configured, the same
process answers WeCom's URL check and its messages on `HDBOT_WECOM_LISTEN` at /wecom/callback.

Beside Telegram the front is a stand-in (tests/wecom_front_stand_in.py): what is proved there
is the wiring (the callback server opened with the bot, its crypto, the shared client, the
renderer). WeCom alone runs the real front (handlers/wecom/front.py), the minute tick and the
sender without Telegram, and stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.sandbox.botapi import FakeBotAPI
from bot.sandbox.wecom.server import FakeWeCom
from storage.accounts import Account
from storage.clock import utcnow
from storage.models import Channel, Outbox
from storage.people import who_is
from storage.push_payloads import NoticePush
from storage.pushes import add_wecom_target, enqueue
from tests.bot_process import WAIT, BotProcess, in_session, prepare_campaign, process_env
from tests.timeline import TZ

pytestmark = [pytest.mark.e2e]

ROBOT = "robot-ganjingzi-0001"
TELEGRAM_PERSON = 424242


@pytest.fixture
def wecom() -> Iterator[FakeWeCom]:
    with FakeWeCom() as fake:
        yield fake


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def url_check_answered(wecom: FakeWeCom, process: BotProcess) -> tuple[int, str]:
    """Play WeCom's URL check until the process listens (it needs a moment to start)."""
    deadline = time.monotonic() + WAIT
    while True:
        try:
            return await wecom.application.callbacks.check_url("4783510248417326910")
        except OSError:
            if time.monotonic() > deadline or process.pid is None:
                raise
            await asyncio.sleep(0.2)


def test_hdbot_run_answers_wecoms_url_check_and_messages(
    server: FakeBotAPI, wecom: FakeWeCom, sqlite_url: str, tmp_path: Path
) -> None:
    asyncio.run(prepare_campaign(sqlite_url))
    port = free_port()
    app = wecom.application
    env = {
        **process_env(server, sqlite_url, tmp_path),
        **app.credentials.environ(wecom.url, listen=f"127.0.0.1:{port}"),
    }
    process = BotProcess(env, tmp_path / "run.log", module="tests.wecom_front_stand_in")
    app.callbacks.url = f"http://127.0.0.1:{port}/wecom/callback"
    try:
        process.start()
        assert asyncio.run(url_check_answered(wecom, process)) == (200, "4783510248417326910")
        assert asyncio.run(app.callbacks.check_url(forged=True))[0] == 403
        assert asyncio.run(app.callbacks.send_text("inspector01", "你好")) == 200
        app.wait_for_messages(1, "inspector01", within=WAIT)
        assert [m.content for m in app.messages("inspector01")] == ["收到: 你好"]
    finally:
        process.stop()
    log = process.log.read_text(errors="replace")
    assert f"WeCom application callback on http://127.0.0.1:{port}/wecom/callback" in log


def wecom_alone_env(wecom: FakeWeCom, db_url: str, folder: Path, port: int) -> dict[str, str]:
    """`hdbot run` with the WeCom application and no Telegram at all: no HDBOT_TOKEN."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HDBOT_")}
    return {
        **env,
        **wecom.application.credentials.environ(wecom.url, listen=f"127.0.0.1:{port}"),
        "HDBOT_DATABASE_URL": db_url,
        "HDBOT_DATA_DIR": str(folder / "data"),
        "HDBOT_LANGUAGE": "en",
    }


async def robot_and_telegram_backlog(session: AsyncSession) -> None:
    """A WeCom robot of 甘井子区 whose countdown is due this minute (the tick queues it), and a
    notice already queued for a Telegram person, which a process without Telegram leaves."""
    now = utcnow()
    await add_wecom_target(
        session,
        unit="甘井子区",
        key=ROBOT,
        kinds="countdown",
        at_time=now.astimezone(TZ).strftime("%H:%M"),
    )
    enqueue(
        session,
        NoticePush(key="Your request was noted."),
        channel=Channel.TELEGRAM,
        target=TELEGRAM_PERSON,
        period=now.date().isoformat(),
        now=now,
    )
    await session.commit()


async def outbox_states(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(select(Outbox.channel, Outbox.status))
    return {str(channel): str(status) for channel, status in rows.all()}


async def unit_of_wecom_person(session: AsyncSession) -> str | None:
    visitor = await who_is(session, Account.wecom("inspector01"))
    return visitor.user.unit_name if visitor.user is not None else None


def test_hdbot_run_serves_wecom_alone_without_a_token(
    wecom: FakeWeCom, sqlite_url: str, tmp_path: Path
) -> None:
    code = asyncio.run(prepare_campaign(sqlite_url))
    asyncio.run(in_session(sqlite_url, robot_and_telegram_backlog))
    wecom.add_robot(ROBOT)
    port = free_port()
    app = wecom.application
    app.callbacks.url = f"http://127.0.0.1:{port}/wecom/callback"
    process = BotProcess(wecom_alone_env(wecom, sqlite_url, tmp_path, port), tmp_path / "run.log")
    try:
        process.start()
        assert asyncio.run(url_check_answered(wecom, process)) == (200, "4783510248417326910")
        # The invite code sent as text registers the person, who is welcomed through the API.
        assert asyncio.run(app.callbacks.send_text("inspector01", code)) == 200
        app.wait_for_messages(1, "inspector01", within=WAIT)
        [welcome] = app.messages("inspector01")
        assert "registered as inspector of 甘井子区" in welcome.content
        assert asyncio.run(in_session(sqlite_url, unit_of_wecom_person)) == "甘井子区"
        # The minute tick queued the robot's countdown, and the sender delivered it.
        [countdown] = wecom.wait_for(1, ROBOT, within=WAIT)
        assert countdown.ok and countdown.msgtype == "markdown"
        assert "甘井子区" in countdown.content
        assert process.proc is not None
        process.proc.send_signal(signal.SIGTERM)
        assert process.proc.wait(timeout=WAIT) == 0
    finally:
        process.stop()
    # Telegram's push waits for a process that has a token.
    assert asyncio.run(in_session(sqlite_url, outbox_states)) == {
        "wecom": "sent",
        "telegram": "queued",
    }
    log = process.log.read_text(errors="replace")
    assert f"WeCom application alone (no HDBOT_TOKEN), database {sqlite_url}" in log
    assert f"WeCom application callback on http://127.0.0.1:{port}/wecom/callback" in log
    assert "1 Telegram pushes are queued" in log
    assert "Traceback" not in log


def test_wecom_alone_refuses_a_telegram_webhook_in_one_line(
    wecom: FakeWeCom, sqlite_url: str, tmp_path: Path
) -> None:
    env = wecom_alone_env(wecom, sqlite_url, tmp_path, free_port())
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--webhook-url", "https://hdbot.example/hook"],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 2
    [line] = done.stderr.decode().strip().splitlines()
    assert "--webhook-url" in line and "HDBOT_TOKEN" in line
