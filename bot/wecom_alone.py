"""`hdbot run` with the WeCom application and no Telegram: a process without python-telegram-bot.

Where Telegram cannot be reached a city runs WeCom alone. Beside Telegram, the Application
runs the WeCom front (bot/wecom_serving.py) and its job queue runs the scheduled work; here
plain asyncio does both: the same front, the same minute tick (`queue_due_pushes`), the same
sender (`drain_as_sender`, claiming only the WeCom channels: Telegram's rows wait for a
process that has a token) and the same hourly forgetting (bot/housekeeping.py). It sits
beside bot/wecom_serving.py because it is the other way that module's front is started.

SIGTERM and SIGINT stop it: the callback stops listening and finishes what it handed on,
the periodic work ends after its current run, then the clients and the engines close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable

import httpx

from bot.config import Settings
from bot.housekeeping import FIRST_AFTER, FORGET_EVERY, forget_old
from bot.push.pacing import Pacer, SenderState
from bot.push.schedule import TICK_SECONDS, queue_due_pushes
from bot.push.sender import DRAIN_INTERVAL, drain_as_sender
from bot.wecom.api import WeComClient
from bot.wecom.callback import Serving
from bot.wecom_serving import start_wecom_front
from storage.db import Sessions, create_engine, make_sessions, offloaded
from storage.models import Channel
from storage.pushes import count_waiting

logger = logging.getLogger(__name__)

FIRST_TICK = 5.0  # seconds after start, as beside Telegram: catch up what was missed soon
FIRST_DRAIN = 1.0


async def serve_wecom_alone(settings: Settings) -> None:
    """Serve the WeCom application until SIGTERM or SIGINT.

    Raises ListenFailed (bot/wecom_serving.py) when the callback's address cannot be opened.
    """
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    engine = create_engine(settings.db_url)
    sessions = make_sessions(engine)
    # The tick and the sender run on aiosqlite's threads, as beside Telegram (storage/db.py).
    background, threaded = offloaded(sessions)
    # One WeCom client for the answers and the pushes: one access token for both.
    client = WeComClient.from_settings(settings)
    state = SenderState(
        pacer=Pacer(per_second=settings.push_rate),
        http=httpx.AsyncClient(timeout=15.0),
        wecom=client,
    )
    serving: Serving | None = None
    work: list[asyncio.Task[None]] = []
    try:
        await _note_telegram_backlog(background)
        serving = await start_wecom_front(settings, sessions=sessions, client=client)
        work = _start_scheduled_work(background, settings, state, stopping)
        await stopping.wait()
        logger.info("stopping: the WeCom callback closes, the scheduled work ends")
    finally:
        stopping.set()
        # The callback first: what it handed on still answers through the client.
        if serving is not None:
            await serving.stop()
        # Each job ends after its current run (a drain stops before its next push).
        await asyncio.gather(*work, return_exceptions=True)
        if state.http is not None:
            await state.http.aclose()
        await client.close()
        if threaded is not None:
            await threaded.dispose()
        await engine.dispose()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def _start_scheduled_work(
    background: Sessions, settings: Settings, state: SenderState, stopping: asyncio.Event
) -> list[asyncio.Task[None]]:
    """The minute tick, the sender and the housekeeping, each repeating until `stopping`."""
    queued = asyncio.Event()  # the tick queued something: drain now, not in two seconds

    async def tick() -> None:
        if await queue_due_pushes(background, settings):
            queued.set()

    async def send() -> None:
        await drain_as_sender(None, background, settings, state, stop=stopping.is_set)

    async def housekeeping() -> None:
        await forget_old(background, settings)

    return [
        asyncio.create_task(_repeat(tick, every=TICK_SECONDS, first=FIRST_TICK, stop=stopping)),
        asyncio.create_task(
            _repeat(send, every=DRAIN_INTERVAL, first=FIRST_DRAIN, stop=stopping, wake=queued)
        ),
        asyncio.create_task(
            _repeat(housekeeping, every=FORGET_EVERY, first=FIRST_AFTER, stop=stopping)
        ),
    ]


async def _note_telegram_backlog(sessions: Sessions) -> None:
    """Say at start what this process leaves queued: Telegram's pushes need a token."""
    async with sessions() as session:
        waiting = await count_waiting(session, channel=Channel.TELEGRAM)
    if waiting:
        logger.warning(
            "%d Telegram pushes are queued: they wait for a process with HDBOT_TOKEN", waiting
        )


async def _repeat(
    job: Callable[[], Awaitable[None]],
    *,
    every: float,
    first: float,
    stop: asyncio.Event,
    wake: asyncio.Event | None = None,
) -> None:
    """Run `job` after `first` seconds, then every `every` seconds or when woken, until stopped.

    A failing run is logged and the next one comes at its time, as on the job queue.
    """
    pause = first
    while not stop.is_set():
        await _wait_any(pause, stop, wake)
        if stop.is_set():
            return
        if wake is not None:
            wake.clear()
        try:
            await job()
        except Exception:
            logger.exception("scheduled work %s failed", getattr(job, "__name__", job))
        pause = every


async def _wait_any(seconds: float, *events: asyncio.Event | None) -> None:
    """Sleep `seconds`, or until any of `events` is set."""
    waits = [asyncio.ensure_future(event.wait()) for event in events if event is not None]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*waits, return_exceptions=True)
