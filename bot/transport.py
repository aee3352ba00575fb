"""HTTP to the Bot API over aiohttp: python-telegram-bot's requests at a fraction of the CPU.

python-telegram-bot talks HTTP through httpx by default. Measured on this bot (bench/README.md),
its requests took about 60 % of the CPU an update costs, most of it in httpx's and httpcore's
per-request machinery rather than on the wire; aiohttp does the same requests for far less.
The library lets any `BaseRequest` carry its calls; this one keeps HTTPXRequest's contract:
form-encoded parameters, multipart for uploads, TimedOut and NetworkError for failures.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` for python-telegram-bot on an aiohttp client session."""

    __slots__ = (
        "_before",
        "_connect_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_read_timeout",
        "_session",
        "_write_timeout",
    )

    def __init__(
        self,
        *,
        connection_pool_size: int = 16,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        media_write_timeout: float | None = 20.0,
        before: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        # Awaited before each request: the inbox writes what the last getUpdates brought
        # before the next one tells Telegram it arrived (bot/intake/inbox.py).
        self._before = before
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See `BaseRequest.do_request`."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        if self._before is not None:
            await self._before()
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else None
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=_given(connect_timeout, self._connect_timeout),
            sock_read=_given(read_timeout, self._read_timeout),
        )
        body: aiohttp.FormData | dict[str, str] | None = fields
        if files:
            form = aiohttp.FormData()
            for name, value in (fields or {}).items():
                form.add_field(name, value)
            for name, (filename, content, mime_type) in files.items():
                form.add_field(name, content, filename=filename, content_type=mime_type)
            body = form
        try:
            async with self._session.request(method, url, data=body, timeout=timeout) as res:
                return res.status, await res.read()
        except TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err


def _given(value: ODVInput[float], default: float | None) -> float | None:
    """The timeout asked for in this call, or the one set for the instance."""
    if isinstance(value, DefaultValue):
        return default
    return value
