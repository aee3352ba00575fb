"""`hdbot demo` in a thread of the test's process, on the test clock: the page, the fakes and
the real bot run in the thread's event loop while a browser (or a test's HTTP client) uses
the page."""

from __future__ import annotations

import asyncio
import socket
import threading
from concurrent.futures import Future
from pathlib import Path

from bot.config import Settings
from bot.sandbox.demo.sandbox import prepare_folder, run_demo
from bot.sandbox.demo.seed import Seeded


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class DemoThread:
    """`with DemoThread(folder) as url:` — the demo serves its page at url until the block ends."""

    def __init__(self, folder: Path, *, language: str = "zh_CN") -> None:
        self.folder = folder
        self.settings = Settings(language=language)
        self.port = free_port()
        self.seeded: Seeded | None = None
        self.loop = asyncio.new_event_loop()
        self._url: Future[str] = Future()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="hdbot-demo", daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> str:
        prepare_folder(self.folder)
        self._thread.start()
        return self._url.result(timeout=60)

    def __exit__(self, *exc_info: object) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=60)
        if self.error is not None:
            raise self.error

    def _ready(self, url: str, seeded: Seeded) -> None:
        self.seeded = seeded
        self._url.set_result(url)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as err:  # shown to the test at exit
            self.error = err
            if not self._url.done():
                self._url.set_exception(err)
        finally:
            self.loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        await run_demo(
            self.settings, folder=self.folder, port=self.port, stop=self._stop, ready=self._ready
        )
