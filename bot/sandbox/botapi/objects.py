"""The things the fake stores — users, files, messages — and their Bot API JSON shapes.

Messages are kept as live records (edits change them in place and are recorded), and are
rendered to Bot API dicts only when a response or an update needs them. Tests read the
records directly: ``message.text``, ``message.inline_keyboard``, ``message.edits``, ...
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from storage.clock import utcnow

if TYPE_CHECKING:
    from .people import Chat

JSON = dict[str, Any]


@dataclass(eq=False)
class User:
    """A Telegram account: the bot itself, or (as Person) someone a test acts as."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def to_api(self) -> JSON:
        data: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code and not self.is_bot:
            data["language_code"] = self.language_code
        return data


@dataclass(eq=False)
class FileRecord:
    """One stored file: what getFile describes and the download route serves."""

    file_id: str
    file_unique_id: str
    data: bytes
    kind: str  # photo, document, thumbnail, sticker, voice
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    file_path: str | None = None  # given out by getFile, as Telegram does
    thumbnail: FileRecord | None = None  # the preview of an image sent as a document

    @property
    def size(self) -> int:
        return len(self.data)

    def photo_size(self) -> JSON:
        """Render as a Bot API PhotoSize."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
            "file_size": self.size,
        }


@dataclass(frozen=True)
class Edit:
    """A message's content after one edit by the bot."""

    method: str
    at: float
    text: str | None
    caption: str | None
    reply_markup: JSON | None


@dataclass(eq=False)
class Message:
    """A message in a chat, sent by a person or by the bot."""

    message_id: int
    chat: Chat
    sender: User
    from_bot: bool
    date: int = field(default_factory=lambda: int(utcnow().timestamp()))
    text: str | None = None
    entities: list[JSON] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[JSON] = field(default_factory=list)
    parse_mode: str | None = None
    photo: list[FileRecord] | None = None  # smallest first
    document: FileRecord | None = None
    location: tuple[float, float] | None = None
    venue: tuple[str, str] | None = None  # (title, address)
    sticker: FileRecord | None = None
    voice: FileRecord | None = None
    reply_markup: JSON | None = None
    media_group_id: str | None = None
    reply_to: Message | None = None
    service: JSON = field(default_factory=dict)  # new_chat_members, migrate_to_chat_id, ...
    edits: list[Edit] = field(default_factory=list)
    edit_date: int | None = None
    deleted: bool = False
    consumed: bool = False  # taken by a test's next_message()

    # --- what a person sees --------------------------------------------------------------

    @property
    def visible_text(self) -> str:
        """The text or the caption, whichever the message has."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def inline_keyboard(self) -> list[list[tuple[str, str]]]:
        """Rows of (button text, callback_data or url) of the current inline keyboard."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[(button["text"], _button_target(button)) for button in row] for row in rows]

    @property
    def buttons(self) -> list[str]:
        """All inline button texts, row by row."""
        return [text for row in self.inline_keyboard for text, _ in row]

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """Rows of button texts if the message set a reply keyboard."""
        rows = (self.reply_markup or {}).get("keyboard")
        if rows is None:
            return None
        return [[button["text"] for button in row] for row in rows]

    @property
    def removes_keyboard(self) -> bool:
        return bool((self.reply_markup or {}).get("remove_keyboard"))

    @property
    def forces_reply(self) -> bool:
        return bool((self.reply_markup or {}).get("force_reply"))

    @property
    def photo_bytes(self) -> bytes | None:
        """The largest size of the photo, as a person would download it."""
        return self.photo[-1].data if self.photo else None

    @property
    def document_bytes(self) -> bytes | None:
        return self.document.data if self.document else None

    def find_button(self, label: str) -> JSON:
        """The inline button whose text or callback_data is label; LookupError if none."""
        for row in (self.reply_markup or {}).get("inline_keyboard") or []:
            for button in row:
                if label in (button.get("text"), button.get("callback_data")):
                    return dict(button)
        raise LookupError(
            f"message {self.message_id} has no inline button {label!r}; "
            f"it has {self.inline_keyboard}"
        )

    # --- Bot API shape -------------------------------------------------------------------

    def to_api(self, *, with_reply: bool = True) -> JSON:
        """Render as a Bot API Message."""
        data: JSON = {
            "message_id": self.message_id,
            "from": self.sender.to_api(),
            "chat": self.chat.to_api(),
            "date": self.date,
        }
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if self.media_group_id:
            data["media_group_id"] = self.media_group_id
        if self.reply_to is not None and with_reply:
            data["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = self.entities
        if self.photo:
            data["photo"] = [size.photo_size() for size in self.photo]
        if self.document is not None:
            document: JSON = {
                "file_id": self.document.file_id,
                "file_unique_id": self.document.file_unique_id,
                "file_size": self.document.size,
            }
            if self.document.file_name:
                document["file_name"] = self.document.file_name
            if self.document.mime_type:
                document["mime_type"] = self.document.mime_type
            if self.document.thumbnail is not None:
                document["thumbnail"] = self.document.thumbnail.photo_size()
            data["document"] = document
        if self.sticker is not None:
            data["sticker"] = {
                **self.sticker.photo_size(),
                "type": "regular",
                "is_animated": False,
                "is_video": False,
                "emoji": self.sticker.file_name or "👍",
            }
        if self.voice is not None:
            data["voice"] = {
                "file_id": self.voice.file_id,
                "file_unique_id": self.voice.file_unique_id,
                "duration": self.voice.width or 1,
                "mime_type": self.voice.mime_type,
                "file_size": self.voice.size,
            }
        if self.caption:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = self.caption_entities
        if self.location is not None:
            location = {"latitude": self.location[0], "longitude": self.location[1]}
            data["location"] = location
            if self.venue is not None:
                data["venue"] = {
                    "location": location,
                    "title": self.venue[0],
                    "address": self.venue[1],
                }
        # Only inline keyboards travel with the message; reply keyboards stay on the client.
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            data["reply_markup"] = self.reply_markup
        data.update(self.service)
        return data

    def __repr__(self) -> str:
        who = "bot" if self.from_bot else self.sender.first_name
        flags = " deleted" if self.deleted else ""
        return f"<Message {self.chat.id}/{self.message_id} from {who}{flags}: {self.summary()!r}>"

    def summary(self) -> str:
        """A one-line description for failure messages."""
        parts = [self.visible_text]
        if self.photo:
            parts.append("[photo]")
        if self.document:
            parts.append(f"[document {self.document.file_name}]")
        if self.location:
            parts.append(f"[location {self.location}]")
        if self.inline_keyboard:
            parts.append(f"buttons={self.buttons}")
        return " ".join(part for part in parts if part)


def _button_target(button: JSON) -> str:
    for key in ("callback_data", "url", "switch_inline_query", "copy_text"):
        if key in button:
            value = button[key]
            return value["text"] if isinstance(value, dict) else str(value)
    return ""


@dataclass(frozen=True)
class CallbackAnswer:
    """What the bot said when answering a button press (answerCallbackQuery)."""

    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int
