"""The outbox sender against the fake Bot API: once each, through faults, within the limits."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update
from telegram import Bot
from telegram.request import HTTPXRequest

import bot.push.delivery as delivery_module
from bot.config import Settings
from bot.push.pacing import Pacer, SenderState
from bot.push.sender import drain
from bot.sandbox.botapi import Chat, FakeBotAPI
from storage.db import Sessions
from storage.models import GroupChat, Outbox, OutboxStatus
from storage.pushes import enqueue_due
from tests.timeline import at
from tests.world import ADMIN, group, world

pytestmark = pytest.mark.e2e


@pytest.fixture
def server() -> Iterator[FakeBotAPI]:
    with FakeBotAPI(hang_seconds=1.5) as fake:
        yield fake


def settings_of(server: FakeBotAPI, tmp_path: Path) -> Settings:
    return Settings(
        token=server.token,
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        data_dir=tmp_path,
        language="en",
    )


def make_bot(server: FakeBotAPI) -> Bot:
    return Bot(
        server.token,
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        request=HTTPXRequest(read_timeout=0.8, connect_timeout=2),
    )


async def groups(
    server: FakeBotAPI, sessions: Sessions, n: int, unit: str = "甘井子区"
) -> list[Chat]:
    chats = []
    for i in range(n):
        chat = server.group(f"{unit} {i}")
        await group(sessions, chat.id, unit, "countdown@09:00")
        chats.append(chat)
    return chats


def got(chat: Chat) -> int:
    """Countdowns a group received: the card, captioned with the figures."""
    return len(
        [m for m in chat.bot_messages if m.photo and "days to the close" in (m.caption or "")]
    )


async def queue_countdown(sessions: Sessions) -> int:
    """Queue today's countdown now (the sender works on the real clock: pushes expire)."""
    async with sessions() as s:
        return (await enqueue_due(s, force="countdown")).total


async def test_faults_429_5xx_timeout_and_403(
    server: FakeBotAPI, sessions: Sessions, tmp_path: Path
) -> None:
    await world(sessions)
    admin = server.user(id=ADMIN, first_name="Admin", language_code="en")
    ok, limited, broken, slow, kicked = await groups(server, sessions, 5)
    assert await queue_countdown(sessions) == 5
    server.inject("sendPhoto", limited, "429", retry_after=1)
    server.inject("sendPhoto", broken, "500")
    server.inject("sendPhoto", slow, "timeout")
    server.inject("sendPhoto", kicked, "403")
    settings = settings_of(server, tmp_path)
    async with make_bot(server) as bot:
        first = await drain(bot, sessions, settings)
        await asyncio.sleep(2.2)  # 429 asked for 1 s; 5xx and timeouts back off 2 s
        second = await drain(bot, sessions, settings)
        # Four groups and the admin told about the kicked one; in whichever drain they fit.
        assert first + second == 5
        assert await drain(bot, sessions, settings) == 0
    assert [got(c) for c in (ok, limited, broken, slow, kicked)] == [1, 1, 1, 1, 0]
    told = [m.text for m in admin.private_chat.bot_messages]
    assert len(told) == 1 and "can no longer post to the group" in (told[0] or "")
    async with sessions() as s:
        kicked_group = (
            await s.scalars(select(GroupChat).where(GroupChat.chat_id == kicked.id))
        ).one()
        assert not kicked_group.active
        statuses = {
            r.target: r.status
            for r in await s.scalars(select(Outbox).where(Outbox.kind == "countdown"))
        }
    assert statuses[str(kicked.id)] == "failed"
    assert {v for k, v in statuses.items() if k != str(kicked.id)} == {"sent"}
    # The deactivated group gets nothing tomorrow.
    async with sessions() as s:
        assert (await enqueue_due(s, now=at("2026-11-30", "09:00"))).total == 4


async def test_a_restart_in_the_middle_of_a_fan_out_sends_each_once(
    server: FakeBotAPI, sessions: Sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await world(sessions)
    chats = await groups(server, sessions, 30)
    await queue_countdown(sessions)
    real_mark_sent = delivery_module.mark_sent
    calls = 0

    class Crash(BaseException):
        """The process dies (SIGKILL) right after recording a send."""

    async def crashing_mark_sent(session, *, item_id):  # type: ignore[no-untyped-def]
        nonlocal calls
        await real_mark_sent(session, item_id=item_id)
        calls += 1
        if calls == 12:
            raise Crash

    monkeypatch.setattr(delivery_module, "mark_sent", crashing_mark_sent)
    settings = settings_of(server, tmp_path)
    async with make_bot(server) as bot:
        with pytest.raises(Crash):
            await drain(bot, sessions, settings)
        assert sum(got(c) for c in chats) == 12
        monkeypatch.setattr(delivery_module, "mark_sent", real_mark_sent)
        # The restarted process queues again (nothing new) and sends the rest.
        assert await queue_countdown(sessions) == 0
        assert await drain(bot, sessions, settings) == 18
    assert [got(c) for c in chats] == [1] * 30


async def test_a_group_at_its_share_is_deferred_not_waited_for(
    server: FakeBotAPI, sessions: Sessions, tmp_path: Path
) -> None:
    await world(sessions)
    busy = server.group("busy")
    await group(sessions, busy.id, "甘井子区", "countdown@09:00")
    others = await groups(server, sessions, 3, unit="庄河市")
    await queue_countdown(sessions)
    async with sessions() as s:  # four more pushes to the same group, as if sent again
        for n in range(4):
            s.add(
                Outbox(
                    key=f"extra-{n}",
                    target=str(busy.id),
                    kind="countdown",
                    period="x",
                    payload=(
                        await s.scalars(select(Outbox.payload).where(Outbox.target == str(busy.id)))
                    ).first(),
                )
            )
        await s.commit()
    state = SenderState(pacer=Pacer(per_second=25, per_chat=3))
    async with make_bot(server) as bot:
        assert await drain(bot, sessions, settings_of(server, tmp_path), state) == 6
    assert got(busy) == 3 and [got(c) for c in others] == [1, 1, 1]
    async with sessions() as s:
        waiting = list(await s.scalars(select(Outbox).where(Outbox.status == "queued")))
    assert len(waiting) == 2 and all(w.attempts == 0 for w in waiting)


def test_pacer_keeps_the_minute_and_the_second() -> None:
    now = [0.0]
    pacer = Pacer(per_second=30, per_chat=20, clock=lambda: now[0])
    for _ in range(20):
        assert pacer.chat_delay("-1") == 0
        pacer.sent("-1")
    assert 59 < pacer.chat_delay("-1") <= 60.1
    assert pacer.chat_delay("-2") == 0 and pacer.chat_delay(None) == 0
    now[0] = 60.0
    assert pacer.chat_delay("-1") == 0


async def test_pushes_and_answers_share_telegrams_second() -> None:
    """Answers may use what pushes leave of 30 a second, requests still in flight included;
    an album takes as many places as it has photos."""
    now = [0.0]
    pacer = Pacer(per_second=20, overall=30, clock=lambda: now[0])
    for _ in range(20):
        async with pacer.push_slot() as slot:
            slot.sent("-1")
    with pytest.raises(TimeoutError):  # the pushes' share is used up
        await asyncio.wait_for(pacer.slot(), 0.05)
    await pacer.answer_slot(9)  # an album of nine, still in flight
    await pacer.answer_slot()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(pacer.answer_slot(), 0.05)
    now[0] = 0.5  # they come back
    pacer.sent(None, 9, taken=9)
    pacer.sent(None)
    now[0] = 0.999
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(pacer.answer_slot(), 0.05)
    now[0] = 1.0  # the pushes' second is over; the album and the answer are not
    await asyncio.wait_for(pacer.answer_slot(20), 0.05)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(pacer.answer_slot(), 0.05)


async def test_a_migrated_group_is_followed(
    server: FakeBotAPI, sessions: Sessions, tmp_path: Path
) -> None:
    await world(sessions)
    (old,) = await groups(server, sessions, 1)
    await queue_countdown(sessions)
    new = old.migrate_to_supergroup()
    async with make_bot(server) as bot:
        settings = settings_of(server, tmp_path)
        await drain(bot, sessions, settings)
        await drain(bot, sessions, settings)
    assert got(new) == 1 and got(old) == 0
    async with sessions() as s:
        chat_ids = list(await s.scalars(select(GroupChat.chat_id)))
    assert chat_ids == [new.id]


async def test_one_process_at_a_time_drains(sessions: Sessions, db_url: str) -> None:
    """On PostgreSQL two processes' drains elect one sender; SQLite serves one process."""
    from storage.db import create_engine, make_sessions
    from storage.pushes import sender_lease

    other_engine = create_engine(db_url)  # a second bot process
    try:
        async with (
            sender_lease(sessions) as first,
            sender_lease(make_sessions(other_engine)) as second,
        ):
            assert first
            assert second == db_url.startswith("sqlite")
        async with sender_lease(make_sessions(other_engine)) as after:
            assert after  # released when the first drain ended
    finally:
        await other_engine.dispose()


async def test_old_sent_pushes_are_forgotten_failed_ones_kept(sessions: Sessions) -> None:
    from datetime import UTC, datetime, timedelta

    from storage.pushes import forget_done

    now = datetime(2026, 12, 31, tzinfo=UTC)
    async with sessions() as s:
        for n, (status, age) in enumerate(
            [("sent", 20), ("expired", 20), ("failed", 20), ("sent", 3), ("queued", 20)]
        ):
            s.add(
                Outbox(
                    key=f"k{n}",
                    target="-1",
                    kind="countdown",
                    period="p",
                    status=status,
                    created_at=now - timedelta(days=age),
                    not_before=now,
                )
            )
        await s.commit()
    async with sessions() as s:
        assert await forget_done(s, now=now) == 2
        left = sorted(await s.scalars(select(Outbox.status)))
    assert left == ["failed", "queued", "sent"]


async def test_a_push_claimed_by_a_killed_sender_goes_out_at_the_next_start(
    server: FakeBotAPI, sessions: Sessions, tmp_path: Path
) -> None:
    """A sender killed mid-push leaves its row claimed: a sender of the same host sees that
    process is gone and sends the row at once; another host's claim waits out its timeout."""
    await world(sessions)
    chats = await groups(server, sessions, 3)
    await queue_countdown(sessions)
    gone = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await gone.wait()  # its pid names a process that no longer runs
    host = socket.gethostname()
    claimants = [f"{host}:{gone.pid}:0bad", f"{host}:{os.getpid()}:0ld", "far:1:x"]
    async with sessions() as s:
        ids = list(await s.scalars(select(Outbox.id).order_by(Outbox.id)))
        for row_id, claimant in zip(ids, claimants, strict=True):
            await s.execute(
                update(Outbox)
                .where(Outbox.id == row_id)
                .values(
                    status=OutboxStatus.SENDING,
                    claimed_by=claimant,
                    claimed_at=at("2026-11-29", "10:00"),
                )
            )
        await s.commit()
    async with make_bot(server) as bot:
        assert await drain(bot, sessions, settings_of(server, tmp_path)) == 2
    assert [got(c) for c in chats] == [1, 1, 0]  # the far host's row waits for its timeout
