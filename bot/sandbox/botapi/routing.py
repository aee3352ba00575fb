"""HTTP in the Bot API's shape: routes, parameter decoding, errors, faults, long polling.

``POST|GET /bot<token>/<method>`` answers ``{"ok": true, "result": ...}`` or Telegram's error
JSON, and ``GET /file/bot<token>/<file_path>`` serves files, so an unmodified
python-telegram-bot client (or any other) works against it. Injected faults are applied
here, before a method runs, and every call is written to the request log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp import web

from . import methods
from .objects import JSON
from .params import Params, Upload
from .state import ApiError, Fault, LogEntry, State, bad_request, now

logger = logging.getLogger(__name__)

MAX_UPLOAD = 60 * 1024 * 1024  # above the Bot API's 50 MB upload limit

_BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class Router:
    """The aiohttp application of one fake server, and its webhook sender."""

    def __init__(self, state: State, *, hang_seconds: float, webhook_retry_delay: float) -> None:
        self.state = state
        self.hang_seconds = hang_seconds
        self.webhook_retry_delay = webhook_retry_delay
        self.stopping = False
        # Webhook hosts served elsewhere: https://host/… is posted to http://address/… (the
        # TLS-terminating front of the bot's processes, played by a test's proxy).
        self.webhook_hosts: dict[str, str] = {}
        self.app = web.Application(client_max_size=MAX_UPLOAD)
        self.app.router.add_route("*", "/bot{token}/{method}", self.call)
        self.app.router.add_get("/file/bot{token}/{path:.+}", self.download)

    # --- Bot API calls --------------------------------------------------------------------

    async def call(self, request: web.Request) -> web.Response:
        """Answer one Bot API call, after any fault injected for it."""
        arrived = time.monotonic()
        name = methods.canonical_name(request.match_info["method"])
        if request.match_info["token"] != self.state.token:
            return _error(ApiError(401, "Unauthorized"))
        if name is None:
            return _error(ApiError(404, "Not Found: method not found"))
        try:
            params = await _read_params(request)
        except ApiError as exc:
            self._log(arrived, name, None, exc.code)
            return _error(exc)
        chat_id = self._chat_id_for_log(params)
        with self.state.lock:
            fault = self.state.take_fault(name, chat_id if isinstance(chat_id, int) else None)
        if fault is not None:
            return await self._fault(fault, arrived, name, chat_id, params)
        try:
            result = await self._perform(name, params)
        except ApiError as exc:
            self._log(arrived, name, chat_id, exc.code)
            return _error(exc)
        self._log(arrived, name, chat_id, None)
        return web.json_response({"ok": True, "result": result})

    async def _perform(self, name: str, params: Params) -> Any:
        if name == methods.LONG_POLL:
            return await self._get_updates(params)
        _, function = methods.METHODS[name.lower()]
        with self.state.lock:
            return function(self.state, params)

    async def _get_updates(self, params: Params) -> list[JSON]:
        """getUpdates: answer at once if updates wait, else hold until one comes or timeout.

        A newer getUpdates ends an older one with 409, as Telegram does when two instances of
        a bot poll at once.
        """
        state = self.state
        with state.lock:
            state.poll_generation += 1
            generation = state.poll_generation
            state.updates_changed.notify()  # an older poll wakes up and sees the conflict
            updates = methods.poll_updates(state, params)
        timeout = max(params.number("timeout") or 0.0, 0.0)
        if updates or not timeout:
            return updates
        limit = min(max(params.integer("limit") or 100, 1), 100)

        def ready() -> list[JSON] | str | None:
            if self.stopping:
                return "stopping"
            if state.poll_generation != generation:
                return "conflict"
            return state.take_updates(None, limit) or None

        outcome = await state.updates_changed.wait(ready, timeout)
        if outcome == "conflict":
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        return outcome if isinstance(outcome, list) else []

    async def _fault(
        self, fault: Fault, arrived: float, name: str, chat_id: int | str | None, params: Params
    ) -> web.Response:
        """Answer with an injected failure instead of (or, for a slow success, after) the call."""
        if fault.kind == "timeout":
            response = None
            if fault.delivered:
                # The call goes through, only the answer is late: the client sees a timeout
                # although the message was sent — the case that makes retries send twice.
                try:
                    result = await self._perform(name, params)
                    response = web.json_response({"ok": True, "result": result})
                except ApiError as exc:
                    response = _error(exc)
            self._log(arrived, name, chat_id, None if fault.delivered else 502, fault.kind)
            await asyncio.sleep(fault.delay if fault.delay is not None else self.hang_seconds)
            return response or _bad_gateway()
        if fault.kind == "502":
            self._log(arrived, name, chat_id, 502, fault.kind)
            return _bad_gateway()
        error = self._fault_error(fault, chat_id)
        self._log(arrived, name, chat_id, error.code, fault.kind)
        return _error(error)

    def _fault_error(self, fault: Fault, chat_id: int | str | None) -> ApiError:
        if fault.kind == "429":
            return ApiError(
                429,
                fault.description or f"Too Many Requests: retry after {fault.retry_after}",
                {"retry_after": fault.retry_after},
            )
        if fault.kind == "500":
            return ApiError(500, fault.description or "Internal Server Error")
        if fault.kind == "chat_not_found":
            return bad_request("chat not found")
        if fault.kind == "403":
            with self.state.lock:
                chat = self.state.chat_by_ref(chat_id) if chat_id is not None else None
            if chat is None or chat.type == "private":
                reason = "Forbidden: bot was blocked by the user"
            elif chat.type == "supergroup":
                reason = "Forbidden: bot was kicked from the supergroup chat"
            else:
                reason = "Forbidden: bot was kicked from the group chat"
            return ApiError(403, fault.description or reason)
        raise ValueError(f"unknown fault kind {fault.kind!r}")

    def _chat_id_for_log(self, params: Params) -> int | str | None:
        try:
            ref = params.chat_id()
        except ApiError:
            return None
        if isinstance(ref, str):
            with self.state.lock:
                chat = self.state.chat_by_ref(ref)
            return chat.id if chat else ref
        return ref

    def _log(
        self,
        arrived: float,
        name: str,
        chat_id: int | str | None,
        error_code: int | None,
        fault: str | None = None,
    ) -> None:
        entry = LogEntry(arrived, name, chat_id, error_code is None, error_code, fault)
        with self.state.lock:
            self.state.record(entry)

    # --- files ----------------------------------------------------------------------------

    async def download(self, request: web.Request) -> web.Response:
        """Serve a file by the path getFile gave out."""
        if request.match_info["token"] != self.state.token:
            return _error(ApiError(404, "Not Found"))
        with self.state.lock:
            record = self.state.files_by_path.get(request.match_info["path"])
        if record is None:
            return _error(ApiError(404, "Not Found"))
        return web.Response(
            body=record.data, content_type=record.mime_type or "application/octet-stream"
        )

    # --- webhook --------------------------------------------------------------------------

    async def deliver_webhooks(self) -> None:
        """POST queued updates to the webhook one at a time, in order, retrying failures.

        Runs for the server's life; idle while no webhook is set.
        """
        state = self.state
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while not self.stopping:

                def next_job() -> tuple[str, str | None, JSON] | None:
                    hook = state.webhook
                    if hook is None or not state.updates or self.stopping:
                        return None
                    return hook.url, hook.secret_token, state.updates[0]

                job = await state.updates_changed.wait(next_job, 3600)
                if job is None:
                    continue
                url, secret, update = job
                error = await _post_update(session, self._webhook_target(url), secret, update)
                with state.lock:
                    hook = state.webhook
                    if error is None:
                        state.updates = [u for u in state.updates if u is not update]
                        if hook is not None:
                            hook.delivered += 1
                    elif hook is not None:
                        hook.last_error_date = now()
                        hook.last_error_message = error
                if error is not None:
                    logger.info("webhook delivery to %s failed: %s", url, error)
                    await asyncio.sleep(self.webhook_retry_delay)

    def _webhook_target(self, url: str) -> str:
        parts = urlsplit(url)
        address = self.webhook_hosts.get(parts.hostname or "")
        if address is None:
            return url
        return urlunsplit(("http", address, parts.path, parts.query, parts.fragment))


async def _post_update(
    session: aiohttp.ClientSession, url: str, secret: str | None, update: JSON
) -> str | None:
    """Deliver one update; None on success, else Telegram-style last_error_message."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    try:
        async with session.post(url, json=update, headers=headers) as response:
            if 200 <= response.status < 300:
                return None
            return f"Wrong response from the webhook: {response.status} {response.reason}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        return f"Connection failed: {exc!r}"


async def _read_params(request: web.Request) -> Params:
    """Collect parameters from the query string and a JSON, urlencoded or multipart body."""
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON request body") from None
            if not isinstance(body, dict):
                raise bad_request("JSON request body must be an object")
            values.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    with contextlib.closing(value.file):
                        data = value.file.read()
                    uploads[name] = Upload(data, value.filename, value.content_type)
                else:
                    values[name] = value
    return Params(values, uploads)


def _error(error: ApiError) -> web.Response:
    return web.json_response(error.to_api(), status=error.code)


def _bad_gateway() -> web.Response:
    return web.Response(status=502, text=_BAD_GATEWAY_HTML, content_type="text/html")
