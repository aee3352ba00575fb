"""A round-robin reverse proxy for tests: one webhook address in front of several bot processes.

It plays what nginx or Caddy does in production (docs/webhooks.md): each POST goes to the next
process in turn; a process that refuses the connection (killed, not started yet) is skipped
for the next, as nginx's `proxy_next_upstream error` does; a process that dies after the
request reached it makes the answer a 502, and Telegram posts the update again later. It
serves from its own thread, like the fake Bot API, so sync tests and child processes can use
it alike; `log` tells which process each update went to.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from dataclasses import dataclass
from typing import Self

import aiohttp
from aiohttp import web

# What Telegram's request carries that the bot needs.
FORWARDED = ("Content-Type", "X-Telegram-Bot-Api-Secret-Token")


@dataclass(frozen=True, slots=True)
class Forwarded:
    """One webhook post and where it went: the backend's index, and its answer (502 when the
    process died with the request)."""

    update_id: int
    backend: int
    status: int


def free_port() -> int:
    """A port nothing listens on right now (for a bot process to take)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RoundRobinProxy:
    """Posts each request to the next of `backends` ("127.0.0.1:port"), skipping dead ones."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.log: list[Forwarded] = []
        self._next = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Self:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self._serve())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="webhook-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._thread = self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def went_to(self, update_id: int) -> int | None:
        """The backend that answered the update last (None if none did yet)."""
        with self._lock:
            return next((f.backend for f in reversed(self.log) if f.update_id == update_id), None)

    async def _serve(self) -> None:
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def _cleanup(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k in FORWARDED if (v := request.headers.get(k)) is not None}
        update_id = int(json.loads(body or b"{}").get("update_id", 0))
        with self._lock:
            first = self._next
            self._next = (self._next + 1) % len(self.backends)
        assert self._client is not None
        for n in range(len(self.backends)):
            backend = (first + n) % len(self.backends)
            url = f"http://{self.backends[backend]}{request.path_qs}"
            try:
                async with self._client.request(
                    request.method, url, data=body, headers=headers
                ) as answer:
                    content = await answer.read()
                    self._note(update_id, backend, answer.status)
                    return web.Response(status=answer.status, body=content)
            except aiohttp.ClientConnectorError:
                continue  # nobody listens there: the next process may
            except (aiohttp.ClientError, TimeoutError):
                self._note(update_id, backend, 502)
                return web.Response(status=502, text="the bot process went away")
        return web.Response(status=502, text="no bot process listens")

    def _note(self, update_id: int, backend: int, status: int) -> None:
        with self._lock:
            self.log.append(Forwarded(update_id, backend, status))
