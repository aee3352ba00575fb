"""Replies in WeCom's terms: the views' plain data (bot/views/reply.py) as application messages.

The twin of handlers/telegram/render.py, within what a WeCom self-built application can send:

- A `Say` is its text (cut at line ends into messages of at most 2,048 bytes), then its
  pictures and its document, then its buttons. WeCom has no captions: the text always goes
  first, on its own.
- Buttons become template cards of the button-interaction kind, six buttons a card (WeCom's
  most), in order; a button's action is its key, its label shortened to WeCom's ten
  characters. Every card gets a task id of its own: WeCom refuses one used before.
- WeCom has no location button and no reply keyboard: an `Ask` becomes a line under the text
  saying how to share a location, and which words may be typed instead. `clear_ask` has
  nothing to take away.
- An `Edit` changes the card whose button was pressed (`Pressed`): new buttons take its place,
  none grey it out under a "Done" label. A sent text cannot be changed in WeCom, so the edit's
  text comes as a new message.
- A picture or a document WeCom will not take costs the person only that picture or document.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bot.i18n import Translator
from bot.views.cards import stored_jpeg
from bot.views.labels import shorten
from bot.views.reply import Ask, Button, Buttons, Document, Edit, Picture, Say
from bot.wecom.api import WeComBusy, WeComClient, WeComError
from bot.wecom.outgoing import (
    BUTTON_TEXT_LIMIT,
    BUTTONS_LIMIT,
    ButtonCard,
    ButtonState,
    FileMessage,
    ImageMessage,
    TextMessage,
    text_pieces,
)
from bot.wecom.outgoing import Button as CardButton

logger = logging.getLogger(__name__)

_PNG = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True, slots=True)
class Pressed:
    """What a press on a card gave: the card's task id and the code that may update it once."""

    task_id: str
    response_code: str


class WeComRenderer:
    """Send replies to one WeCom user through the application's API."""

    def __init__(
        self,
        client: WeComClient,
        *,
        photo_dir: Path,
        translator_for: Callable[[str], Translator] | None = None,
    ) -> None:
        self.client = client
        self.photo_dir = photo_dir
        self._translator_for = translator_for or Translator

    async def send(
        self,
        user_id: str,
        replies: Sequence[Say | Edit],
        *,
        language: str,
        pressed: Pressed | None = None,
    ) -> None:
        """Send the replies in order; an `Edit` changes the card of the button `pressed`."""
        _ = self._translator_for(language)
        for reply in replies:
            if isinstance(reply, Edit):
                if pressed is None:
                    raise ValueError("an Edit changes the card of a pressed button: none given")
                await self._edit(user_id, reply, pressed, _)
            else:
                await self._say(user_id, reply, _)

    async def _say(self, user_id: str, say: Say, _: Translator) -> None:
        lines, buttons = legend(say.buttons)
        text = "\n".join([say.text, *lines])
        if say.ask is not None:
            text = "\n".join([text, *ask_lines(_, say.ask)])
        await self._text(user_id, text)
        pictures = (say.photo,) if say.photo is not None else say.photos
        for picture in pictures:
            await self._picture(user_id, picture)
        if say.document is not None:
            await self._document(user_id, say.document)
        await self._cards(user_id, button_cards(_, buttons))

    async def _text(self, user_id: str, text: str) -> None:
        for piece in text_pieces(text):
            await self.client.send(user_id, TextMessage(piece))

    async def _cards(self, user_id: str, cards: Sequence[ButtonCard]) -> None:
        for card in cards:
            await self.client.send(user_id, card)

    async def _picture(self, user_id: str, picture: Picture) -> None:
        data = picture if isinstance(picture, bytes) else await stored_jpeg(picture, self.photo_dir)
        if data is None:
            logger.warning("a photo to %s is not stored here; left out", user_id)
            return
        is_png = data.startswith(_PNG)
        try:
            media_id = await self.client.upload_image(
                data,
                filename="picture.png" if is_png else "photo.jpg",
                content_type="image/png" if is_png else "image/jpeg",
            )
            await self.client.send(user_id, ImageMessage(media_id))
        except WeComBusy:
            raise  # the whole answer waits for WeCom, not only the picture
        except (WeComError, ValueError) as err:
            logger.warning("a picture to %s was refused (%s); left out", user_id, err)

    async def _document(self, user_id: str, document: Document) -> None:
        data = await asyncio.to_thread(document.path.read_bytes)
        kind = mimetypes.guess_type(document.filename)[0] or "application/octet-stream"
        try:
            media_id = await self.client.upload_file(
                data, filename=document.filename, content_type=kind
            )
            await self.client.send(user_id, FileMessage(media_id))
        except WeComBusy:
            raise
        except (WeComError, ValueError) as err:
            logger.warning("a document to %s was refused (%s); left out", user_id, err)

    async def _edit(self, user_id: str, edit: Edit, pressed: Pressed, _: Translator) -> None:
        # The pressed card keeps its task id: it is the same card, shown anew.
        buttons = edit.buttons
        text = edit.text
        if text is not None:
            # The text comes anew: it can carry the long labels too (a page of a list).
            lines, buttons = legend(edit.buttons)
            text = "\n".join([text, *lines])
        cards = button_cards(_, buttons, first_task_id=pressed.task_id)
        in_place, after = (cards[0], cards[1:]) if cards else (None, [])
        done = ButtonState(button_text(_("Done")))
        try:
            await self.client.update_card(
                userids=[user_id],
                response_code=pressed.response_code,
                to=in_place if in_place is not None else done,
            )
        except WeComBusy:
            raise
        except WeComError as err:
            # The press's code is good for one update within 72 hours; a second press on the
            # same card, or a late one, cannot change it. New buttons then come as a new card.
            logger.warning("the pressed card of %s could not be updated (%s)", user_id, err)
            if in_place is not None:
                after = [replace(in_place, task_id=new_task_id()), *after]
        if text is not None:
            await self._text(user_id, text)
        await self._cards(user_id, after)


def legend(buttons: Buttons) -> tuple[list[str], Buttons]:
    """Labels too long for a WeCom button, numbered in the text and on their buttons.

    A list's buttons ("🆕 DL-2026-000123 工厂…") say which record they open; cut to WeCom's
    ten characters they would all read alike, so the text lists them whole by number.
    """
    if all(len(b.label) <= BUTTON_TEXT_LIMIT for row in buttons for b in row):
        return [], buttons
    lines: list[str] = []
    rows = []
    for row in buttons:
        out = []
        for button in row:
            if len(button.label) > BUTTON_TEXT_LIMIT:
                lines.append(f"{len(lines) + 1}. {button.label}")
                button = replace(button, label=f"{len(lines)}. {button.label}")
            out.append(button)
        rows.append(tuple(out))
    return lines, tuple(rows)


def ask_lines(_: Translator, ask: Ask) -> list[str]:
    """How to answer a request for the location in WeCom, which has no button for it."""
    lines = [_("Send a location: + → Location, or type the address")]
    if ask.replies:
        lines.append(_("Or type: {words}", words=" / ".join(ask.replies)))
    return lines


def button_cards(
    _: Translator, buttons: Buttons, *, first_task_id: str | None = None
) -> list[ButtonCard]:
    """The buttons as cards of at most six, in order; each card a new task id (the first
    `first_task_id` when given)."""
    flat = _distinct([button for row in buttons for button in row])
    chunks = [flat[i : i + BUTTONS_LIMIT] for i in range(0, len(flat), BUTTONS_LIMIT)]
    cards = []
    for n, chunk in enumerate(chunks, start=1):
        title = _("Choose:") if len(chunks) == 1 else _("Choose ({n}/{of}):", n=n, of=len(chunks))
        cards.append(
            ButtonCard(
                title=shorten(title, 36),
                description="",
                buttons=[CardButton(button_text(b.label) or "…", b.action) for b in chunk],
                task_id=first_task_id if n == 1 and first_task_id else new_task_id(),
            )
        )
    return cards


def button_text(label: str) -> str:
    """A label cut to WeCom's ten characters as WeCom counts them (an emoji is one; Telegram's
    count, `shorten`'s, makes it two, and a label then lost a character the legend kept)."""
    if len(label) <= BUTTON_TEXT_LIMIT:
        return label
    return label[: BUTTON_TEXT_LIMIT - 1] + "…"


def new_task_id() -> str:
    """A task id no card had before: WeCom refuses to send a second card under one."""
    return "hd" + secrets.token_hex(16)


def _distinct(buttons: list[Button]) -> list[Button]:
    # A card's keys must differ; two buttons with one action do the same thing anyway.
    seen: set[str] = set()
    out = []
    for button in buttons:
        if button.action not in seen:
            seen.add(button.action)
            out.append(button)
    return out
