"""Start the demo and stop it: the fakes, the seeded database, the real bot (both fronts),
and the chat page, in one process and one event loop (the fakes serve from their threads).

The page's port is opened first, so a port in use is refused before anything else is made.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from aiohttp import web

from bot.app import build_application
from bot.config import Settings
from bot.sandbox.botapi import FakeBotAPI
from bot.sandbox.demo.page import DemoPage, Sandbox
from bot.sandbox.demo.seed import Seeded, seed
from bot.sandbox.wecom import Credentials, FakeWeCom
from storage.db import create_engine, make_sessions

logger = logging.getLogger(__name__)

DATABASE = "hdbot.sqlite3"


class PortTaken(Exception):
    """The page's address could not be opened."""


class FolderInUse(Exception):
    """The folder already holds a demo's database."""


def prepare_folder(folder: Path) -> None:
    """Make the folder; refuse one that holds a demo's database already (FolderInUse), or
    cannot be made (OSError)."""
    if (folder / DATABASE).exists():
        raise FolderInUse(str(folder))
    folder.mkdir(parents=True, exist_ok=True)


def demo_settings(base: Settings, folder: Path, telegram: FakeBotAPI, wecom: FakeWeCom) -> Settings:
    """The settings of the bot in the demo: the fakes, and a SQLite file in `folder`."""
    credentials = wecom.application.credentials
    return replace(
        base,
        token=telegram.token,
        base_url=telegram.base_url,
        base_file_url=telegram.base_file_url,
        database_url=f"sqlite+aiosqlite:///{(folder / DATABASE).resolve()}",
        data_dir=folder,
        wecom_base_url=wecom.url,
        wecom_corp_id=credentials.corp_id,
        wecom_agent_id=credentials.agent_id,
        wecom_secret=credentials.secret,
        wecom_token=credentials.token,
        wecom_aes_key=credentials.aes_key,
        wecom_listen=f"127.0.0.1:{_free_port()}",
        bot_username=telegram.username,
        webhook_secret=None,
    )


async def run_demo(
    base: Settings,
    *,
    folder: Path,
    host: str = "127.0.0.1",
    port: int = 8080,
    stop: asyncio.Event,
    ready: Callable[[str, Seeded], None],
) -> None:
    """Run the demo until `stop` is set; `ready` gets the page's address once it answers.

    `folder` is made ready by prepare_folder first. Raises PortTaken, or
    seed.MissingExamples.
    """
    page = DemoPage()
    runner = web.AppRunner(page.app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as err:
        await runner.cleanup()
        raise PortTaken(f"{host}:{port}: {err.strerror or err}") from None
    bound = runner.addresses[0][1] if runner.addresses else port
    url = f"http://{host}:{bound}"
    try:
        with (
            FakeBotAPI(username="hdbot_demo_bot", first_name="hdbot") as telegram,
            FakeWeCom(credentials=Credentials()) as wecom,
        ):
            settings = demo_settings(base, folder, telegram, wecom)
            seeded = await seed(settings, telegram=telegram, wecom=wecom)
            await _serve(page, settings, seeded, telegram, wecom, stop, lambda: ready(url, seeded))
    finally:
        await runner.cleanup()


async def _serve(
    page: DemoPage,
    settings: Settings,
    seeded: Seeded,
    telegram: FakeBotAPI,
    wecom: FakeWeCom,
    stop: asyncio.Event,
    ready: Callable[[], None],
) -> None:
    """Run the real bot against the fakes, the page in front of it, until `stop`."""
    engine = create_engine(settings.db_url)
    sessions = make_sessions(engine)
    application = build_application(settings, sessions=sessions)
    application.bot_data.closers.append(engine.dispose)
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=2)
        serving = application.bot_data.wecom_serving
        if serving is not None:
            wecom.application.callbacks.url = serving.url
        page.sandbox = Sandbox(settings, telegram, wecom, sessions, application, seeded.group_chats)
        ready()
        await stop.wait()
    finally:
        page.sandbox = None
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


def _free_port() -> int:
    """A port nobody listens on now, for the WeCom front's callback (which takes no port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
