"""The WeCom front: a person's messages to the self-built application, answered.

Thin, like the Telegram handlers: a callback (tests and `hdbot run` get it from
bot/wecom/callback.py) becomes an `Input`, one domain operation answers it, and the view's
reply goes to the renderer, which speaks WeCom (text, images, template cards). Which draft a
message answers is storage/dialogue.py's rule, and what a button's action means too: the two
fronts share every rule and every word.

Each callback is kept in the WeCom inbox before WeCom hears it arrived (`claim`), handled
(`consume`), then marked handled; what was kept and not handled when the process died is
handled at the next start (`replay_unhandled`). One message's answer is handlers/wecom/turn.py's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import date

from bot.config import Settings
from bot.context import HEAVY_AT_ONCE
from bot.views.reply import Edit, Reply
from bot.wecom.api import WeComClient
from bot.wecom.incoming import WeComMessage, as_record, from_record
from handlers.wecom.render import Pressed, WeComRenderer
from handlers.wecom.turn import Turn
from storage import wecom_inbox
from storage.accounts import Account
from storage.clock import utcnow
from storage.closed_loop import LoopRules
from storage.db import Sessions
from storage.errors import Invalid
from storage.people import who_is
from storage.photos import PhotoStore
from storage.report import Area, ReportReply, ReportRules

logger = logging.getLogger(__name__)


class WeComFront:
    """Answer the people who write to the WeCom application."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: Sessions,
        renderer: WeComRenderer,
        client: WeComClient,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.renderer = renderer
        self.client = client
        self.photos = PhotoStore(settings.photo_dir)
        box = settings.area_box
        self.report_rules = ReportRules(
            area=Area(*box) if box else None, number_prefix=settings.number_prefix
        )
        self.loop_rules = LoopRules()
        # Statistics and exports take seconds of work each: only this many at once.
        self.heavy = asyncio.Semaphore(HEAVY_AT_ONCE)

    # --- the inbox ------------------------------------------------------------------------

    async def claim(self, message: WeComMessage) -> bool:
        """Keep a callback before WeCom is answered; False when it was kept before (a retry)."""
        async with self.sessions() as session:
            kept = await wecom_inbox.keep(
                session,
                key=message.dedupe_key,
                wecom_user_id=message.from_user,
                message=as_record(message),
                now=utcnow(),
            )
        return kept is not None

    async def consume(self, message: WeComMessage) -> None:
        """Handle a claimed callback once, and note that it was."""
        async with self.sessions() as session:
            inbox_id = await wecom_inbox.inbox_id(session, message.dedupe_key)
        if inbox_id is None:
            logger.warning("WeCom message %s was never kept; dropped", message.dedupe_key)
            return
        await self._handle_kept(inbox_id, message)

    async def replay_unhandled(self) -> int:
        """Handle what was kept and not handled (the process died in between), oldest first;
        return how many."""
        handled = 0
        while True:
            async with self.sessions() as session:
                kept = await wecom_inbox.unhandled(session)
            if not kept:
                return handled
            for inbox_id, record in kept:
                try:
                    message = from_record(record)
                except (KeyError, TypeError, ValueError):
                    logger.warning("WeCom inbox %d holds no message this version reads", inbox_id)
                    await self._mark_handled(inbox_id)
                    continue
                await self._handle_kept(inbox_id, message)
                handled += 1

    async def _handle_kept(self, inbox_id: int, message: WeComMessage) -> None:
        try:
            # The domain operations claim update ids in processed_update to act once on each;
            # Telegram's update ids are positive, so a WeCom message claims −(its inbox id)
            # and never meets one of them.
            await self.handle(message, update_id=-inbox_id)
        except Exception:
            # Marked handled all the same: a message that fails every time must not be tried
            # again at every start. What it did is kept (the operations are idempotent by
            # their update id), and the person sees no answer and writes again.
            logger.exception("WeCom message %s: handling failed", message.dedupe_key)
        await self._mark_handled(inbox_id)

    async def _mark_handled(self, inbox_id: int) -> None:
        async with self.sessions() as session:
            await wecom_inbox.mark_handled(session, inbox_id, now=utcnow())

    # --- one message ----------------------------------------------------------------------

    async def handle(self, message: WeComMessage, *, update_id: int) -> None:
        """Answer one message or event of a person."""
        try:
            account = Account.wecom(message.from_user)
        except Invalid:
            logger.warning("WeCom message from a user id hdbot cannot hold; dropped")
            return
        async with self.sessions() as session:
            visitor = await who_is(session, account)
        turn = Turn(self, message, account, visitor, update_id)
        await turn.answer()

    async def say(
        self,
        user_id: str,
        replies: Sequence[Reply],
        *,
        language: str,
        pressed: Pressed | None = None,
    ) -> None:
        """Send replies to one person, in their language."""
        if pressed is None:
            # An edit changes the card whose button was pressed; a press without the card's
            # task id and code (an old client, a replayed event) leaves nothing to change.
            replies = [reply for reply in replies if not isinstance(reply, Edit)]
        if replies:
            await self.renderer.send(user_id, replies, language=language, pressed=pressed)

    def today(self, reply: ReportReply | None = None) -> date:
        """The campaign's today (quick picks of dates count from the report's own day)."""
        if reply is not None and reply.today is not None:
            return reply.today
        return utcnow().astimezone(self.settings.tz).date()
