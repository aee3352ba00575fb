"""The application's callback: WeCom's URL check and the messages people send, over HTTP.

WeCom calls `GET /wecom/callback?msg_signature&timestamp&nonce&echostr` when an administrator
saves the address (answer the decrypted echostr), and `POST` with
`<xml><ToUserName/><AgentID/><Encrypt/></xml>` for every message and event. It waits five
seconds for an answer and retries up to three times, so the receiver answers at once with an
empty 200 and hands the message on in the background; replies go out through the API.

A callback is handed on only after `claim(dedupe_key)` said it is new: a retry (the same
`MsgId`, or for an event the same sender, moment and event) is answered 200 and dropped. A
claim that fails answers 503, so WeCom tries again later. Messages of one person are handed
on in the order they came. Anything not sealed by WeCom for this corp is refused with a 4xx
before it is parsed further: a wrong signature or receiver 403, malformed XML or base64 400.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from bot.wecom.crypto import BadSignature, CallbackCrypto, CallbackCryptoError, WrongReceiver
from bot.wecom.incoming import MalformedCallback, WeComMessage, parse_message, parse_xml

logger = logging.getLogger(__name__)

CALLBACK_PATH = "/wecom/callback"
# A callback is a few hundred bytes; a large body is not WeCom's.
MAX_BODY = 64 * 1024

# Keeps the message (durably, before WeCom is answered); False when it was kept before.
Claim = Callable[[WeComMessage], Awaitable[bool]]
Consume = Callable[[WeComMessage], Awaitable[None]]


class CallbackReceiver:
    """Check, open and hand on WeCom's callbacks for one application."""

    def __init__(self, *, crypto: CallbackCrypto, claim: Claim, consume: Consume) -> None:
        self.crypto = crypto
        self._claim = claim
        self._consume = consume
        self._tasks: set[asyncio.Task[None]] = set()
        # Each person's latest hand-on, which their next one waits for (order within a person).
        self._latest: dict[str, asyncio.Task[None]] = {}

    async def url_check(self, request: web.Request) -> web.Response:
        """Answer WeCom's URL check with the decrypted echostr."""
        query = _signed_query(request, "echostr")
        if query is None:
            return _refuse(request, 400, "a URL check without its parameters")
        signature, timestamp, nonce, echostr = query
        try:
            echo = self.crypto.open(signature, timestamp, nonce, echostr)
        except CallbackCryptoError as err:
            return _refuse(request, _status_of(err), f"URL check: {err}")
        return web.Response(text=echo, content_type="text/plain")

    async def receive(self, request: web.Request) -> web.Response:
        """Open a message, claim it and hand it on; answer WeCom at once."""
        query = _signed_query(request)
        if query is None:
            return _refuse(request, 400, "a callback without its signature")
        signature, timestamp, nonce, _ = query
        try:
            body = await request.text()
            encrypted = parse_xml(body).findtext("Encrypt")
            if not encrypted:
                raise MalformedCallback("no Encrypt")
            message = parse_message(self.crypto.open(signature, timestamp, nonce, encrypted))
        except (CallbackCryptoError, MalformedCallback, UnicodeDecodeError) as err:
            return _refuse(request, _status_of(err), f"callback: {err}")
        try:
            new = await self._claim(message)
        except Exception:
            logger.exception("WeCom callback %s: the claim failed", message.dedupe_key)
            return web.Response(status=503)
        if new:
            self._hand_on(message)
        else:
            logger.info("WeCom callback %s again: already handled", message.dedupe_key)
        # Empty, not an encrypted passive reply: answers go out through the API.
        return web.Response(status=200, text="")

    def _hand_on(self, message: WeComMessage) -> None:
        before = self._latest.get(message.from_user)
        task = asyncio.create_task(self._consume_after(before, message))
        self._latest[message.from_user] = task
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(message.from_user, done))

    async def _consume_after(
        self, before: asyncio.Task[None] | None, message: WeComMessage
    ) -> None:
        if before is not None:
            await asyncio.wait([before])
        try:
            await self._consume(message)
        except Exception:
            logger.exception("WeCom message %s: handling failed", message.dedupe_key)

    def _finished(self, user: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._latest.get(user) is task:
            del self._latest[user]

    @property
    def pending(self) -> int:
        """How many handed-on messages are still being handled."""
        return len(self._tasks)

    async def drain(self, *, grace: float | None = None) -> None:
        """Wait for every handed-on message (at most `grace` seconds, then cancel the rest)."""
        while self._tasks:
            tasks = set(self._tasks)
            _, late = await asyncio.wait(tasks, timeout=grace)
            if late:
                for task in late:
                    task.cancel()
                await asyncio.wait(late)
                return

    async def _on_shutdown(self, app: web.Application) -> None:
        await self.drain(grace=10.0)


def callback_app(receiver: CallbackReceiver, *, path: str = CALLBACK_PATH) -> web.Application:
    """Return an aiohttp application serving the callback at `path`."""
    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_get(path, receiver.url_check)
    app.router.add_post(path, receiver.receive)
    app.on_shutdown.append(receiver._on_shutdown)
    return app


@dataclass(frozen=True, slots=True)
class Serving:
    """A running callback server; `stop()` ends it."""

    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        """The callback's address on this host (for tests and the log)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{CALLBACK_PATH}"

    async def stop(self) -> None:
        """Finish what was handed on (briefly), then close the port."""
        await self.runner.cleanup()


async def serve(app: web.Application, *, host: str, port: int) -> Serving:
    """Start serving `app` on host:port (port 0: any free one) and return the running server."""
    # No access log: the query names the signature and nonce, and every request would be a line.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1] if runner.addresses else port
    logger.info("WeCom callback listening on %s:%s%s", host, bound, CALLBACK_PATH)
    return Serving(runner=runner, host=host, port=bound)


def _signed_query(request: web.Request, *extra: str) -> tuple[str, str, str, str] | None:
    names = ("msg_signature", "timestamp", "nonce", *extra)
    values = [request.query.get(name, "") for name in names]
    if not all(values):
        return None
    # A "+" left unescaped in the query arrives as a space; base64 has no spaces to lose.
    restored = [value.replace(" ", "+") for value in values]
    return restored[0], restored[1], restored[2], restored[3] if extra else ""


def _status_of(err: Exception) -> int:
    return 403 if isinstance(err, BadSignature | WrongReceiver) else 400


def _refuse(request: web.Request, status: int, reason: str) -> web.Response:
    logger.warning("WeCom callback from %s refused (%s): %s", request.remote, status, reason)
    return web.Response(status=status)
