"""An async client of WeCom's server API for one self-built application.

WeCom answers HTTP 200 with an `errcode` (0: done). The client keeps the application's
access token (valid `expires_in` seconds, 7,200 in practice) and fetches a new one only when
it is about to run out, one request at a time however many sends wait for it: WeCom limits
`gettoken` calls, and twenty people answered at once must not cost twenty tokens. A token
WeCom calls invalid or expired (40014, 42001: it was renewed elsewhere, or the clock moved)
is dropped and the request made once more with a fresh one.

"Busy" answers (45009, 45033: too many calls; -1: system busy) and failures to reach WeCom
raise `WeComBusy` with a suggested delay, so the caller defers instead of failing; any other
errcode raises `WeComError`. Neither the secret nor the access token is ever logged or put
in an error: both travel in the query string, which aiohttp names in its own errors.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp

from bot.config import ConfigError, Settings
from bot.wecom.outgoing import CardUpdate, JsonObject, OutgoingMessage

logger = logging.getLogger(__name__)

TOKEN_REJECTED = frozenset({40014, 42001})  # invalid access_token, access_token expired
# Too many calls (per minute or per hour) and "system busy": WeCom asks to try again later.
BUSY_DELAYS = {45009: 60.0, 45033: 60.0, -1: 5.0}
UNREACHABLE_DELAY = 5.0
# Fetch a new token this long before the old one runs out, so no request carries a token that
# expires on its way.
TOKEN_MARGIN = 300.0
IMAGE_LIMIT_BYTES = 10 * 1024 * 1024  # media/upload takes images up to 10 MB
FILE_LIMIT_BYTES = 20 * 1024 * 1024  # and files up to 20 MB
MEDIA_LIMIT_BYTES = 20 * 1024 * 1024  # the most media/get is allowed to bring into memory

_T = TypeVar("_T")


class WeComError(Exception):
    """WeCom refused a request; `errcode` is its code (None when no answer came at all)."""

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        super().__init__(f"WeCom errcode {errcode}: {errmsg}" if errcode is not None else errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


class WeComBusy(WeComError):
    """WeCom is busy or out of reach: try again after `retry_after` seconds."""

    def __init__(self, errcode: int | None, errmsg: str, *, retry_after: float) -> None:
        super().__init__(errcode, errmsg)
        self.retry_after = retry_after


class MediaTooLarge(WeComError):
    """A downloaded file is larger than the caller accepts; it was not read to the end."""


@dataclass(frozen=True, slots=True)
class Sent:
    """What `message/send` answered: the message's id and the card's update code."""

    msgid: str
    # A button card's code for one `update_template_card` call (72 hours); None otherwise.
    response_code: str | None
    # Recipients WeCom did not know (the rest got the message).
    invalid_users: tuple[str, ...] = ()


@dataclass(slots=True)
class _Token:
    value: str
    valid_until: float  # on the client's `now` clock


class WeComClient:
    """The server API of one application: tokens, messages, media, template cards."""

    def __init__(
        self,
        *,
        base_url: str,
        corp_id: str,
        agent_id: int,
        secret: str,
        session: aiohttp.ClientSession | None = None,
        now: Callable[[], float] = time.monotonic,
        token_margin: float = TOKEN_MARGIN,
        timeout: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.corp_id = corp_id
        self.agent_id = agent_id
        self._secret = secret
        self._session = session
        self._owns_session = session is None
        self._now = now
        self._margin = token_margin
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._token: _Token | None = None
        self._refreshing = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> WeComClient:
        """Return the client of the configured application (ConfigError when there is none)."""
        if not settings.wecom_app_configured:
            raise ConfigError("the WeCom application is not configured (HDBOT_WECOM_CORP_ID …)")
        assert settings.wecom_corp_id and settings.wecom_secret and settings.wecom_agent_id
        return cls(
            base_url=settings.wecom_base_url,
            corp_id=settings.wecom_corp_id,
            agent_id=settings.wecom_agent_id,
            secret=settings.wecom_secret,
            **options,
        )

    def __repr__(self) -> str:
        # The secret and the token stay out of every repr (tracebacks print them).
        return f"WeComClient(base_url={self.base_url!r}, corp_id={self.corp_id!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session, if this client made it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    # --- the access token --------------------------------------------------------------------

    async def access_token(self) -> str:
        """Return a valid access token, fetching one (once, whoever else waits) when needed."""
        if (token := self._cached()) is not None:
            return token
        async with self._refreshing:
            if (token := self._cached()) is not None:
                return token  # fetched by whoever held the lock before us
            answer = await self._json(
                "GET",
                "/cgi-bin/gettoken",
                params={"corpid": self.corp_id, "corpsecret": self._secret},
            )
            value = answer.get("access_token")
            lifetime = _number(answer.get("expires_in"), default=7200.0)
            if not isinstance(value, str) or not value:
                raise WeComError(None, "gettoken answered without an access_token")
            # Keep a margin, but never more than half the token's life (tests give short lives).
            keep = max(lifetime - self._margin, lifetime / 2)
            self._token = _Token(value, self._now() + keep)
            logger.info("WeCom access token fetched, kept for %d s", keep)
            return value

    def _cached(self) -> str | None:
        token = self._token
        if token is not None and self._now() < token.valid_until:
            return token.value
        return None

    def _forget(self, value: str) -> None:
        # Only the token that was refused: another request may have fetched a new one since.
        if self._token is not None and self._token.value == value:
            self._token = None

    async def _with_token(self, request: Callable[[str], Awaitable[_T]]) -> _T:
        token = await self.access_token()
        try:
            return await request(token)
        except WeComError as err:
            if err.errcode not in TOKEN_REJECTED:
                raise
            logger.info("WeCom refused the access token (errcode %s): another", err.errcode)
            self._forget(token)
        return await request(await self.access_token())

    # --- the calls ---------------------------------------------------------------------------

    async def send(self, to: str | Sequence[str], message: OutgoingMessage) -> Sent:
        """Send a message to one person (a WeCom user id) or several."""
        users = [to] if isinstance(to, str) else list(to)
        if not users or not all(users):
            raise ValueError("send to at least one user id")
        payload: JsonObject = {"touser": "|".join(users), "agentid": self.agent_id}
        payload.update(message.body())

        async def request(token: str) -> dict[str, Any]:
            return await self._json(
                "POST", "/cgi-bin/message/send", params={"access_token": token}, json=payload
            )

        answer = await self._with_token(request)
        invalid = str(answer.get("invaliduser") or "")
        code = answer.get("response_code")
        return Sent(
            msgid=str(answer.get("msgid") or ""),
            response_code=code if isinstance(code, str) and code else None,
            invalid_users=tuple(u for u in invalid.split("|") if u),
        )

    async def upload_image(
        self, data: bytes, *, filename: str = "photo.jpg", content_type: str = "image/jpeg"
    ) -> str:
        """Upload an image (JPG or PNG, up to 10 MB) and return its media_id (valid 3 days)."""
        return await self._upload("image", data, filename, content_type, IMAGE_LIMIT_BYTES)

    async def upload_file(
        self,
        data: bytes,
        *,
        filename: str,
        content_type: str = "application/octet-stream",
    ) -> str:
        """Upload a file (up to 20 MB) and return its media_id (valid 3 days)."""
        return await self._upload("file", data, filename, content_type, FILE_LIMIT_BYTES)

    async def _upload(
        self, kind: str, data: bytes, filename: str, content_type: str, limit: int
    ) -> str:
        if not 5 < len(data) <= limit:
            raise ValueError(f"a {kind} is 6 bytes to {limit} bytes")

        async def request(token: str) -> dict[str, Any]:
            # A new form each time: aiohttp consumes a FormData when it sends it.
            form = aiohttp.FormData()
            form.add_field("media", data, filename=filename, content_type=content_type)
            return await self._json(
                "POST",
                "/cgi-bin/media/upload",
                params={"access_token": token, "type": kind},
                data=form,
            )

        answer = await self._with_token(request)
        media_id = answer.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise WeComError(None, "media/upload answered without a media_id")
        return media_id

    async def user_name(self, user_id: str) -> str | None:
        """The member's name in the corp's address book (user/get), or None without one."""

        async def request(token: str) -> dict[str, Any]:
            return await self._json(
                "GET", "/cgi-bin/user/get", params={"access_token": token, "userid": user_id}
            )

        name = (await self._with_token(request)).get("name")
        return name.strip() or None if isinstance(name, str) else None

    async def download_media(self, media_id: str, *, max_bytes: int = MEDIA_LIMIT_BYTES) -> bytes:
        """Return the bytes of a media file (a photo a person sent), at most `max_bytes`."""
        if not media_id:
            raise ValueError("no media_id")

        async def request(token: str) -> bytes:
            return await self._bytes(
                "/cgi-bin/media/get",
                params={"access_token": token, "media_id": media_id},
                max_bytes=max_bytes,
            )

        return await self._with_token(request)

    async def update_card(
        self, *, userids: Sequence[str], response_code: str, to: CardUpdate
    ) -> None:
        """Replace a sent card (or grey out its buttons) for these people, after a press."""
        if not userids or not response_code:
            raise ValueError("an update needs the people and the response code")
        payload: JsonObject = {
            "userids": list(userids),
            "agentid": self.agent_id,
            "response_code": response_code,
        }
        payload.update(to.update_body())

        async def request(token: str) -> dict[str, Any]:
            return await self._json(
                "POST",
                "/cgi-bin/message/update_template_card",
                params={"access_token": token},
                json=payload,
            )

        await self._with_token(request)

    # --- HTTP --------------------------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def _json(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str],
        json: JsonObject | None = None,
        data: aiohttp.FormData | None = None,
    ) -> dict[str, Any]:
        try:
            async with self._http().request(
                method, self.base_url + path, params=params, json=json, data=data
            ) as response:
                _check_status(response, path)
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise _unreachable(err, path) from None
        return _checked(answer, path)

    async def _bytes(self, path: str, *, params: dict[str, str], max_bytes: int) -> bytes:
        try:
            async with self._http().get(self.base_url + path, params=params) as response:
                _check_status(response, path)
                # WeCom answers an error as JSON where the file would be.
                if _is_json(response.content_type):
                    answer = await response.json(content_type=None)
                    _checked(answer, path)
                    raise WeComError(None, f"{path} answered JSON instead of the media")
                if (response.content_length or 0) > max_bytes:
                    raise MediaTooLarge(None, f"the media is over {max_bytes} bytes")
                body = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    body += chunk
                    if len(body) > max_bytes:
                        raise MediaTooLarge(None, f"the media is over {max_bytes} bytes")
                return bytes(body)
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise _unreachable(err, path) from None


def _check_status(response: aiohttp.ClientResponse, path: str) -> None:
    if response.status == 200:
        return
    message = f"{path}: HTTP {response.status}"
    if response.status == 429 or response.status >= 500:
        raise WeComBusy(None, message, retry_after=UNREACHABLE_DELAY)
    raise WeComError(None, message)


def _checked(answer: object, path: str) -> dict[str, Any]:
    """The answer as a dict, or the typed error its errcode means."""
    if not isinstance(answer, dict):
        raise WeComError(None, f"{path} answered something other than a JSON object")
    code = _errcode(answer.get("errcode", 0))
    if code == 0:
        return answer
    errmsg = str(answer.get("errmsg") or "") if code is not None else "errcode is not a number"
    logger.debug("WeCom %s: errcode %s", path, code)
    if code in BUSY_DELAYS:
        raise WeComBusy(code, errmsg, retry_after=BUSY_DELAYS[code])
    raise WeComError(code, errmsg)


def _unreachable(err: BaseException, path: str) -> WeComBusy:
    # Only the error's kind: its text may hold the URL, and the URL holds the token or secret.
    return WeComBusy(None, f"{path}: {type(err).__name__}", retry_after=UNREACHABLE_DELAY)


def _errcode(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _number(value: object, *, default: float) -> float:
    try:
        return float(str(value))
    except ValueError:
        return default


def _is_json(content_type: str) -> bool:
    return content_type in ("application/json", "text/plain")
