"""Presses on a WeCom card's buttons: each key is the action a Telegram button carries, and
storage/dialogue.py says what it means."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.views.danger_view import (
    list_message,
    parse_action_button,
    parse_list_callback,
    photos_answer,
    pressed_card,
)
from bot.views.reply import Edit, Say
from bot.views.report_view import task_keyboard
from bot.views.report_words import parse_button
from handlers.wecom.language import press_language
from storage import dialogue
from storage.dialogue import Cancelled
from storage.errors import DomainError
from storage.lists import list_dangers
from storage.report import HELD_ANSWERS

if TYPE_CHECKING:
    from handlers.wecom.turn import Turn


async def press(turn: Turn, key: str) -> None:
    """A press on a card's button: its key is the action a Telegram button carries."""
    prefix, colon, _ = key.partition(":")
    pressed = _PRESSES.get(prefix) if colon else None
    try:
        if pressed is None:
            await turn.say(Say(turn._("This button is not valid.")))
        else:
            await pressed(turn, key)
    except DomainError as err:
        await turn.say(Say(turn._.error(err)))


async def press_report(turn: Turn, key: str) -> None:
    parsed = parse_button(key)
    if parsed is None:
        await turn.say(Say(turn._("This button is not valid.")))
        return
    draft_id, action = parsed
    async with turn.front.sessions() as session:
        reply = await dialogue.press_report_button(
            session,
            account=turn.account,
            update_id=turn.update_id,
            draft_id=draft_id,
            action=action,
            rules=turn.front.report_rules,
        )
    if action.startswith(("page:", "all")) and reply.tasks is not None and not reply.notices:
        # Paging changes the card in place instead of sending a new one.
        keyboard = task_keyboard(turn._, draft_id, reply.tasks, reply.likely_tasks)
        await turn.say(Edit(keyboard), pressed=True)
        return
    if not reply.notices or action in HELD_ANSWERS:
        # The answer is taken: its buttons must not be pressed again.
        await turn.say(Edit(), pressed=True)
    await turn.show_report(reply)


async def press_card(turn: Turn, key: str) -> None:
    pressed = pressed_card(key)
    if pressed is None:
        await turn.say(Say(turn._("This button is not valid.")))
        return
    danger_id, what = pressed
    async with turn.front.sessions() as session:
        reply = await dialogue.press_card_button(
            session,
            account=turn.account,
            update_id=turn.update_id,
            danger_id=danger_id,
            what=what,
            rules=turn.front.loop_rules,
        )
    if what == "photos" and reply.detail is not None:
        photo_dir = turn.front.settings.photo_dir
        await turn.say(*await photos_answer(turn._, reply.detail, photo_dir=photo_dir))
        return
    await turn.show_loop(reply, verifier_image=what == "open")


async def press_action(turn: Turn, key: str) -> None:
    parsed = parse_action_button(key)
    if parsed is None:
        await turn.say(Say(turn._("This button is not valid.")))
        return
    async with turn.front.sessions() as session:
        reply = await dialogue.press_action_button(
            session,
            account=turn.account,
            update_id=turn.update_id,
            draft_id=parsed[0],
            button=parsed[1],
            rules=turn.front.loop_rules,
        )
    if isinstance(reply, Cancelled):
        said = (
            turn._("Cancelled: {number}.", number=reply.action.number)
            if reply.action
            else turn._("There was nothing to cancel.")
        )
        await turn.say(Edit(), Say(said), pressed=True)
        return
    if not reply.notices:
        await turn.say(Edit(), pressed=True)
    await turn.show_loop(reply)


async def press_list(turn: Turn, key: str) -> None:
    parsed = parse_list_callback(key)
    if parsed is None:
        await turn.say(Say(turn._("This button is not valid.")))
        return
    scope, page_number, query = parsed
    async with turn.front.sessions() as session:
        page = await list_dangers(
            session, account=turn.account, scope=scope, query=query, page=page_number
        )
    listed = list_message(turn._, page)
    await turn.say(Edit(listed.buttons, text=listed.text), pressed=True)


# What each kind of button's key starts with, as storage/dialogue.py and the views spell it.
_PRESSES: dict[str, Callable[[Turn, str], Awaitable[None]]] = {
    "r": press_report,
    "d": press_card,
    "a": press_action,
    "l": press_list,
    "lang": press_language,
}
