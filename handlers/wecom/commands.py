"""WeCom's typed commands, and what a person who is not registered yet may do: register with an
invite code, read the welcome and the help."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.views.danger_view import list_message
from bot.views.reply import Say
from bot.views.report_words import report_kind, report_usage
from bot.views.start_view import stranger_hint, welcome_text
from bot.wecom.api import WeComError
from bot.wecom.incoming import MessageKind
from handlers.ledger import export_scope, ledger_answer, parse_period, stats_answer
from handlers.wecom.language import asks_language, lang_command, press_language
from storage import dialogue
from storage.accounts import Front
from storage.campaigns import get_campaign
from storage.conversation import clean
from storage.db import reading
from storage.dialogue import Cancelled
from storage.errors import DomainError
from storage.invites import looks_like_invite_code, redeem_invite
from storage.lists import list_dangers
from storage.people import Visitor
from storage.report import begin_report

if TYPE_CHECKING:
    from handlers.wecom.turn import Turn

logger = logging.getLogger(__name__)

LISTS = ("mine", "overdue", "find")
# app_user.name holds at most this many characters.
MAX_NAME = 200


async def answer_stranger(turn: Turn, command: str | None, argument: str) -> None:
    """An invite code (alone, or as /start CODE) registers; anything else gets the hint."""
    text = (turn.message.content or "").strip()
    if asks_language(turn, command):
        # Choosing a language is open to everybody, as on Telegram: the welcome and the
        # help are worth reading in one's own language before registering.
        if command == "lang":
            await lang_command(turn, argument)
        else:
            await press_language(turn, turn.message.event_key or "")
        return
    if turn.message.kind is MessageKind.TEXT:
        if command == "start" and argument:
            await register(turn, argument)
            return
        if command is None and looks_like_invite_code(text):
            await register(turn, text)
            return
        if command == "help":
            await turn.say(Say(turn.help()))
            return
        if command == "start":
            await welcome(turn)
            return
    await turn.say(Say(stranger_hint(turn._, front=Front.WECOM)))


async def register(turn: Turn, code: str) -> None:
    name = await name_of(turn)
    try:
        async with turn.front.sessions() as session:
            user = await redeem_invite(
                session,
                code=code,
                account=turn.account,
                name=name,
                username=None,
            )
    except DomainError as err:
        await turn.say(Say(turn._.error(err)))
        return
    turn.visitor = Visitor(user, turn.visitor.language)
    await welcome(turn)


async def name_of(turn: Turn) -> str:
    """The person's name from the corp's address book; their user id when it has none for us
    (an application may see only part of the address book) or cannot be asked just now."""
    try:
        name = await turn.front.client.user_name(turn.user_id)
    except WeComError as err:
        logger.info("no name for %s in the address book: %s", turn.user_id, err)
        return turn.user_id
    return clean(name)[:MAX_NAME] if name else turn.user_id


async def welcome(turn: Turn) -> None:
    async with turn.front.sessions() as session:
        campaign = await get_campaign(session)
    user = turn.visitor.user if turn.registered else None
    name = user.name if user is not None and user.name else turn.user_id
    text = welcome_text(turn._, user=user, name=name, campaign=campaign, front=Front.WECOM)
    await turn.say(Say(text))


async def run_command(turn: Turn, command: str, argument: str) -> None:
    """Run a typed /command; an unknown one gets a hint and the step the person stands at."""
    try:
        if command in LISTS:
            await list_command(turn, command, argument)
        elif command in _COMMANDS:
            await _COMMANDS[command](turn, argument)
        else:
            await turn.say(Say(turn._("I do not know that command. /help lists what I can do.")))
            await turn.where_they_stand()
    except DomainError as err:
        await turn.say(Say(turn._.error(err)))


async def start_command(turn: Turn, argument: str) -> None:
    if argument:
        await register(turn, argument)
    else:
        await welcome(turn)


async def help_command(turn: Turn, argument: str) -> None:
    await turn.say(Say(turn.help()))


async def list_command(turn: Turn, scope: str, query: str) -> None:
    async with turn.front.sessions() as session:
        page = await list_dangers(session, account=turn.account, scope=scope, query=query)
    await turn.say(list_message(turn._, page))


async def report_command(turn: Turn, word: str) -> None:
    kind = report_kind(word.split()[0] if word.split() else "")
    if kind is None:
        await turn.say(Say(report_usage(turn._)))
        return
    async with turn.front.sessions() as session:
        reply = await begin_report(
            session, account=turn.account, update_id=turn.update_id, kind=kind
        )
    await turn.show_report(reply)


async def cancel_command(turn: Turn, argument: str = "") -> None:
    async with turn.front.sessions() as session:
        outcome = await dialogue.cancel_drafts(
            session, account=turn.account, update_id=turn.update_id
        )
    if isinstance(outcome, Cancelled):
        assert outcome.action is not None  # cancel_drafts discards the report otherwise
        await turn.say(Say(turn._("Cancelled: {number}.", number=outcome.action.number)))
        return
    await turn.show_report(outcome)


async def stats_command(turn: Turn, argument: str) -> None:
    period = parse_period(argument.split())
    async with turn.front.heavy:
        replies = await stats_answer(
            reading(turn.front.sessions), account=turn.account, _=turn._, period=period
        )
    await turn.say(*replies)


async def export_command(turn: Turn, argument: str) -> None:
    sessions = reading(turn.front.sessions)
    scope = await export_scope(sessions, account=turn.account, args=argument.split())
    with tempfile.TemporaryDirectory() as folder:
        async with turn.front.heavy:
            document = await ledger_answer(sessions, scope, turn._, Path(folder))
        await turn.say(document)


_COMMANDS: dict[str, Callable[[Turn, str], Awaitable[None]]] = {
    "stats": stats_command,
    "export": export_command,
    "report": report_command,
    "cancel": cancel_command,
    "start": start_command,
    "help": help_command,
    "lang": lang_command,
}


def command_of(text: str) -> tuple[str | None, str]:
    """A command and its argument ("/find gas leak" → ("find", "gas leak")), or (None, "")."""
    text = text.strip()
    if not text.startswith("/") or len(text) < 2:
        return None, ""
    word, _, rest = text[1:].partition(" ")
    return word.split("@", 1)[0].lower(), rest.strip()
