"""What a reply is made of, as plain data: each front renders it in its own terms.

The views build these; handlers/telegram/render.py turns them into Bot API calls, and a
WeCom renderer into text, images and template cards. A reply is a list of them, sent in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from storage.dto import PhotoRef

# The tightest limit of any front on what a press gives back: Telegram's callback_data.
ACTION_BYTES = 64


@dataclass(frozen=True, slots=True)
class Button:
    """A choice to press; `action` is what the press gives back to the bot.

    Actions are the very strings buttons carried before replies were data: buttons already
    sitting in people's chats must keep working.
    """

    label: str
    action: str

    def __post_init__(self) -> None:
        if len(self.action.encode()) > ACTION_BYTES:
            raise ValueError(f"a button's action is longer than {ACTION_BYTES} bytes")


# Rows of buttons, top to bottom; no rows means nothing to press.
Buttons = tuple[tuple[Button, ...], ...]

# A stored photo (a front finds its own copy of it), or a picture drawn just now (PNG or JPEG).
Picture = PhotoRef | bytes


@dataclass(frozen=True, slots=True)
class Ask:
    """Ask for the person's location from their keyboard.

    `location` labels the button that shares it; each of `replies` comes back as typed text
    (the handler matches them in every language).
    """

    location: str
    replies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Document:
    """A file to hand over (the exported ledger), under the name the person sees."""

    path: Path
    filename: str


@dataclass(frozen=True, slots=True)
class Say:
    """One message: text with its buttons, or pictures or a document that the text captions.

    `photo` is one picture; `photos` an album (at most 10, the text on the first). `ask` puts
    a location request on the person's keyboard; `clear_ask` takes it away once answered.
    """

    text: str
    buttons: Buttons = ()
    photo: Picture | None = None
    photos: tuple[Picture, ...] = ()
    ask: Ask | None = None
    clear_ask: bool = False
    document: Document | None = None


@dataclass(frozen=True, slots=True)
class Edit:
    """Change the message whose button was pressed: its buttons (none: take them away), and
    its text when given. Paging and the summary's edit menu answer in place this way."""

    buttons: Buttons = ()
    text: str | None = None


Reply = Say | Edit


def grid(buttons: Sequence[Button], per_row: int) -> Buttons:
    """Lay buttons out `per_row` to a row."""
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))
