"""The server API of a WeCom self-built application, faked beside the group robots.

`FakeWeCom` (bot/sandbox/wecom/server.py) serves these routes on the same address, so one
`HDBOT_WECOM_BASE_URL` reaches both; reach this part as `wecom.application`. It answers as
WeCom does (HTTP 200 and an errcode) and checks what WeCom checks:

- `GET /cgi-bin/gettoken?corpid&corpsecret`: the corp id and secret the fake was given, else
  40013 / 40001; every call is counted (`token_requests`); a token lives `token_lifetime`
  seconds on the fake's clock, `expire_tokens()` ends every token at once (42001 from then on),
  an unknown token is 40014 and a missing one 41001;
- `POST /cgi-bin/message/send`: the agent id (40056), a recipient (40031), a known msgtype
  (40008): text of 1 to 2,048 bytes (44004, 40058), an image by a media_id the fake holds
  (40007), a button-interaction template card with a title, a task id and 1 to 6 buttons of
  different keys (40058); each message is kept per recipient (`messages(user)`), and a card
  is answered with a response_code;
- `POST /cgi-bin/media/upload?type=image|file` (multipart `media`, 6 bytes to 10 MB for an
  image, else 40009, to 20 MB for a file, else 40006) keeps the bytes and answers a media_id;
  a file message (`msgtype` file) names one the fake holds (40007); `GET /cgi-bin/media/get`
  serves them, or answers 40007 as JSON; `put_media()` stores a photo as if a person had
  sent it;
- `POST /cgi-bin/message/update_template_card`: kept in `card_updates()`.

`fail_next(errcode, times=N, path=...)` makes the next N calls (of one path, or any) answer
that errcode. What WeCom sends to the application's callback is in bot/sandbox/wecom/callbacks.py.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from bot.sandbox.wecom.callbacks import Credentials, WeComCallbacks
from bot.wecom.api import WeComClient
from bot.wecom.crypto import CallbackCrypto

TOKEN_LIFETIME = 7200
IMAGE_LIMIT = 10 * 1024 * 1024
FILE_LIMIT = 20 * 1024 * 1024
TEXT_LIMIT = 2048
BUTTONS_LIMIT = 6

ERRMSG = {
    -1: "system busy",
    40001: "invalid credential",
    40006: "invalid file size",
    40007: "invalid media_id",
    40008: "invalid message type",
    40009: "invalid image size",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40031: "invalid userid list",
    40056: "invalid agentid",
    40058: "invalid Request Parameter",
    41001: "access_token missing",
    42001: "access_token expired",
    44004: "empty content",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
}


def client_of(base_url: str, credentials: Credentials, **options: Any) -> WeComClient:
    """A WeComClient of this application against the fake at `base_url` (close it after)."""
    return WeComClient(
        base_url=base_url,
        corp_id=credentials.corp_id,
        agent_id=credentials.agent_id,
        secret=credentials.secret,
        **options,
    )


class _Refused(Exception):
    def __init__(self, errcode: int, detail: str = "") -> None:
        super().__init__(errcode)
        self.errcode = errcode
        self.errmsg = ERRMSG.get(errcode, "error") + (f": {detail}" if detail else "")


@dataclass(frozen=True)
class AppRequest:
    """One call a client made to the application API, and the errcode it got."""

    at: float  # the fake's clock on arrival
    path: str
    query: dict[str, str]
    body: Any  # the parsed JSON, the upload's size, or None
    errcode: int
    injected: bool = False


@dataclass(frozen=True)
class SentMessage:
    """A message the application sent one person."""

    to: str
    msgtype: str
    body: dict[str, Any]
    msgid: str
    response_code: str | None = None

    @property
    def content(self) -> str:
        """A text's content ("" for other kinds)."""
        return str(self.body.get("text", {}).get("content", "")) if self.msgtype == "text" else ""

    @property
    def media_id(self) -> str | None:
        """An image's or a file's media_id (None for other kinds)."""
        if self.msgtype not in ("image", "file"):
            return None
        return self.body.get(self.msgtype, {}).get("media_id")

    @property
    def card(self) -> dict[str, Any]:
        """A template card ({} for other kinds)."""
        card = self.body.get("template_card") if self.msgtype == "template_card" else None
        return card if isinstance(card, dict) else {}

    @property
    def button_texts(self) -> list[str]:
        return [str(button.get("text")) for button in self.card.get("button_list", [])]


@dataclass
class _Failure:
    errcode: int
    times: int
    path: str | None


@dataclass
class _Media:
    data: bytes
    content_type: str
    name: str | None = None  # the file name an upload gave


@dataclass
class _State:
    tokens: dict[str, float] = field(default_factory=dict)  # token → expiry on the clock
    token_requests: int = 0
    failures: deque[_Failure] = field(default_factory=deque)
    media: dict[str, _Media] = field(default_factory=dict)
    sent: list[SentMessage] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    log: list[AppRequest] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # the address book: user id → name


class FakeWeComApplication:
    """One self-built application's API, on the fake's aiohttp app, thread and lock."""

    def __init__(
        self,
        app: web.Application,
        *,
        lock: threading.RLock,
        changed: threading.Condition,
        clock: Callable[[], float],
        credentials: Credentials | None = None,
    ) -> None:
        self.credentials = credentials or Credentials()
        self.token_lifetime = TOKEN_LIFETIME
        self.lock = lock
        self._changed = changed
        self.clock = clock
        self._state = _State()
        self._ids = itertools.count(1)
        self.callbacks = WeComCallbacks(self.credentials, put_media=self.put_media)
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._send)
        app.router.add_post("/cgi-bin/media/upload", self._upload)
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        app.router.add_post("/cgi-bin/message/update_template_card", self._update_card)
        app.router.add_get("/cgi-bin/user/get", self._user_get)

    @property
    def crypto(self) -> CallbackCrypto:
        """The application's callback crypto, as WeCom holds it."""
        return self.callbacks.crypto

    # --- what a test arranges -------------------------------------------------------------

    def expire_tokens(self) -> None:
        """End every token issued so far: they answer 42001 from now on."""
        with self.lock:
            for token in self._state.tokens:
                self._state.tokens[token] = float("-inf")

    def fail_next(self, errcode: int, *, times: int = 1, path: str | None = None) -> None:
        """Answer the next `times` calls (to `path`, e.g. /cgi-bin/message/send) with errcode."""
        with self.lock:
            self._state.failures.append(_Failure(errcode, times, path))

    def add_person(self, user_id: str, name: str) -> None:
        """Put a member in the corp's address book, as user/get will answer for them."""
        with self.lock:
            self._state.names[user_id] = name

    def put_media(
        self, data: bytes, content_type: str = "image/jpeg", name: str | None = None
    ) -> str:
        """Keep a file as WeCom keeps what a person sent; return its media_id."""
        media_id = f"fake-media-{next(self._ids)}-{secrets.token_hex(6)}"
        with self.lock:
            self._state.media[media_id] = _Media(data, content_type, name)
        return media_id

    async def press(self, user: str, text: str) -> int:
        """The person presses the button labelled `text` on the latest card sent to them."""
        for message in reversed(self.messages(user)):
            for button in message.card.get("button_list", []):
                if button.get("text") == text:
                    xml = self.callbacks.button_press(
                        user, task_id=message.card["task_id"], key=button["key"]
                    )
                    return await self.callbacks.post(xml)
        raise LookupError(f"no card sent to {user!r} has a button {text!r}")

    # --- what a test reads ----------------------------------------------------------------

    @property
    def token_requests(self) -> int:
        """How many times gettoken was called."""
        with self.lock:
            return self._state.token_requests

    def requests(self, path: str | None = None) -> list[AppRequest]:
        """Every call, oldest first, optionally to one path."""
        with self.lock:
            return [r for r in self._state.log if path is None or r.path == path]

    def messages(self, user: str | None = None) -> list[SentMessage]:
        """The messages sent (to one person, if given), oldest first."""
        with self.lock:
            return [m for m in self._state.sent if user is None or m.to == user]

    def card_updates(self) -> list[dict[str, Any]]:
        """The update_template_card requests accepted, oldest first."""
        with self.lock:
            return list(self._state.updates)

    def media(self, media_id: str) -> bytes:
        """The bytes kept under a media_id (uploaded by the application, or put by a test)."""
        with self.lock:
            return self._state.media[media_id].data

    def media_file(self, media_id: str) -> tuple[bytes, str, str | None]:
        """A kept file's bytes, content type and upload name; KeyError when unknown."""
        with self.lock:
            media = self._state.media[media_id]
            return media.data, media.content_type, media.name

    def wait_for_messages(self, count: int, user: str | None = None, within: float = 5.0) -> None:
        """Block until `count` messages were sent (to one person, if given)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.messages(user)) >= count, within)
        if len(self.messages(user)) < count:
            raise AssertionError(f"{len(self.messages(user))} messages within {within}s")

    # --- the routes -----------------------------------------------------------------------

    async def _gettoken(self, request: web.Request) -> web.Response:
        def answer(query: dict[str, str], body: Any) -> dict[str, Any]:
            self._state.token_requests += 1
            if query.get("corpid") != self.credentials.corp_id:
                raise _Refused(40013)
            if query.get("corpsecret") != self.credentials.secret:
                raise _Refused(40001)
            token = f"fake-token-{next(self._ids)}-{secrets.token_urlsafe(24)}"
            self._state.tokens[token] = self.clock() + self.token_lifetime
            return {"access_token": token, "expires_in": self.token_lifetime}

        return await self._serve(request, answer, token=False)

    async def _send(self, request: web.Request) -> web.Response:
        def answer(query: dict[str, str], body: Any) -> dict[str, Any]:
            users = self._recipients(body)
            msgtype = body.get("msgtype")
            if msgtype == "text":
                _check_text(body.get("text"))
            elif msgtype in ("image", "file"):
                media = body.get(msgtype)
                if not isinstance(media, dict) or media.get("media_id") not in self._state.media:
                    raise _Refused(40007)
            elif msgtype == "template_card":
                _check_card(body.get("template_card"))
            else:
                raise _Refused(40008)
            msgid = f"fake-msg-{next(self._ids)}"
            code = f"fake-rc-{next(self._ids)}" if msgtype == "template_card" else None
            for user in users:
                self._state.sent.append(SentMessage(user, msgtype, body, msgid, code))
            result: dict[str, Any] = {"invaliduser": "", "msgid": msgid}
            if code:
                result["response_code"] = code
            return result

        return await self._serve(request, answer)

    async def _upload(self, request: web.Request) -> web.Response:
        data = b""
        content_type = "application/octet-stream"
        name: str | None = None
        if request.content_type.startswith("multipart/"):
            async for part in await request.multipart():
                if isinstance(part, BodyPartReader) and part.name == "media":
                    data = await part.read()
                    content_type = part.headers.get("Content-Type", content_type)
                    name = part.filename

        def answer(query: dict[str, str], body: Any) -> dict[str, Any]:
            kind = query.get("type")
            if kind not in ("image", "file"):
                raise _Refused(40058, "type")
            if not 5 < len(data) <= (IMAGE_LIMIT if kind == "image" else FILE_LIMIT):
                raise _Refused(40009 if kind == "image" else 40006)
            media_id = self.put_media(data, content_type, name)
            return {"type": kind, "media_id": media_id, "created_at": str(int(self.clock()))}

        return await self._serve(request, answer, body=len(data))

    async def _media_get(self, request: web.Request) -> web.Response:
        found: list[_Media] = []

        def answer(query: dict[str, str], body: Any) -> dict[str, Any]:
            media = self._state.media.get(query.get("media_id", ""))
            if media is None:
                raise _Refused(40007)
            found.append(media)
            return {}

        response = await self._serve(request, answer)
        if not found:
            return response
        return web.Response(body=found[0].data, content_type=found[0].content_type)

    async def _user_get(self, request: web.Request) -> web.Response:
        def answer(query: dict[str, str], body: Any) -> dict[str, Any]:
            user_id = query.get("userid", "")
            if user_id not in self._state.names:
                raise _Refused(60111)  # userid not found
            return {"userid": user_id, "name": self._state.names[user_id]}

        return await self._serve(request, answer)

    async def _update_card(self, request: web.Request) -> web.Response:
        def answer(query: dict[str, str], body: Any) -> dict[str, Any]:
            if body.get("agentid") != self.credentials.agent_id:
                raise _Refused(40056)
            userids = body.get("userids")
            if not isinstance(userids, list) or not userids:
                raise _Refused(40031)
            if not body.get("response_code"):
                raise _Refused(40058, "response_code")
            if "template_card" in body:
                _check_card(body["template_card"])
            elif not isinstance(body.get("button"), dict) or not body["button"].get("replace_name"):
                raise _Refused(40058, "button.replace_name")
            self._state.updates.append(body)
            return {"invaliduser": []}

        return await self._serve(request, answer)

    # --- the common part ------------------------------------------------------------------

    async def _serve(
        self,
        request: web.Request,
        answer: Callable[[dict[str, str], Any], dict[str, Any]],
        *,
        token: bool = True,
        body: Any = None,
    ) -> web.Response:
        arrived = self.clock()
        query = dict(request.query)
        if request.content_type == "application/json":
            try:
                body = json.loads(await request.read())
            except (UnicodeDecodeError, json.JSONDecodeError):
                body = None
        injected = False
        with self.lock:
            try:
                if (failure := self._injected(request.path)) is not None:
                    injected = True
                    raise _Refused(failure)
                if token:
                    self._check_token(query.get("access_token"), arrived)
                if request.content_type == "application/json" and not isinstance(body, dict):
                    raise _Refused(40058, "not a JSON object")
                result = {"errcode": 0, "errmsg": "ok", **answer(query, body)}
            except _Refused as refusal:
                result = {"errcode": refusal.errcode, "errmsg": refusal.errmsg}
            self._state.log.append(
                AppRequest(arrived, request.path, query, body, int(result["errcode"]), injected)
            )
            self._changed.notify_all()
        return web.json_response(result)

    def _injected(self, path: str) -> int | None:
        for failure in self._state.failures:
            if failure.path in (None, path):
                failure.times -= 1
                if failure.times <= 0:
                    self._state.failures.remove(failure)
                return failure.errcode
        return None

    def _check_token(self, token: str | None, now: float) -> None:
        if not token:
            raise _Refused(41001)
        expiry = self._state.tokens.get(token)
        if expiry is None:
            raise _Refused(40014)
        if now >= expiry:
            raise _Refused(42001)

    def _recipients(self, body: dict[str, Any]) -> list[str]:
        if body.get("agentid") != self.credentials.agent_id:
            raise _Refused(40056)
        users = [u for u in str(body.get("touser") or "").split("|") if u]
        if not users:
            raise _Refused(40031)
        return users


def _check_text(text: object) -> None:
    content = text.get("content") if isinstance(text, dict) else None
    if not isinstance(content, str) or not content:
        raise _Refused(44004)
    if len(content.encode("utf-8")) > TEXT_LIMIT:
        raise _Refused(40058, f"content exceed max length {TEXT_LIMIT}")


def _check_card(card: object) -> None:
    if not isinstance(card, dict) or card.get("card_type") != "button_interaction":
        raise _Refused(40058, "card_type")
    title = card.get("main_title")
    if not isinstance(title, dict) or not title.get("title"):
        raise _Refused(40058, "main_title.title")
    if not card.get("task_id"):
        raise _Refused(40058, "task_id")
    buttons = card.get("button_list")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= BUTTONS_LIMIT:
        raise _Refused(40058, "button_list")
    keys = [b.get("key") for b in buttons if isinstance(b, dict) and b.get("text")]
    if len(keys) != len(buttons) or not all(keys) or len(set(keys)) != len(keys):
        raise _Refused(40058, "button_list.key")
