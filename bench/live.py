"""What the inbound benchmarks share: a fake Telegram, a seeded database, hdbot in its own process.

The bot runs as `hdbot run` (long polling) in a child process, exactly as deployed, against the
fake Bot API of bot/sandbox/botapi in this process; its CPU time is read from the kernel
(/proc/PID/schedstat, nanoseconds) so the fake server's own work is never counted. People act
through the fake as on a phone and each answer is timed from the update to the bot's reply.
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.sandbox.botapi import FakeBotAPI, Message, Person  # noqa: E402
from storage import campaigns, invites, migrate, tasks, units  # noqa: E402
from storage.accounts import Account  # noqa: E402
from storage.db import create_engine, make_sessions  # noqa: E402

TASKS = [
    {
        "code": f"GJZ-{n:02d}",
        "title": f"危险化学品企业专项检查 {n}",
        "source": "municipal",
        "field": "hazardous_chemicals",
        "unit": "甘井子区",
        "due_date": "2026-12-20",
    }
    for n in range(1, 13)
]


def machine() -> str:
    """One line about where the figures were measured."""
    cpus = os.cpu_count()
    model = ""
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{cpus} cores · {model} · Python {platform.python_version()}"


async def seed(url: str, telegram_ids: list[int], role: str = "inspector") -> None:
    """A migrated database with the campaign, the city and a district, and these people."""
    await migrate.upgrade(url)
    engine = create_engine(url)
    sessions = make_sessions(engine)
    try:
        async with sessions() as s:
            await campaigns.set_campaign(
                s, name="三年行动", closing_date=date(2026, 12, 31), actor="bench"
            )
        async with sessions() as s:
            await units.add_unit(s, name="大连市", kind="region", actor="bench")
        async with sessions() as s:
            await units.add_unit(s, name="甘井子区", kind="region", parent="大连市", actor="bench")
        async with sessions() as s:
            await tasks.import_tasks(s, rows=list(enumerate(TASKS, start=2)), actor="bench")
        for telegram_id in telegram_ids:
            async with sessions() as s:
                code = (
                    await invites.create_invite(s, role=role, unit="甘井子区", actor="bench")
                ).code
            async with sessions() as s:
                await invites.redeem_invite(
                    s,
                    code=code,
                    account=Account.telegram(telegram_id),
                    name=f"P{telegram_id}",
                    username=None,
                )
    finally:
        await engine.dispose()


class ChildBot:
    """A bot process (hdbot, or any script) whose CPU time can be read at any moment."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)

    def cpu_ns(self) -> int:
        """CPU time of the process so far (all its threads), in nanoseconds."""
        with open(f"/proc/{self.proc.pid}/schedstat") as fh:
            return int(fh.read().split()[0])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@contextmanager
def hdbot_process(server: FakeBotAPI, db_url: str, data_dir: Path) -> Iterator[ChildBot]:
    env = {
        **os.environ,
        **server.env(),
        "HDBOT_DATABASE_URL": db_url,
        "HDBOT_DATA_DIR": str(data_dir),
        "HDBOT_LANGUAGE": "en",
        "HDBOT_BOT_USERNAME": server.username,
        **({"PYTHONASYNCIODEBUG": "1"} if os.environ.get("BENCH_ASYNCIO_DEBUG") else {}),
    }
    argv = [
        sys.executable,
        "-m",
        "bot.cli",
        *(["-v"] if os.environ.get("BENCH_VERBOSE") else []),
        "run",
    ]
    bot = ChildBot(argv, env, data_dir / "hdbot.log")
    try:
        yield bot
    finally:
        bot.stop()


BARE_BOT = """
import os
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import (
    ApplicationBuilder, CallbackQueryHandler, CommandHandler, MessageHandler, filters,
)

GO = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])

async def echo(update, context):
    await update.message.reply_text("echo: " + update.message.text)

async def menu(update, context):
    await update.message.reply_text("echo: menu", reply_markup=GO)

async def press(update, context):
    await update.callback_query.answer()
    await context.bot.send_message(update.effective_chat.id, "echo: pressed", reply_markup=GO)

app = (
    ApplicationBuilder().token(os.environ["HDBOT_TOKEN"])
    .base_url(os.environ["HDBOT_BASE_URL"]).base_file_url(os.environ["HDBOT_BASE_FILE_URL"])
    .build()
)
app.add_handler(CommandHandler("menu", menu))
app.add_handler(MessageHandler(filters.TEXT, echo))
app.add_handler(CallbackQueryHandler(press))
app.run_polling()
"""


@contextmanager
def bare_process(server: FakeBotAPI, folder: Path) -> Iterator[ChildBot]:
    """The bare python-telegram-bot echo bot: the floor any bot's cost is measured against."""
    env = {**os.environ, **server.env()}
    bot = ChildBot([sys.executable, "-c", BARE_BOT], env, folder / "bare.log")
    try:
        yield bot
    finally:
        bot.stop()


async def until_polling(server: FakeBotAPI, within: float = 60) -> None:
    """Wait until the bot asks for updates (it has started and initialised)."""
    deadline = time.monotonic() + within
    while not server.requests("getUpdates"):
        if time.monotonic() > deadline:
            raise RuntimeError("the bot did not start polling; see its log")
        await asyncio.sleep(0.1)


async def answered(
    person: Person, act: Callable[[], object], expect: Callable[[Message], bool]
) -> tuple[Message, float]:
    """Do something as `person` and wait for the bot's first new message that `expect`s;
    return it and the seconds it took."""
    chat = person.private_chat
    before = chat.messages[-1].message_id if chat.messages else 0
    started = time.monotonic()
    act()
    answer = await chat.next_message(lambda m: m.message_id > before and expect(m), within=120)
    return answer, time.monotonic() - started


@dataclass
class Sample:
    """Answer times (seconds) and the bot's CPU (ns) for one kind of update."""

    seconds: list[float] = field(default_factory=list)
    cpu_ns: int = 0
    updates: int = 0

    def p(self, q: float) -> float:
        if not self.seconds:
            return float("nan")
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    @property
    def cpu_ms_per_update(self) -> float:
        return self.cpu_ns / 1e6 / self.updates if self.updates else float("nan")

    @property
    def p50(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")


def temp_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="hdbot-bench-"))
