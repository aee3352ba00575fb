"""The Application factory: wires settings, storage and handlers into python-telegram-bot."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot, Update
from telegram.error import Forbidden, NetworkError, TelegramError
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.config import Settings
from bot.context import BotContext, BotServices, HdApplication
from bot.housekeeping import FIRST_AFTER, FORGET_EVERY, forget_old
from bot.i18n import Translator, language_for
from bot.intake.inbox import DurableQueue, adopt_left_over
from bot.intake.inbox_order import InboxOrder
from bot.intake.updates import OrderedUpdateProcessor
from bot.push.pacing import AnswerLimiter, Pacer
from bot.push.schedule import start_schedule
from bot.push.sender import start_sender
from bot.transport import AiohttpRequest
from bot.wecom.api import WeComClient
from bot.wecom_serving import start_wecom_front
from handlers.telegram.access import door
from handlers.telegram.albums import answer_albums_left_over
from handlers.telegram.dangers import (
    find_command,
    mine_command,
    on_action_button,
    on_danger_button,
    on_list_page,
    overdue_command,
)
from handlers.telegram.groups import (
    bind_command,
    countdown_command,
    subscribe_command,
    unsubscribe_command,
)
from handlers.telegram.language import lang_chosen, lang_command
from handlers.telegram.ledger import export_command, stats_command
from handlers.telegram.menu import register_menu
from handlers.telegram.people import identify
from handlers.telegram.report import (
    cancel_command,
    on_button,
    on_message,
    report_command,
    unknown_button,
    unknown_command,
)
from handlers.telegram.start import help_command, start
from storage.db import Sessions, offloaded, reading
from storage.meta import BOT_USERNAME, remember_setting
from storage.turns import ProcessMark

logger = logging.getLogger(__name__)

ADOPT_EVERY = 5.0  # seconds: does the inbox hold updates of a process that is gone?
TURN_CHECK_EVERY = 5.0  # seconds: is the poller's turn still ours?


def build_application(
    settings: Settings,
    *,
    sessions: Sessions,
    request_timeout: float = 20.0,
    schedule: bool = True,
    updates: OrderedUpdateProcessor | None = None,
    webhook: bool = False,
) -> HdApplication:
    """Build the bot's Application against the configured Bot API server.

    `webhook`: updates come by webhook, to this process and perhaps to others on the same
    PostgreSQL at once; each person's are then kept in order across them.
    """
    pacer = Pacer(per_second=settings.push_rate)
    updates = updates or OrderedUpdateProcessor()
    if webhook and _shared(sessions):
        updates.across = InboxOrder(sessions)
    # A flood is refused as it arrives, before the inbox write: no database work for it.
    inbox = DurableQueue(admit=updates.admit)
    updates.on_done = inbox.handled
    inbox.sessions = sessions
    application: HdApplication = _builder(settings, inbox, updates, pacer, request_timeout).build()
    _give_services(application, settings, sessions, updates, pacer)
    add_handlers(application)
    start_sender(application)
    if schedule:  # tests drive the push clock themselves, at the times they choose
        start_schedule(application)
    application.job_queue.run_repeating(  # type: ignore[union-attr]
        _forget_old_updates, interval=FORGET_EVERY, first=FIRST_AFTER, name="forget-old-updates"
    )
    return application


def _builder(
    settings: Settings,
    inbox: DurableQueue,
    updates: OrderedUpdateProcessor,
    pacer: Pacer,
    request_timeout: float,
) -> Any:
    """python-telegram-bot's builder, wired to our inbox, pacer and update order."""
    return (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .context_types(ContextTypes(context=BotContext, bot_data=BotServices))
        .update_queue(inbox)
        .rate_limiter(AnswerLimiter(pacer))
        .request(AiohttpRequest(connection_pool_size=64, read_timeout=request_timeout))
        .get_updates_request(
            AiohttpRequest(
                connection_pool_size=2,
                read_timeout=request_timeout + 30,
                before=inbox.before_get_updates,
            )
        )
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        # Everybody at once, each person's and each chat's updates in order (bot/intake/updates.py).
        .concurrent_updates(updates)
    )


def _give_services(
    application: HdApplication,
    settings: Settings,
    sessions: Sessions,
    updates: OrderedUpdateProcessor,
    pacer: Pacer,
) -> None:
    """What the handlers and jobs find in bot_data: settings, sessions, the pacer."""
    application.bot_data.settings = settings
    application.bot_data.sessions = sessions
    application.bot_data.reads = reading(sessions)
    background, threaded = offloaded(sessions)
    application.bot_data.background = background
    if threaded is not None:
        application.bot_data.closers.append(threaded.dispose)
    application.bot_data.flood = updates.flood
    application.bot_data.sender.pacer = pacer


def _shared(sessions: Sessions) -> bool:
    """Whether other processes may share this database (SQLite serves one process)."""
    bind = sessions.kw.get("bind")
    return isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql"


async def _forget_old_updates(context: BotContext) -> None:
    await forget_old(context.background, context.settings)


def add_handlers(application: HdApplication) -> None:
    """Register every handler, in the order they should match."""
    application.add_handler(TypeHandler(Update, door), group=-1)
    # An edited message (a typo fixed, a live location moving) is not a new answer.
    new = filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("start", start, filters=new))
    application.add_handler(CommandHandler("help", help_command, filters=new))
    application.add_handler(CommandHandler("lang", lang_command, filters=new))
    application.add_handler(CallbackQueryHandler(lang_chosen, pattern=r"^lang:"))
    private = filters.ChatType.PRIVATE & new
    application.add_handler(CommandHandler("report", report_command, filters=private))
    application.add_handler(CommandHandler("cancel", cancel_command, filters=private))
    application.add_handler(CallbackQueryHandler(on_button, pattern=r"^r:"))
    application.add_handler(CommandHandler("mine", mine_command, filters=private))
    application.add_handler(CommandHandler("overdue", overdue_command, filters=private))
    application.add_handler(CommandHandler("find", find_command, filters=private))
    application.add_handler(CallbackQueryHandler(on_danger_button, pattern=r"^d:"))
    application.add_handler(CallbackQueryHandler(on_action_button, pattern=r"^a:"))
    application.add_handler(CallbackQueryHandler(on_list_page, pattern=r"^l:"))
    application.add_handler(CommandHandler("countdown", countdown_command, filters=new))
    # An export takes a while: it holds up only the person who asked (their next message waits
    # for it, so their answers stay in order), never anybody else (bot/intake/updates.py).
    application.add_handler(CommandHandler("export", export_command, filters=private))
    application.add_handler(CommandHandler("stats", stats_command, filters=private))
    # Group commands answer in private too: "use this in a group chat".
    application.add_handler(CommandHandler("bind", bind_command, filters=new))
    application.add_handler(CommandHandler("subscribe", subscribe_command, filters=new))
    application.add_handler(CommandHandler("unsubscribe", unsubscribe_command, filters=new))
    application.add_handler(
        MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, on_message)
    )
    application.add_handler(MessageHandler(private & filters.COMMAND, unknown_command))
    application.add_handler(CallbackQueryHandler(unknown_button))
    application.add_error_handler(on_error)


async def _post_init(application: HdApplication) -> None:
    services = application.bot_data
    settings = services.settings
    turn = services.poller_turn
    if turn is not None:
        # Another process may be polling: nothing before this process's turn (storage/turns.py).
        await turn.wait()
        if turn.waited:
            logger.info("taking over: this process polls now")
        if application.job_queue is not None and turn.needed:
            application.job_queue.run_repeating(
                _check_turn, interval=TURN_CHECK_EVERY, first=TURN_CHECK_EVERY, name="poller-turn"
            )
    push_bot = Bot(
        settings.require_token(),
        base_url=settings.base_url,
        base_file_url=settings.base_file_url,
        request=AiohttpRequest(connection_pool_size=4, read_timeout=20.0),
    )
    await push_bot.initialize()
    services.sender.bot = push_bot
    # One client for WeCom's robots for the bot's life (a client per drain costs a TLS setup).
    services.sender.http = httpx.AsyncClient(timeout=15.0)
    if settings.wecom_app_configured and services.sessions is not None:
        # One client of the WeCom application for pushes and answers alike: one access token.
        services.sender.wecom = WeComClient.from_settings(settings)
        services.wecom_serving = await start_wecom_front(
            settings, sessions=services.sessions, client=services.sender.wecom
        )
    await register_menu(application.bot, default_language=services.settings.language)
    # What a stopped process had received but not handled comes first.
    queue = application.update_queue
    if isinstance(queue, DurableQueue) and services.sessions is not None:
        mark = ProcessMark(services.sessions.kw["bind"])
        services.process_mark = mark
        queue.receiver = await mark.take()
        await adopt_left_over(queue, services.sessions, application.bot)
        if application.job_queue is not None:
            await answer_albums_left_over(
                application.job_queue, services.sessions, receiver=queue.receiver
            )
        if mark.needed and application.job_queue is not None:
            # Another process on this database may die while this one runs (webhook mode).
            application.job_queue.run_repeating(
                _adopt_orphans, interval=ADOPT_EVERY, first=ADOPT_EVERY, name="inbox-orphans"
            )
    if services.sessions is not None and application.bot.username:
        async with services.sessions() as session:
            await remember_setting(session, key=BOT_USERNAME, value=application.bot.username)


async def _adopt_orphans(context: BotContext) -> None:
    queue = context.application.update_queue
    sessions = context.bot_data.sessions
    if isinstance(queue, DurableQueue) and sessions is not None:
        await adopt_left_over(queue, sessions, context.bot)
        await answer_albums_left_over(context.jobs, sessions, receiver=queue.receiver)


async def _check_turn(context: BotContext) -> None:
    """A process that lost the poller's turn (its database connection died) must not poll on
    beside the one that takes over: it stops, and its supervisor starts it again."""
    turn = context.bot_data.poller_turn
    if turn is not None and not await turn.still_held():
        logger.error("the poller's turn is lost: stopping")
        context.application.stop_running()


async def _post_shutdown(application: HdApplication) -> None:
    services = application.bot_data
    if isinstance(application.update_queue, DurableQueue):
        try:  # what was handled need not be handled again at the next start
            await application.update_queue.flush()
        except Exception:
            logger.warning("could not write the inbox at shutdown", exc_info=True)
    # What this process kept and did not handle is another's to handle from here on.
    if services.process_mark is not None:
        await services.process_mark.release()
    if services.poller_turn is not None:
        await services.poller_turn.release()
    if services.sender.bot is not None:
        await services.sender.bot.shutdown()
        services.sender.bot = None
    if services.sender.http is not None:
        await services.sender.http.aclose()
        services.sender.http = None
    # The callback first: what it handed on still answers through the client.
    if services.wecom_serving is not None:
        await services.wecom_serving.stop()
        services.wecom_serving = None
    if services.sender.wecom is not None:
        await services.sender.wecom.close()
        services.sender.wecom = None
    for close in reversed(services.closers):
        await close()


async def on_error(update: object, context: BotContext) -> None:
    """Log the failure and tell the person something went wrong, so nobody waits in silence."""
    error = context.error
    if isinstance(error, NetworkError | Forbidden):
        logger.warning("Telegram call failed: %s", error)
    else:
        logger.error("unhandled error for update %s", update, exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        _ = (await identify(update, context))._
    except Exception:  # the database itself may be what failed
        tg_user = update.effective_user
        _ = Translator(
            language_for(
                chosen=None,
                telegram_code=tg_user.language_code if tg_user else None,
                default=context.settings.language,
            )
        )
    if update.callback_query is not None:
        # An unanswered press keeps the phone's spinner turning.
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer()
    try:
        await context.bot.send_message(
            update.effective_chat.id,
            _(
                "Sorry, something went wrong on our side. What you sent before this was kept; "
                "please try again in a moment."
            ),
        )
    except TelegramError:
        logger.warning("could not tell chat %s about the error", update.effective_chat.id)
