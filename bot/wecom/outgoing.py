"""What the application sends to a person: text, an image, a file, a card of buttons; checked first.

Each message is checked against WeCom's limits when it is made, so a message WeCom would
refuse (or cut short) never reaches the network: the conversation core learns at once that
a list must be paged, or a title shortened. The limits are the documented ones for
`message/send` (text) and for template cards of the button-interaction kind, where the
documentation gives lengths in characters ("建议不超过36个字") and bytes for keys and ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# Text: at most 2,048 bytes of UTF-8 (WeCom cuts a longer text).
TEXT_LIMIT_BYTES = 2048
# A button-interaction card: its title and the line under it, its body text, its buttons.
CARD_TITLE_LIMIT = 36
CARD_DESCRIPTION_LIMIT = 44
CARD_TEXT_LIMIT = 160
BUTTONS_LIMIT = 6
BUTTON_TEXT_LIMIT = 10
BUTTON_KEY_LIMIT_BYTES = 1024
BUTTON_STYLES = range(1, 5)  # WeCom's four button colours; 1 is its default
# A card's task id: unique within the application, letters, digits and _-@, 128 bytes at most.
_TASK_ID = re.compile(r"[A-Za-z0-9_\-@]{1,128}")

JsonObject = dict[str, object]


@dataclass(frozen=True, slots=True)
class TextMessage:
    """A text message."""

    content: str

    def __post_init__(self) -> None:
        if not self.content.strip():
            raise ValueError("a text message needs content")
        size = len(self.content.encode("utf-8"))
        if size > TEXT_LIMIT_BYTES:
            raise ValueError(f"text is {size} bytes of UTF-8; WeCom takes {TEXT_LIMIT_BYTES}")

    def body(self) -> JsonObject:
        """Return the message's part of a `message/send` request."""
        return {"msgtype": "text", "text": {"content": self.content}}


@dataclass(frozen=True, slots=True)
class ImageMessage:
    """An image already uploaded with `media/upload` (its media_id lives three days)."""

    media_id: str

    def __post_init__(self) -> None:
        if not self.media_id:
            raise ValueError("an image message needs a media_id")

    def body(self) -> JsonObject:
        """Return the message's part of a `message/send` request."""
        return {"msgtype": "image", "image": {"media_id": self.media_id}}


def text_pieces(text: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """Cut a text into pieces of at most `limit` bytes of UTF-8, at line ends where it can.

    A line too long for one message is cut between characters. Blank pieces are left out:
    WeCom refuses a text message without content.
    """
    pieces: list[str] = []
    current = ""
    for line in _lines_within(text, limit):
        joined = f"{current}\n{line}" if current else line
        if len(joined.encode("utf-8")) <= limit:
            current = joined
            continue
        pieces.append(current)
        current = line
    pieces.append(current)
    return [piece for piece in pieces if piece.strip()]


def _lines_within(text: str, limit: int) -> Iterator[str]:
    for line in text.split("\n"):
        while len(line.encode("utf-8")) > limit:
            cut = limit
            # Back off to a character boundary: UTF-8 continuation bytes are 0b10xxxxxx.
            encoded = line.encode("utf-8")
            while encoded[cut] & 0xC0 == 0x80:
                cut -= 1
            yield encoded[:cut].decode("utf-8")
            line = encoded[cut:].decode("utf-8")
        yield line


@dataclass(frozen=True, slots=True)
class FileMessage:
    """A file already uploaded with `media/upload?type=file` (its media_id lives three days)."""

    media_id: str

    def __post_init__(self) -> None:
        if not self.media_id:
            raise ValueError("a file message needs a media_id")

    def body(self) -> JsonObject:
        """Return the message's part of a `message/send` request."""
        return {"msgtype": "file", "file": {"media_id": self.media_id}}


@dataclass(frozen=True, slots=True)
class Button:
    """A button of a card: its label, and the key WeCom sends back when it is pressed."""

    text: str
    key: str
    style: int = 1

    def __post_init__(self) -> None:
        if not self.text or len(self.text) > BUTTON_TEXT_LIMIT:
            raise ValueError(f"a button's text is 1 to {BUTTON_TEXT_LIMIT} characters")
        if not self.key or len(self.key.encode("utf-8")) > BUTTON_KEY_LIMIT_BYTES:
            raise ValueError(f"a button's key is 1 to {BUTTON_KEY_LIMIT_BYTES} bytes")
        if self.style not in BUTTON_STYLES:
            raise ValueError("a button's style is 1, 2, 3 or 4")

    def body(self) -> JsonObject:
        """Return the button as WeCom's `button_list` takes it."""
        return {"type": 0, "text": self.text, "key": self.key, "style": self.style}


@dataclass(frozen=True, slots=True)
class ButtonCard:
    """A template card of the button-interaction kind: a choice of at most six buttons.

    `task_id` names the card for its whole life (WeCom refuses a task id used before), and
    comes back with every press, beside the pressed button's key.
    """

    title: str
    description: str
    buttons: Sequence[Button]
    task_id: str
    text: str = ""

    def __post_init__(self) -> None:
        # A tuple, so that a card is a value: the caller's list may change after it is made.
        object.__setattr__(self, "buttons", tuple(self.buttons))
        if not self.title or len(self.title) > CARD_TITLE_LIMIT:
            raise ValueError(f"a card's title is 1 to {CARD_TITLE_LIMIT} characters")
        if len(self.description) > CARD_DESCRIPTION_LIMIT:
            raise ValueError(f"a card's description is at most {CARD_DESCRIPTION_LIMIT} characters")
        if len(self.text) > CARD_TEXT_LIMIT:
            raise ValueError(f"a card's text is at most {CARD_TEXT_LIMIT} characters")
        if not 1 <= len(self.buttons) <= BUTTONS_LIMIT:
            raise ValueError(f"a card has 1 to {BUTTONS_LIMIT} buttons, not {len(self.buttons)}")
        keys = [button.key for button in self.buttons]
        if len(set(keys)) != len(keys):
            raise ValueError("a card's buttons need different keys")
        if not _TASK_ID.fullmatch(self.task_id):
            raise ValueError("a task id is 1 to 128 letters, digits and _-@")

    def template_card(self) -> JsonObject:
        """Return the card as WeCom's `template_card` object."""
        main_title: JsonObject = {"title": self.title}
        if self.description:
            main_title["desc"] = self.description
        card: JsonObject = {
            "card_type": "button_interaction",
            "main_title": main_title,
            "task_id": self.task_id,
            "button_list": [button.body() for button in self.buttons],
        }
        if self.text:
            card["sub_title_text"] = self.text
        return card

    def body(self) -> JsonObject:
        """Return the message's part of a `message/send` request."""
        return {"msgtype": "template_card", "template_card": self.template_card()}

    def update_body(self) -> JsonObject:
        """Return the update's part of an `update_template_card` request (a new card)."""
        return {"template_card": self.template_card()}


@dataclass(frozen=True, slots=True)
class ButtonState:
    """After a press: every button of the card greyed out, showing this label instead."""

    label: str

    def __post_init__(self) -> None:
        if not self.label or len(self.label) > BUTTON_TEXT_LIMIT:
            raise ValueError(f"a button's label is 1 to {BUTTON_TEXT_LIMIT} characters")

    def update_body(self) -> JsonObject:
        """Return the update's part of an `update_template_card` request."""
        return {"button": {"replace_name": self.label}}


OutgoingMessage = TextMessage | ImageMessage | FileMessage | ButtonCard
CardUpdate = ButtonCard | ButtonState
