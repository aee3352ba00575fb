"""The update processor and the throttles, without Telegram: order, concurrency, floods."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

from sqlalchemy import func, select
from telegram import Chat, Message, Update, User

from bot.intake.inbox import DurableQueue
from bot.intake.throttle import FloodGuard, OnceInAWhile
from bot.intake.updates import OrderedUpdateProcessor
from storage.clock import ShiftedClock
from storage.db import Sessions
from storage.models import InboxUpdate
from tests.timeline import NOW

PRIVATE = "private"


def text_update(
    update_id: int, user_id: int, chat_id: int | None = None, album: str | None = None
) -> Update:
    chat_id = user_id if chat_id is None else chat_id
    chat = Chat(chat_id, PRIVATE if chat_id == user_id else "group")
    message = Message(
        message_id=update_id,
        date=NOW,
        chat=chat,
        from_user=User(user_id, "P", False),
        text=f"#{update_id}",
        media_group_id=album,
    )
    return Update(update_id, message=message)


class Recorder:
    """Runs like a handler: sleeps a random while, notes when each update started and ended."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, int]] = []  # (start|end, user, update id)
        self.running = 0
        self.most_at_once = 0

    async def handle(self, update: Update) -> None:
        user = update.effective_user
        assert user is not None
        self.events.append(("start", user.id, update.update_id))
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        await asyncio.sleep(random.uniform(0, 0.02))
        self.running -= 1
        self.events.append(("end", user.id, update.update_id))


async def feed(
    processor: OrderedUpdateProcessor, updates: list[Update], recorder: Recorder
) -> None:
    """As python-telegram-bot does: one task per update, in arrival order."""
    tasks = [asyncio.create_task(processor.process_update(u, recorder.handle(u))) for u in updates]
    await asyncio.gather(*tasks)


async def test_each_persons_updates_run_in_order_and_people_run_at_once() -> None:
    random.seed(7)
    processor = OrderedUpdateProcessor(flood=FloodGuard(limit=1000))
    recorder = Recorder()
    # Ten people, twenty updates each, interleaved as they would arrive.
    updates = [
        text_update(n * 10 + person, 100 + person) for n in range(20) for person in range(10)
    ]
    await feed(processor, updates, recorder)

    for person in range(10):
        mine = [(kind, uid) for kind, user, uid in recorder.events if user == 100 + person]
        # Never two of one person's updates at once, and in the order they came.
        assert [kind for kind, _ in mine] == ["start", "end"] * 20
        started = [uid for kind, uid in mine if kind == "start"]
        assert started == sorted(started)
    assert recorder.most_at_once >= 5  # people did not wait for each other
    assert processor.waiting_keys == 0


async def test_a_chat_keeps_its_order_across_its_members() -> None:
    processor = OrderedUpdateProcessor(flood=FloodGuard(limit=1000))
    recorder = Recorder()
    updates = [text_update(n, 100 + n % 3, chat_id=-500) for n in range(30)]
    await feed(processor, updates, recorder)
    started = [uid for kind, _, uid in recorder.events if kind == "start"]
    assert started == list(range(30)) and recorder.most_at_once == 1


async def test_a_flood_is_refused_before_any_handler_and_an_album_counts_once() -> None:
    processor = OrderedUpdateProcessor(flood=FloodGuard(limit=20, window=10))
    recorder = Recorder()
    flood = [text_update(n, 200) for n in range(100)]
    album = [text_update(1000 + n, 300, album="a1") for n in range(10)]
    await feed(processor, flood + album, recorder)
    handled = {user: 0 for user in (200, 300)}
    for kind, user, _ in recorder.events:
        handled[user] += kind == "start"
    assert handled == {200: 20, 300: 10}
    assert processor.refused == 80


async def test_a_flood_is_not_even_kept_in_the_inbox(sessions: Sessions) -> None:
    """The inbox write is database work too: a flood is screened before it."""
    processor = OrderedUpdateProcessor(flood=FloodGuard(limit=20, window=10))
    queue = DurableQueue(admit=processor.admit)
    queue.sessions = sessions
    for n in range(60):
        await queue.put(text_update(n, 200))
    async with sessions() as s:
        kept = await s.scalar(select(func.count()).select_from(InboxUpdate))
    assert kept == queue.qsize() == 20
    assert processor.refused == 40
    # Screened once: processing what was queued counts nothing again.
    recorder = Recorder()
    await feed(processor, [queue.get_nowait() for _ in range(20)], recorder)
    assert sum(kind == "start" for kind, _, _ in recorder.events) == 20
    assert processor.refused == 40


def test_flood_guard_lets_a_pausing_person_in_again_and_trusts_registered_people() -> None:
    now = [0.0]
    guard = FloodGuard(limit=3, trusted_limit=6, window=10, clock=lambda: now[0])
    assert [guard.admit("stranger") for _ in range(5)] == [True] * 3 + [False] * 2
    now[0] += 10.5
    assert guard.admit("stranger")  # paused for the window: in again
    guard.trust("inspector")
    assert all(guard.admit("inspector") for _ in range(6)) and not guard.admit("inspector")
    # Someone who never stops sending stays out: refused messages count too.
    for _ in range(40):
        now[0] += 0.5
        guard.admit("script")
    assert not guard.admit("script")


def test_once_in_a_while_follows_the_clock(clock: ShiftedClock) -> None:
    hints = OnceInAWhile(600)
    assert hints.due(1) and not hints.due(1) and hints.due(2)
    clock.advance(timedelta(minutes=9))
    assert not hints.due(1)
    clock.advance(timedelta(minutes=2))
    assert hints.due(1)
    hints.forget(2)
    assert hints.due(2)
