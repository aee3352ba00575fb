"""FakeBotAPI: a fake Telegram Bot API server, for end-to-end tests and `hdbot demo`.

It serves HTTP on 127.0.0.1 from its own thread and event loop, so one server can serve an
Application running in the test's loop, a bot in a subprocess, and a sync test, all at once.
Tests build the world (people, groups), act as people, inject faults, and read what the bot
sent — see the package docstring for an example.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any, Self

from aiohttp import web

from . import methods
from .objects import CallbackAnswer, Message, User
from .people import Chat, Person
from .routing import Router
from .state import FAULT_KINDS, Fault, LogEntry, State, Webhook


class FakeBotAPI:
    """One fake bot's view of Telegram, served over HTTP while started."""

    def __init__(
        self,
        *,
        bot_id: int = 7_000_000_001,
        username: str = "hdbot_test_bot",
        first_name: str = "HD Bot",
        group_privacy: bool = True,
        hang_seconds: float = 6.0,
        webhook_retry_delay: float = 0.2,
    ) -> None:
        """Create a stopped server.

        group_privacy: the bot's group privacy mode (Telegram's default is on: in groups where
        it is not an admin the bot gets only commands and replies to itself).
        hang_seconds: how long an injected "timeout" holds a request; longer than the
        client's read timeout (PTB's default is 5 s).
        """
        self.token = f"{bot_id}:AA{secrets.token_urlsafe(25)}"
        self.bot = User(id=bot_id, first_name=first_name, username=username, is_bot=True)
        self.state = State(bot=self.bot, token=self.token, group_privacy=group_privacy)
        self._router = Router(
            self.state, hang_seconds=hang_seconds, webhook_retry_delay=webhook_retry_delay
        )
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._port: int | None = None

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

        self._thread = threading.Thread(target=run, name=f"fakebotapi-{self.id}", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop serving, end pending requests, free the port and join the thread."""
        if self._thread is None or self._loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
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
        # handler_cancellation: a client that gives up (read timeout, PTB stopping its poll)
        # ends the request here too, instead of leaving it to hang until shutdown.
        self._runner = web.AppRunner(
            self._router.app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None
        )
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self._webhook_task = asyncio.get_running_loop().create_task(self._router.deliver_webhooks())

    async def _shutdown(self) -> None:
        self._router.stopping = True
        self.state.updates_changed.notify()  # long polls return at once
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            await asyncio.gather(self._webhook_task, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()

    # --- addresses ------------------------------------------------------------------------

    @property
    def id(self) -> int:
        return self.bot.id

    @property
    def username(self) -> str:
        return self.bot.username or ""

    @property
    def url(self) -> str:
        """The server's root, e.g. http://127.0.0.1:40123."""
        if self._port is None:
            raise RuntimeError("the server is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """What ApplicationBuilder.base_url() takes (PTB appends the token)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What ApplicationBuilder.base_file_url() takes."""
        return f"{self.url}/file/bot"

    def env(self) -> dict[str, str]:
        """hdbot's environment variables pointing a bot process at this server."""
        return {
            "HDBOT_TOKEN": self.token,
            "HDBOT_BASE_URL": self.base_url,
            "HDBOT_BASE_FILE_URL": self.base_file_url,
        }

    # --- the world ------------------------------------------------------------------------

    def user(
        self,
        id: int | None = None,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> Person:
        """Create a person (and the private chat with the bot). language_code=None: no code."""
        with self.state.lock:
            user_id = id if id is not None else 100_000_000 + self.state.serial()
            if user_id in self.state.people:
                raise ValueError(f"user {user_id} exists")
            person = Person(
                self.state,
                id=user_id,
                first_name=first_name,
                last_name=last_name,
                username=username,
                language_code=language_code,
            )
            self.state.people[user_id] = person
            self.state.add_chat(person.private_chat)
            return person

    def group(
        self,
        title: str = "Test group",
        *,
        members: Iterable[Person] = (),
        admins: Iterable[Person] = (),
        creator: Person | None = None,
        bot_status: str = "member",
        supergroup: bool = False,
        username: str | None = None,
    ) -> Chat:
        """Create a group (or supergroup) the bot is already in, with these people in it."""
        with self.state.lock:
            base = 1_002_000_000_000 if supergroup else 4_000_000_000
            chat = Chat(
                self.state,
                id=-(base + self.state.serial()),
                type="supergroup" if supergroup else "group",
                title=title,
                username=username,
            )
            if creator is not None:
                chat.members[creator.id] = "creator"
            for person in admins:
                chat.members.setdefault(person.id, "administrator")
            for person in members:
                chat.members.setdefault(person.id, "member")
            chat.members[self.bot.id] = bot_status
            self.state.add_chat(chat)
            return chat

    def chat(self, chat_id: int) -> Chat:
        """The chat with this id (e.g. one the bot sent to)."""
        with self.state.lock:
            chat = self.state.chat_by_ref(chat_id)
        if chat is None:
            raise LookupError(f"no chat {chat_id}")
        return chat

    def route_webhook(self, host: str, address: str) -> None:
        """Post the webhook updates for https://`host`/… to http://`address`/… instead (e.g.
        "127.0.0.1:8443"): what a TLS-terminating reverse proxy in front of the bot receives."""
        self._router.webhook_hosts[host] = address

    # --- faults ---------------------------------------------------------------------------

    def inject(
        self,
        method: str | None = None,
        chat_id: int | Chat | None = None,
        kind: str = "429",
        *,
        times: int = 1,
        retry_after: int = 1,
        delay: float | None = None,
        delivered: bool = False,
        description: str | None = None,
    ) -> Fault:
        """Make the next ``times`` matching calls fail; faults are consumed in order.

        kind: "429" (RetryAfter with retry_after), "500", "502" (an nginx HTML page),
        "timeout" (hold the request ``delay`` or hang_seconds, then 502 — or, with
        delivered=True, perform it first and answer late), "403" (blocked by the user /
        kicked from the group), "chat_not_found".
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {FAULT_KINDS}")
        if method is not None and methods.canonical_name(method) is None:
            raise ValueError(f"unknown method {method!r}")
        fault = Fault(
            kind=kind,
            method=method.lower() if method else None,
            chat_id=chat_id.id if isinstance(chat_id, Chat) else chat_id,
            times=times,
            retry_after=retry_after,
            delay=delay,
            delivered=delivered,
            description=description,
        )
        with self.state.lock:
            self.state.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.state.lock:
            self.state.faults.clear()

    def redeliver_last_update(self) -> dict[str, object]:
        """Deliver the last update again with its id, as after a bot died before confirming it."""
        return self.state.redeliver_last()

    # --- reading --------------------------------------------------------------------------

    def requests(
        self, method: str | None = None, chat_id: int | Chat | None = None
    ) -> list[LogEntry]:
        """The request log, oldest first, optionally for one method and/or chat."""
        wanted_chat = chat_id.id if isinstance(chat_id, Chat) else chat_id
        with self.state.lock:
            return [
                entry
                for entry in self.state.log
                if (method is None or entry.method.lower() == method.lower())
                and (wanted_chat is None or entry.chat_id == wanted_chat)
            ]

    def peak_requests(
        self, window: float, method: str | None = None, chat_id: int | Chat | None = None
    ) -> int:
        """The most matching requests that arrived within any ``window`` seconds.

        For rate assertions: ``server.peak_requests(1.0, "sendMessage") <= 30``.
        """
        times = [entry.at for entry in self.requests(method, chat_id)]
        peak, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] >= window:
                start += 1
            peak = max(peak, end - start + 1)
        return peak

    def wait_for_message(
        self,
        chat: Chat,
        predicate: Callable[[Message], bool] | None = None,
        timeout: float = 5.0,
    ) -> Message:
        """Block for the bot's next untaken message in chat (async twin: chat.next_message())."""
        return chat.next_message_sync(predicate, within=timeout)

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        """The bot's answers to button presses, in the order of the presses."""
        with self.state.lock:
            presses = list(self.state.callback_queries.values())
        return [press.answer for press in presses if press.answer is not None]

    def commands(
        self, scope: str | dict[str, Any] | None = None, language_code: str = ""
    ) -> list[tuple[str, str]]:
        """The command menu set for a scope ("all_private_chats", {"type": "chat", ...})."""
        scope_dict = {"type": scope} if isinstance(scope, str) else scope
        with self.state.lock:
            key = methods.command_key(self.state, scope_dict, language_code)
            stored = self.state.commands.get(key, [])
        return [(entry["command"], entry["description"]) for entry in stored]

    def file_bytes(self, file_id: str) -> bytes:
        with self.state.lock:
            return self.state.files[file_id].data

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot."""
        with self.state.lock:
            return len(self.state.updates)

    @property
    def webhook(self) -> Webhook | None:
        return self.state.webhook
