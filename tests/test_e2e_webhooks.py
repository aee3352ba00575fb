"""Several `hdbot run --webhook-url` processes on one PostgreSQL, all active.

Telegram posts to one address; a round-robin reverse proxy (tests/webhook_proxy.py, as nginx
would, docs/webhooks.md) hands each update to the next process, so one person's updates are
spread over both. Their answers still come in order and once: each update waits for the earlier
ones of its sender wherever they are (bot/intake/inbox_order.py); an album whose photos went to
both is answered once. A process killed in the middle of a report, with its answer on the way, loses
nothing: the other takes its update over and the person's next one waits for it. A process
killed in the middle of a fan-out leaves the rest to the other, and no group gets a push twice.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.sandbox.botapi import Chat, FakeBotAPI, LogEntry, Message, make_jpeg, most_within
from storage.clock import utcnow
from storage.db import create_engine, make_sessions
from storage.models import (
    GroupChat,
    HiddenDanger,
    Outbox,
    OutboxStatus,
    Photo,
    Subscription,
    Unit,
)
from tests.bot_process import WAIT, BotProcess, prepare_campaign, process_env
from tests.timeline import TZ
from tests.webhook_proxy import RoundRobinProxy, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HOST = "hdbot.example.org"  # the public address; the fake posts what is for it to the proxy
SECRET = "webhook-secret-for-the-test"
GROUPS = 40
PUSH_RATE = 20  # hdbot's default HDBOT_PUSH_RATE: the sender's pace, for all processes together


class Processes:
    """Two webhook processes behind the proxy, on one database."""

    def __init__(self, server: FakeBotAPI, db_url: str, folder: Path) -> None:
        self.ports = [free_port(), free_port()]
        self.proxy = RoundRobinProxy([f"127.0.0.1:{port}" for port in self.ports]).start()
        server.route_webhook(HOST, self.proxy.address)
        env = {**process_env(server, db_url, folder), "HDBOT_WEBHOOK_SECRET": SECRET}
        self.bots = [
            BotProcess(
                env,
                folder / f"bot{n}.log",
                ("--webhook-url", f"https://{HOST}/hook", "--port", str(port)),
            )
            for n, port in enumerate(self.ports)
        ]

    def start(self, n: int) -> None:
        self.bots[n].start()
        _until(lambda: _listens(self.ports[n]), what=f"process {n} listens")

    def stop(self) -> None:
        for bot in self.bots:
            bot.stop()
        self.proxy.stop()


@pytest.fixture
def server() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
def processes(server: FakeBotAPI, pg_url: str, tmp_path: Path) -> Iterator[Processes]:
    both = Processes(server, pg_url, tmp_path)
    try:
        yield both
    finally:
        both.stop()


def test_one_persons_updates_over_two_processes_in_order_once_and_through_a_kill(
    server: FakeBotAPI, pg_url: str, processes: Processes
) -> None:
    code = asyncio.run(prepare_campaign(pg_url))
    group = server.group("甘井子区安全生产群")
    asyncio.run(_seed_groups(pg_url, [group], "reports"))
    person = server.user(first_name="Wang", language_code="en")
    chat = person.private_chat

    def answered(text: str, within: float = WAIT) -> Message:
        return chat.next_message_sync(lambda m: text in _text(m), within=within)

    def press(contains: str, prefix: str) -> None:
        message = next(m for m in reversed(chat.bot_messages) if contains in _text(m))
        label = next(t for row in message.inline_keyboard for t, _ in row if t.startswith(prefix))
        person.press(message, label)

    processes.start(0)
    processes.start(1)
    person.send_text(f"/start {code}")
    answered("You are registered")

    # A burst, each update to the other process than the one before: only in order does each
    # answer make sense ("/cancel" before "/report" has nothing to cancel, and so on).
    since = len(chat.bot_messages)
    for command in ("/report", "/cancel", "/report", "/cancel", "/report"):
        person.send_text(command)
    _until(lambda: len(chat.bot_messages) >= since + 5, what="five answers")
    time.sleep(0.5)
    burst = _heads(chat.bot_messages[since:], ("Step 1/9", "Report discarded"))
    assert burst == [
        "Step 1/9",
        "Report discarded",
        "Step 1/9",
        "Report discarded",
        "Step 1/9",
    ], burst
    assert {f.backend for f in processes.proxy.log} == {0, 1}

    # Two answers at once, without waiting for the prompt between them.
    since = len(chat.bot_messages)
    press("Step 1/9", "MU-01")
    person.send_text("Dalian Chemical Works")
    answered("Step 3/9")
    press("Step 3/9", "✓")
    person.send_text("Dike of the tank farm broken")
    answered("Step 5/9")

    # An album of four: its photos go to both processes; one answer, when it has gone quiet.
    before = _last_update_id(server)
    person.send_album([make_jpeg(color=(200, 30 * n, 30)) for n in range(4)])
    answered("4 of at most 10")
    photos = range(before + 1, _last_update_id(server) + 1)
    assert {processes.proxy.went_to(u) for u in photos} == {0, 1}
    time.sleep(3.0)  # any second answer would come by now

    # Killed in the middle: the "Done" of the photos is kept and its step taken, but the
    # answer hangs on its way to Telegram when the process dies. The person goes on at once;
    # the other process takes "Done" over and answers it first.
    server.inject("sendMessage", chat.id, "timeout", delay=30.0)
    press("of at most 10", "✅")
    done = _last_update_id(server)
    _until(lambda: _fault_taken(server, chat), what="the answer hangs")
    victim = processes.proxy.went_to(done)
    assert victim is not None
    processes.bots[victim].kill()
    person.send_location(38.95, 121.55)
    answered("Step 7/9", within=WAIT)
    survivor = processes.bots[1 - victim].log.read_text(errors="replace")
    assert "handling 1 updates a stopped process had received" in survivor
    processes.start(victim)  # back, and taking its share again

    press("Step 7/9", "General")
    answered("Step 8/9")
    press("Step 8/9", "7 days")
    answered("Please check your report")
    press("Please check your report", "✅")
    answered("Submitted as")
    group.next_message_sync(lambda m: "DL-" in _text(m), within=WAIT)
    time.sleep(2.0)  # a doubled answer or card would come by now

    steps = [
        head
        for head in _heads(chat.bot_messages[since:], ("Step ", "✓ Location", "✅ Submitted"))
        if head.startswith(("Step ", "✓ Location", "✅ Submitted"))
    ]
    assert steps == [
        "Step 2/9",
        "Step 3/9",
        "Step 4/9",
        "Step 5/9",
        "Step 5/9",  # the album's answer, once
        "Step 6/9",  # "Done", answered by the process that took it over
        "✓ Location",
        "Step 7/9",
        "Step 8/9",
        "✅ Submitted",
    ], steps
    assert asyncio.run(_stored(pg_url)) == (1, 4)
    assert len([m for m in group.bot_messages if "DL-" in _text(m)]) == 1  # one card


def test_a_fan_out_goes_on_once_when_its_sender_is_killed(
    server: FakeBotAPI, pg_url: str, processes: Processes
) -> None:
    asyncio.run(prepare_campaign(pg_url))
    groups = [server.group(f"安全生产群 {n:02d}") for n in range(GROUPS)]
    # Due a minute ago: both processes' first minute tick finds the countdown due.
    asyncio.run(_seed_groups(pg_url, groups, "countdown"))
    processes.start(0)
    processes.start(1)

    _until(lambda: len(_pushes(server)) >= GROUPS // 3, what="the fan-out under way")
    server.inject("sendPhoto", None, "timeout", delay=30.0)
    _until(lambda: any(e.fault == "timeout" for e in server.requests("sendPhoto")), what="hang")
    sender = asyncio.run(_sender_pid(pg_url))
    victim = next(n for n, bot in enumerate(processes.bots) if bot.pid == sender)
    processes.bots[victim].kill()
    at_kill = len(_pushes(server))

    _until(lambda: len(_pushes(server)) >= GROUPS, within=60.0, what="every group's countdown")
    time.sleep(2.0)  # a push sent twice would come by now
    per_group = Counter(e.chat_id for e in _pushes(server))
    assert set(per_group) == {g.id for g in groups} and max(per_group.values()) == 1
    assert at_kill < GROUPS, "killed after the fan-out, not in the middle of it"
    statuses = asyncio.run(_statuses(pg_url))
    assert statuses == {OutboxStatus.SENT: GROUPS}, statuses  # each queued once, by two ticks
    survivor = processes.bots[1 - victim].log.read_text(errors="replace")
    assert "re-queued 1 pushes claimed by a sender that is gone" in survivor
    # One sender at a time, at the pace set for all: two would have sent at twice the rate.
    peak = most_within(_pushes(server), 1.0)
    print(f"{at_kill} of {GROUPS} pushes out at the kill; at most {peak} a second")
    assert peak <= PUSH_RATE


# --- the world and what it saw -------------------------------------------------------------------


async def _seed_groups(db_url: str, chats: list[Chat], kind: str) -> None:
    """Groups bound to 甘井子区 and subscribed to `kind`, due a minute ago."""
    at = (utcnow().astimezone(TZ) - timedelta(minutes=1)).strftime("%H:%M")
    engine = create_engine(db_url)
    try:
        async with make_sessions(engine)() as s:
            unit = await s.scalar(select(Unit.id).where(Unit.name == "甘井子区"))
            rows = [GroupChat(chat_id=c.id, title=c.title or "", unit_id=unit) for c in chats]
            s.add_all(rows)
            await s.flush()
            s.add_all(Subscription(group_id=r.id, kind=kind, at_time=at) for r in rows)
            await s.commit()
    finally:
        await engine.dispose()


async def _stored(db_url: str) -> tuple[int, int]:
    engine = create_engine(db_url)
    try:
        async with make_sessions(engine)() as s:
            dangers = await s.scalar(select(func.count()).select_from(HiddenDanger)) or 0
            photos = await s.scalar(
                select(func.count()).select_from(Photo).where(Photo.danger_id.is_not(None))
            )
            return dangers, photos or 0
    finally:
        await engine.dispose()


async def _sender_pid(db_url: str) -> int:
    """The process whose sender holds the push that hangs (claims name host:pid:start)."""
    engine = create_engine(db_url)
    try:
        async with make_sessions(engine)() as s:
            claimant = await s.scalar(
                select(Outbox.claimed_by).where(Outbox.status == OutboxStatus.SENDING)
            )
    finally:
        await engine.dispose()
    assert claimant is not None
    return int(claimant.split(":")[1])


async def _statuses(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url)
    try:
        async with make_sessions(engine)() as s:
            rows = await s.execute(
                select(Outbox.status, func.count())
                .where(Outbox.kind == "countdown")
                .group_by(Outbox.status)
            )
            return {status: n for status, n in rows}
    finally:
        await engine.dispose()


def _text(message: Message) -> str:
    return message.text or message.caption or ""


def _heads(messages: list[Message], known: tuple[str, ...]) -> list[str]:
    """Each message as the first of `known` it starts with ("Step 5/9" of a "Step …" prompt),
    else its first line."""
    heads = []
    for message in messages:
        line = _text(message).split("\n")[0]
        head = next((k for k in known if line.startswith(k)), line)
        heads.append(line[:8] if head == "Step " else head)
    return heads


def _pushes(server: FakeBotAPI) -> list[LogEntry]:
    return [
        e
        for e in server.requests()
        if e.method in ("sendPhoto", "sendMessage") and e.ok and isinstance(e.chat_id, int)
        if e.chat_id < 0
    ]


def _fault_taken(server: FakeBotAPI, chat: Chat) -> bool:
    return any(e.fault == "timeout" for e in server.requests("sendMessage", chat))


def _last_update_id(server: FakeBotAPI) -> int:
    with server.state.lock:
        return int(server.state.pushed[-1]["update_id"])


def _listens(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _until(condition: Callable[[], object], *, what: str, within: float = WAIT) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
