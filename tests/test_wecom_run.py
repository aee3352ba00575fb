"""`hdbot run` serves every configured front: with the WeCom application configured, the same
process answers WeCom's URL check and its messages on `HDBOT_WECOM_LISTEN` at /wecom/callback.

The front is a stand-in (tests/wecom_front_stand_in.py): what is proved is the wiring (the
callback server opened with the bot, its crypto, the shared client, the renderer), not the
conversation.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot_process import WAIT, BotProcess, prepare_campaign, process_env
from tests.fakebotapi import FakeBotAPI
from tests.fakewecom import FakeWeCom

pytestmark = [pytest.mark.e2e]


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


def test_wecom_alone_is_refused_in_one_line(wecom: FakeWeCom, sqlite_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HDBOT_")}
    env.update(wecom.application.credentials.environ(wecom.url, listen="127.0.0.1:8088"))
    env.update({"HDBOT_DATABASE_URL": sqlite_url, "HDBOT_LANGUAGE": "en"})
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    [line] = done.stderr.decode().strip().splitlines()
    assert "WeCom alone cannot run yet" in line and "HDBOT_TOKEN" in line
