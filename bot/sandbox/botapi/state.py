"""All the fake Telegram knows, behind one lock: people, chats, files, updates, faults, logs.

The server thread (answering the bot) and the test thread (acting as people) both change
this state, so every read and write happens under ``State.lock``. Two signals tell the other
side something changed: ``updates_changed`` (a new update for the bot; wakes getUpdates and
webhook delivery) and ``bot_acted`` (the bot sent, edited, deleted or answered something;
wakes tests waiting for the bot).
"""

from __future__ import annotations

import itertools
import secrets
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from storage.clock import utcnow

from . import images
from .objects import JSON, FileRecord, User
from .waiting import Signal

if TYPE_CHECKING:
    from .people import CallbackPress, Chat, Person

# What getUpdates delivers when allowed_updates was never set (or set to []).
DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "callback_query",
        "inline_query",
        "chosen_inline_result",
        "my_chat_member",
        "chat_join_request",
    }
)

FAULT_KINDS = ("429", "500", "502", "timeout", "403", "chat_not_found")

_FILE_ID_PREFIX = {
    "photo": "AgAC",
    "document": "BQAC",
    "thumbnail": "AAMC",
    "sticker": "CAAC",
    "voice": "AwAC",
}
_FILE_FOLDER = {
    "photo": "photos",
    "document": "documents",
    "thumbnail": "thumbnails",
    "sticker": "stickers",
    "voice": "voice",
}


class ApiError(Exception):
    """A Bot API error answer: raised by a method, rendered by the router as JSON."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def to_api(self) -> JSON:
        data: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            data["parameters"] = self.parameters
        return data


def bad_request(reason: str, parameters: JSON | None = None) -> ApiError:
    """A 400 with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {reason}", parameters)


@dataclass
class Fault:
    """An injected failure; consumed in order by matching requests, ``times`` counting down."""

    kind: str
    method: str | None  # lower-case Bot API method name; None matches every method
    chat_id: int | None  # None matches every chat (and requests without one)
    times: int = 1
    retry_after: int = 1
    delay: float | None = None  # "timeout": seconds to hang; None uses the server default
    delivered: bool = False  # "timeout": perform the call before hanging (it did get through)
    description: str | None = None


@dataclass(frozen=True)
class LogEntry:
    """One request the bot made, for rate and retry assertions."""

    at: float  # time.monotonic() on arrival
    method: str  # canonical Bot API name, e.g. "sendMessage"
    chat_id: int | str | None
    ok: bool
    error_code: int | None
    fault: str | None = None  # the injected fault kind, if one answered


def most_within(entries: list[LogEntry], window: float) -> int:
    """The most requests that arrived within any `window` seconds (Telegram's rate windows)."""
    times = sorted(e.at for e in entries)
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


@dataclass
class Webhook:
    """The webhook set with setWebhook, and how delivery to it is going."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None
    delivered: int = 0


class State:
    """The whole fake Telegram, as seen by one bot."""

    def __init__(self, *, bot: User, token: str, group_privacy: bool = True) -> None:
        self.bot = bot
        self.token = token
        self.group_privacy = group_privacy
        self.lock = threading.RLock()
        self.updates_changed = Signal(self.lock)
        self.bot_acted = Signal(self.lock)
        self.people: dict[int, Person] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, FileRecord] = {}
        self.files_by_path: dict[str, FileRecord] = {}
        self.photo_sets: dict[str, list[FileRecord]] = {}
        self.updates: list[JSON] = []
        self.pushed: list[JSON] = []  # every update ever queued, for redelivery
        self.allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self.callback_queries: dict[str, CallbackPress] = {}
        self.faults: list[Fault] = []
        self.log: list[LogEntry] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.webhook: Webhook | None = None
        self.poll_generation = 0  # bumped by each getUpdates; an older poll sees a conflict
        self._update_ids = itertools.count(100001)
        self._serial = itertools.count(1)

    def serial(self) -> int:
        """A fresh number for ids that only need to be unique."""
        return next(self._serial)

    # --- people and chats -----------------------------------------------------------------

    def add_chat(self, chat: Chat) -> None:
        self.chats[chat.id] = chat

    def chat_by_ref(self, ref: int | str) -> Chat | None:
        """Find a chat by id or by "@username", as chat_id parameters may name it."""
        if isinstance(ref, str) and ref.startswith("@"):
            name = ref[1:].lower()
            return next(
                (c for c in self.chats.values() if (c.username or "").lower() == name), None
            )
        try:
            return self.chats.get(int(ref))
        except ValueError:
            return None

    # --- files ----------------------------------------------------------------------------

    def add_file(self, data: bytes, kind: str, **details: Any) -> FileRecord:
        """Store bytes under a fresh file_id shaped like Telegram's."""
        n = self.serial()
        record = FileRecord(
            file_id=f"{_FILE_ID_PREFIX[kind]}{n:06d}{secrets.token_urlsafe(12)}",
            file_unique_id=f"AQAD{n:06d}",
            data=data,
            kind=kind,
            **details,
        )
        self.files[record.file_id] = record
        return record

    def add_photo(self, data: bytes) -> list[FileRecord]:
        """Store an image the way Telegram stores a compressed photo; ValueError if no image."""
        sizes = [
            self.add_file(encoded.data, "photo", width=encoded.width, height=encoded.height)
            for encoded in images.compress_photo(data)
        ]
        for size in sizes:
            self.photo_sets[size.file_id] = sizes
        return sizes

    def add_document(self, data: bytes, file_name: str | None, mime_type: str | None) -> FileRecord:
        """Store a file byte for byte, with a thumbnail when it is an image."""
        document = self.add_file(data, "document", file_name=file_name, mime_type=mime_type)
        preview = images.thumbnail(data) if (mime_type or "").startswith("image/") else None
        if preview is not None:
            document.thumbnail = self.add_file(
                preview.data, "thumbnail", width=preview.width, height=preview.height
            )
        return document

    def file_path(self, record: FileRecord) -> str:
        """Give a file its download path, once, as getFile does."""
        if record.file_path is None:
            suffix = ""
            if record.file_name and "." in record.file_name:
                suffix = "." + record.file_name.rsplit(".", 1)[1]
            elif record.kind in ("photo", "thumbnail"):
                suffix = ".jpg"
            elif record.kind == "voice":
                suffix = ".oga"
            elif record.kind == "sticker":
                suffix = ".webp"
            record.file_path = f"{_FILE_FOLDER[record.kind]}/file_{self.serial()}{suffix}"
            self.files_by_path[record.file_path] = record
        return record.file_path

    # --- updates --------------------------------------------------------------------------

    def push_update(self, kind: str, payload: JSON) -> JSON:
        """Queue an update for the bot and wake whoever waits for one."""
        with self.lock:
            update = {"update_id": next(self._update_ids), kind: payload}
            self.pushed.append(update)
            self.updates.append(update)
            self.updates_changed.notify()
            return update

    def redeliver_last(self) -> JSON:
        """Queue the last update again, same id: what a bot sees when it died before confirming."""
        with self.lock:
            if not self.pushed:
                raise LookupError("no update was ever queued")
            update = self.pushed[-1]
            if all(u["update_id"] != update["update_id"] for u in self.updates):
                self.updates.append(update)
                self.updates.sort(key=lambda u: int(u["update_id"]))
            self.updates_changed.notify()
            return update

    def take_updates(self, offset: int | None, limit: int) -> list[JSON]:
        """Confirm updates before offset, then return up to limit of the allowed ones."""
        if offset:
            if offset > 0:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            else:
                self.updates = self.updates[offset:]
        # Updates of types the bot did not ask for are never delivered: drop them.
        self.updates = [u for u in self.updates if _update_kind(u) in self.allowed_updates]
        return self.updates[:limit]

    # --- faults and the request log -------------------------------------------------------

    def take_fault(self, method: str, chat_id: int | None) -> Fault | None:
        """Consume one use of the first fault matching this call, if any."""
        for fault in self.faults:
            if fault.method not in (None, method.lower()):
                continue
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            fault.times -= 1
            if fault.times <= 0:
                self.faults.remove(fault)
            return fault
        return None

    def record(self, entry: LogEntry) -> None:
        self.log.append(entry)


def _update_kind(update: JSON) -> str:
    return next(key for key in update if key != "update_id")


def now() -> int:
    """Unix time as the Bot API's date fields carry it, on hdbot's clock (tests move it)."""
    return int(utcnow().timestamp())
