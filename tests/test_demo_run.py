"""`hdbot demo` as a person runs it: a process that prints the page's address, serves the
page and its API, and stops cleanly on SIGTERM; and its refusals, one line each."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.demo_thread import DemoThread, free_port
from tests.timeline import clock_env

pytestmark = [pytest.mark.e2e]

WAIT = 60.0


def demo_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HDBOT_")}
    return {**env, "HDBOT_LANGUAGE": "en", **clock_env()}


def start_demo(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "demo", *args],
        env=demo_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def first_line(process: subprocess.Popen[str]) -> str:
    """The first line the demo prints on stdout (its address), waiting for it."""
    assert process.stdout is not None
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line:
            return line.strip()
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"the demo printed no address (exit {process.poll()})")


def fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def test_hdbot_demo_prints_its_address_serves_the_page_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    port = free_port()
    folder = tmp_path / "demo"
    process = start_demo("--port", str(port), "--dir", str(folder))
    try:
        address = f"http://127.0.0.1:{port}"
        assert first_line(process) == f"hdbot demo: open {address} (Ctrl-C stops it)"
        status, page = fetch(address + "/")
        assert status == 200 and "<title>hdbot demo</title>" in page
        assert "/static/demo.js" in page and "https://" not in page  # nothing from elsewhere
        status, script = fetch(address + "/static/demo.js")
        assert status == 200 and "http://" not in script and "https://" not in script
        world = json.loads(fetch(address + "/api/world")[1])
        assert {p["role"] for p in world["people"]} == {"inspector", "supervisor", "admin"}
        assert (folder / "hdbot.sqlite3").is_file()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.stderr is not None
    assert "Traceback" not in process.stderr.read()


def refusal(*args: str) -> tuple[int, list[str]]:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", *args],
        env=demo_env(),
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    return done.returncode, done.stderr.strip().splitlines()


def test_a_folder_with_a_demo_in_it_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "hdbot.sqlite3").write_bytes(b"")
    code, lines = refusal("--dir", str(tmp_path))
    assert code == 2
    assert lines == [f"hdbot: {tmp_path} already holds a demo: choose another --dir"]


def test_a_port_in_use_is_refused_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, lines = refusal("--port", str(port), "--dir", str(tmp_path / "d"))
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith(
        f"hdbot: cannot serve the demo page on 127.0.0.1:{port}"
    )


def post(url: str, body: dict[str, object]) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def test_the_page_acts_only_as_a_cast_member_in_their_own_chats(tmp_path: Path) -> None:
    with DemoThread(tmp_path / "demo") as url:
        world = json.loads(fetch(url + "/api/world")[1])
        district = next(g["chat"] for g in world["groups"] if g["key"] == "district-group")
        send = url + "/api/telegram/send"
        assert post(send, {"person": "inspector", "text": "/help"}) == 200
        assert post(send, {"person": "city", "chat": district, "text": "/countdown"}) == 403
        assert post(send, {"person": "nobody", "text": "/help"}) == 404
        assert post(send, {"person": "inspector", "chat": "x", "text": "/help"}) == 400
        assert post(url + "/api/wecom/press", {"person": "inspector"}) == 400
