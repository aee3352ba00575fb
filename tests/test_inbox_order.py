"""Several webhook processes on one database: each person's updates in order across them.

Two "processes" here are two update queues and processors in one event loop, each with its
own mark, taking a person's updates by turns as a round-robin proxy would hand them out.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Coroutine
from typing import Any

import pytest
from telegram import Chat, Message, Update, User

from bot.intake.inbox import DurableQueue
from bot.intake.inbox_order import InboxOrder
from bot.intake.throttle import FloodGuard
from bot.intake.updates import OrderedUpdateProcessor
from storage import inbox
from storage.clock import utcnow
from storage.db import Sessions
from tests.timeline import NOW


def message_update(update_id: int, user_id: int, chat_id: int | None = None) -> Update:
    chat_id = user_id if chat_id is None else chat_id
    message = Message(
        message_id=update_id,
        date=NOW,
        chat=Chat(chat_id, "private" if chat_id == user_id else "group"),
        from_user=User(user_id, "P", False),
        text=f"#{update_id}",
    )
    return Update(update_id, message=message)


class Process:
    """What one `hdbot run --webhook-url` has of the inbox: its queue, processor and order."""

    def __init__(self, sessions: Sessions, receiver: int, *, across: bool = True) -> None:
        self.processor = OrderedUpdateProcessor(flood=FloodGuard(limit=10_000))
        if across:
            self.processor.across = InboxOrder(sessions, poll=0.01)
        self.queue = DurableQueue(admit=self.processor.admit)
        self.queue.sessions = sessions
        self.queue.receiver = receiver
        self.processor.on_done = self.queue.handled
        self.tasks: list[asyncio.Task[None]] = []

    async def receive(self, update: Update, handle: Coroutine[Any, Any, None]) -> None:
        """As the webhook does: the update is kept before Telegram hears "received"; then it
        is handled in the background."""
        await self.queue.put(update)
        assert self.queue.get_nowait() is update
        self.tasks.append(asyncio.create_task(self.processor.process_update(update, handle)))


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, int, int]] = []  # (start|end, sender, update id)

    async def handle(self, update: Update, seconds: float) -> None:
        user = update.effective_user
        assert user is not None
        self.events.append(("start", user.id, update.update_id))
        await asyncio.sleep(seconds)
        self.events.append(("end", user.id, update.update_id))

    def of(self, sender: int) -> list[tuple[str, int]]:
        return [(kind, update_id) for kind, user, update_id in self.events if user == sender]


async def test_a_persons_updates_keep_their_order_across_two_processes(
    sessions: Sessions,
) -> None:
    random.seed(11)
    processes = [Process(sessions, receiver=1), Process(sessions, receiver=2)]
    recorder = Recorder()
    # Five people, eight updates each, handed to the two processes by turns as they come.
    updates = [message_update(100 + n * 5 + p, 500 + p) for n in range(8) for p in range(5)]
    for n, update in enumerate(updates):
        await processes[n % 2].receive(update, recorder.handle(update, random.uniform(0, 0.03)))
    await asyncio.gather(*(t for p in processes for t in p.tasks))

    for person in range(5):
        mine = recorder.of(500 + person)
        # Never two of one person's updates at once, whichever process had them, and in order.
        assert [kind for kind, _ in mine] == ["start", "end"] * 8
        started = [update_id for kind, update_id in mine if kind == "start"]
        assert started == sorted(started)
    waited = sum(p.processor.across.waited for p in processes if p.processor.across)
    assert waited > 0  # the order was kept by waiting, not by luck
    for p in processes:
        await p.queue.flush()
    async with sessions() as s:
        assert await inbox.kept_before(s, [inbox.Kept(10**6, 500, None)]) == []


async def test_without_the_inbox_order_a_persons_updates_overtake_each_other(
    sessions: Sessions,
) -> None:
    """The check above can fail: two processes on their own run one person's updates at once
    (the second answer would go out before the first)."""
    processes = [
        Process(sessions, receiver=1, across=False),
        Process(sessions, receiver=2, across=False),
    ]
    recorder = Recorder()
    first, second = message_update(1, 500), message_update(2, 500)
    await processes[0].receive(first, recorder.handle(first, 0.2))
    await processes[1].receive(second, recorder.handle(second, 0.0))
    await asyncio.gather(*(t for p in processes for t in p.tasks))
    assert recorder.of(500)[:2] == [("start", 1), ("start", 2)]


async def test_an_update_waits_for_an_earlier_one_left_by_a_process_until_it_is_handled(
    sessions: Sessions,
) -> None:
    """A process died holding a person's update: their next waits for it (it is adopted and
    handled, or given up), and other people's updates and chats do not wait at all."""
    async with sessions() as s:
        await inbox.write(
            s,
            keep={1: {"update_id": 1}, 2: {"update_id": 2}},
            now=utcnow(),
            receiver=99,
            orders={1: inbox.Order(500, 500), 2: inbox.Order(600, -700)},
        )
    order = InboxOrder(sessions, poll=0.01)
    held = asyncio.create_task(order.wait_turn(3, inbox.Order(500, 500)))
    in_group = asyncio.create_task(order.wait_turn(4, inbox.Order(601, -700)))
    await asyncio.wait_for(order.wait_turn(5, inbox.Order(800, 800)), 1)
    await asyncio.sleep(0.2)
    assert not held.done() and not in_group.done()
    async with sessions() as s:
        assert await inbox.forget(s, [1]) == 1
    await asyncio.wait_for(held, 1)
    assert not in_group.done()  # the group's earlier update (another member's) is still there
    order.done(2)  # this process handled it: its row no longer holds anything up
    await asyncio.wait_for(in_group, 1)
    assert order.waited == 2 and order.waiting == 0


async def test_an_update_without_sender_or_chat_never_waits(sessions: Sessions) -> None:
    order = InboxOrder(sessions)
    await asyncio.wait_for(order.wait_turn(7, inbox.Order(None, None)), 0.1)


@pytest.mark.parametrize("done_first", [True, False])
async def test_a_copy_of_an_update_is_forgotten_once_the_first_is_done(
    sessions: Sessions, done_first: bool
) -> None:
    """Telegram may deliver an update again (its "received" was lost): the copy is kept again
    and must not stay in the inbox, where it would hold the person's next updates up."""
    process = Process(sessions, receiver=1)
    recorder = Recorder()
    update = message_update(1, 500)
    gate = asyncio.Event()

    async def slow() -> None:
        await gate.wait()
        await recorder.handle(update, 0)

    await process.receive(update, slow())
    if done_first:
        gate.set()
        await asyncio.gather(*process.tasks)
        await process.queue.flush()
    copy = message_update(1, 500)
    await process.receive(copy, recorder.handle(copy, 0))
    gate.set()
    await asyncio.gather(*process.tasks)
    await process.queue.flush()
    assert [kind for kind, _ in recorder.of(500)] == ["start", "end"]  # handled once
    async with sessions() as s:
        assert await inbox.kept_before(s, [inbox.Kept(2, 500, 500)]) == []
