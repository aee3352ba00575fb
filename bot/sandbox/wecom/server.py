"""A fake WeCom (企业微信) group-robot webhook server, so pushes to WeCom are tested over HTTP.

It serves ``POST /cgi-bin/webhook/send?key=KEY`` on 127.0.0.1 from its own thread and event
loop, and answers the way WeCom's robot webhook does: always HTTP 200, with a JSON body whose
``errcode`` says what happened (0: delivered). It checks what WeCom checks:

- the key must be a registered robot (``add_robot``), else 93000 "invalid webhook url";
- the body must be a JSON object with a known ``msgtype`` (``markdown`` or ``text``), else
  40008 "invalid message type"; the message object must carry a non-empty ``content``,
  else 44004 "empty content"; malformed JSON is 40008 too;
- markdown content is at most 4,096 bytes of UTF-8 and text content at most 2,048 bytes,
  else 40058;
- a robot takes at most 20 messages a minute: the 21st within 60 seconds gets 45009
  "api freq out of limit".

Example::

    with FakeWeCom() as wecom:
        wecom.add_robot("k-1")
        settings = Settings(wecom_base_url=wecom.url, ...)
        ...  # run the sender
        [message] = wecom.messages("k-1")
        assert message.msgtype == "markdown" and "倒计时" in message.content

Every request is recorded (arrival time on the server's clock, key, parsed JSON, answer); a
test can make a robot answer its next requests with a chosen errcode (``fail_next``).

The same server fakes a self-built application's API (tokens, messages, media, template
cards) and plays WeCom's side of its callback: ``wecom.application``
(bot/sandbox/wecom/application.py).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

from bot.sandbox.wecom.application import FakeWeComApplication
from bot.sandbox.wecom.callbacks import Credentials

SEND_PATH = "/cgi-bin/webhook/send"
MARKDOWN_LIMIT = 4096  # bytes of UTF-8
TEXT_LIMIT = 2048  # bytes of UTF-8
PER_MINUTE = 20

_MORE_INFO = "more info at https://open.work.weixin.qq.com/devtool/query?e={code}"

# The errmsg WeCom gives for each errcode this fake can answer.
ERRMSG = {
    0: "ok",
    40008: "invalid message type",
    40058: "markdown.content exceed max length 4096. invalid Request Parameter",
    44004: "empty content",
    45009: "api freq out of limit",
    93000: "invalid webhook url",
    93004: "webhook is disabled",
    93017: "webhook's owner is invalid",
}


@dataclass(frozen=True)
class WeComRequest:
    """One request a client made, and what the fake answered."""

    at: float  # the server's clock (time.monotonic() unless told otherwise) on arrival
    key: str | None
    body: Any  # the parsed JSON, or None when the body was not JSON
    raw: bytes
    content_type: str
    status: int  # the HTTP status answered
    errcode: int
    errmsg: str
    injected: bool = False  # answered by fail_next()

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.errcode == 0

    @property
    def msgtype(self) -> str | None:
        return self.body.get("msgtype") if isinstance(self.body, dict) else None

    @property
    def content(self) -> str:
        """The message's content ("" when there was none)."""
        if not isinstance(self.body, dict):
            return ""
        message = self.body.get(self.msgtype or "")
        content = message.get("content") if isinstance(message, dict) else None
        return content if isinstance(content, str) else ""


@dataclass
class _Failure:
    errcode: int
    times: int
    errmsg: str | None
    status: int = 200


@dataclass
class _Robot:
    key: str
    sent: deque[float] = field(default_factory=deque)  # arrival times of delivered messages
    failures: deque[_Failure] = field(default_factory=deque)


class FakeWeCom:
    """WeCom's group-robot webhook, for as many robots as the test registers."""

    def __init__(
        self,
        *,
        per_minute: int = PER_MINUTE,
        markdown_limit: int = MARKDOWN_LIMIT,
        text_limit: int = TEXT_LIMIT,
        clock: Callable[[], float] = time.monotonic,
        credentials: Credentials | None = None,
    ) -> None:
        self.per_minute = per_minute
        self.markdown_limit = markdown_limit
        self.text_limit = text_limit
        self.clock = clock
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)
        self._robots: dict[str, _Robot] = {}
        self._log: list[WeComRequest] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self.app = web.Application()
        self.app.router.add_post(SEND_PATH, self._send)
        self.application = FakeWeComApplication(
            self.app, lock=self.lock, changed=self._changed, clock=clock, credentials=credentials
        )

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and serve from a background thread."""
        if self._thread is not None:
            raise RuntimeError("already started")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="fakewecom", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop serving, free the port and join the thread."""
        if self._thread is None or self._loop is None:
            return
        if self._runner is not None:
            future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
            future.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def _serve(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        self._runner = web.AppRunner(self.app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    @property
    def url(self) -> str:
        """The API root, as HDBOT_WECOM_BASE_URL takes it (e.g. http://127.0.0.1:40123)."""
        if self._port is None:
            raise RuntimeError("the server is not started")
        return f"http://127.0.0.1:{self._port}"

    def webhook(self, key: str) -> str:
        """A robot's full webhook address, as WeCom shows it to the group's owner."""
        return f"{self.url}{SEND_PATH}?key={key}"

    # --- robots and faults ----------------------------------------------------------------

    def add_robot(self, key: str) -> str:
        """Register a robot; requests with its key are delivered from now on."""
        with self.lock:
            self._robots.setdefault(key, _Robot(key))
        return key

    def remove_robot(self, key: str) -> None:
        """The group's owner removed the robot: its key answers 93000 from now on."""
        with self.lock:
            self._robots.pop(key, None)

    def fail_next(
        self,
        key: str,
        errcode: int,
        *,
        times: int = 1,
        errmsg: str | None = None,
        status: int = 200,
    ) -> None:
        """Answer the next ``times`` requests for this robot with ``errcode`` (or HTTP status)."""
        with self.lock:
            robot = self._robots.get(key)
            if robot is None:
                raise LookupError(f"no robot {key!r}: add_robot() it first")
            robot.failures.append(_Failure(errcode, times, errmsg, status))

    # --- reading --------------------------------------------------------------------------

    def requests(self, key: str | None = None) -> list[WeComRequest]:
        """Every request, oldest first, optionally for one key."""
        with self.lock:
            return [r for r in self._log if key is None or r.key == key]

    def messages(self, key: str | None = None) -> list[WeComRequest]:
        """The delivered messages (errcode 0), oldest first."""
        return [r for r in self.requests(key) if r.ok]

    def errors(self, key: str | None = None) -> list[WeComRequest]:
        """The requests answered with an error."""
        return [r for r in self.requests(key) if not r.ok]

    def peak(self, window: float, key: str | None = None) -> int:
        """The most delivered messages within any ``window`` seconds (per key, if given)."""
        times = [r.at for r in self.messages(key)]
        peak, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] >= window:
                start += 1
            peak = max(peak, end - start + 1)
        return peak

    def wait_for(
        self, count: int, key: str | None = None, within: float = 5.0
    ) -> list[WeComRequest]:
        """Block until at least ``count`` requests arrived (a sync test, the sender elsewhere)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.requests(key)) >= count, within)
        found = self.requests(key)
        if len(found) < count:
            raise AssertionError(f"{len(found)} WeCom requests within {within}s, wanted {count}")
        return found

    async def until(
        self, count: int, key: str | None = None, within: float = 5.0
    ) -> list[WeComRequest]:
        """Await at least ``count`` requests (for a test whose loop runs the sender)."""
        deadline = time.monotonic() + within
        while len(found := self.requests(key)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(found)} WeCom requests within {within}s, wanted {count}"
                )
            await asyncio.sleep(0.02)
        return found

    # --- the webhook ----------------------------------------------------------------------

    async def _send(self, request: web.Request) -> web.Response:
        arrived = self.clock()
        raw = await request.read()
        key = request.query.get("key")
        body: Any = None
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = None
        with self.lock:
            status, errcode, errmsg, injected = self._answer(arrived, key, body)
            self._log.append(
                WeComRequest(
                    at=arrived,
                    key=key,
                    body=body,
                    raw=raw,
                    content_type=request.content_type,
                    status=status,
                    errcode=errcode,
                    errmsg=errmsg,
                    injected=injected,
                )
            )
            self._changed.notify_all()
        if status != 200:
            return web.Response(status=status, text=f"<html><body>{status}</body></html>")
        return web.json_response({"errcode": errcode, "errmsg": errmsg})

    def _answer(self, arrived: float, key: str | None, body: Any) -> tuple[int, int, str, bool]:
        """(HTTP status, errcode, errmsg, injected) for one request; call with the lock held."""
        robot = self._robots.get(key or "")
        if robot is None:
            hint = f"invalid webhook url, hint: [{int(time.time())}_fake], from ip: 127.0.0.1"
            return 200, 93000, f"{hint}, {_MORE_INFO.format(code=93000)}", False
        if robot.failures:
            failure = robot.failures[0]
            failure.times -= 1
            if failure.times <= 0:
                robot.failures.popleft()
            said = failure.errmsg or ERRMSG.get(failure.errcode, "injected error")
            return failure.status, failure.errcode, _with_hint(said, failure.errcode), True
        if not isinstance(body, dict) or body.get("msgtype") not in ("markdown", "text"):
            return 200, 40008, _with_hint(ERRMSG[40008], 40008), False
        msgtype = body["msgtype"]
        message = body.get(msgtype)
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str) or not content:
            return 200, 44004, _with_hint(ERRMSG[44004], 44004), False
        limit = self.markdown_limit if msgtype == "markdown" else self.text_limit
        if len(content.encode("utf-8")) > limit:
            text = f"{msgtype}.content exceed max length {limit}. invalid Request Parameter"
            return 200, 40058, _with_hint(text, 40058), False
        while robot.sent and arrived - robot.sent[0] >= 60:
            robot.sent.popleft()
        if len(robot.sent) >= self.per_minute:
            return 200, 45009, _with_hint(ERRMSG[45009], 45009), False
        robot.sent.append(arrived)
        return 200, 0, "ok", False


def _with_hint(message: str, code: int) -> str:
    return f"{message}, hint: [{int(time.time())}_fake], {_MORE_INFO.format(code=code)}"
