"""The WeCom front: a person's messages to the self-built application, answered.

Thin, like the Telegram handlers: a callback (tests and `hdbot run` get it from
bot/wecom/callback.py) becomes an `Input`, one domain operation answers it, and the view's
reply goes to the renderer, which speaks WeCom (text, images, template cards). Which draft a
message answers is storage/dialogue.py's rule, and what a button's action means too: the two
fronts share every rule and every word.

Each callback is kept in the WeCom inbox before WeCom hears it arrived (`claim`), handled
(`consume`), then marked handled; what was kept and not handled when the process died is
handled at the next start (`replay_unhandled`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

from bot.config import Settings
from bot.i18n import Translator
from bot.views.danger_view import (
    list_message,
    loop_answer,
    parse_action_button,
    parse_card_button,
    parse_list_callback,
    photos_answer,
)
from bot.views.reply import Edit, Reply, Say
from bot.views.report_view import (
    confirm_keyboard,
    edit_keyboard,
    location_noted,
    parse_button,
    prompt_for,
    report_kind,
    report_reply,
    report_usage,
    task_keyboard,
    typed_location_button,
)
from bot.views.start_view import help_text, stranger_hint, welcome_text
from bot.wecom.api import MediaTooLarge, WeComClient
from bot.wecom.incoming import MessageKind, WeComMessage, as_record, from_record
from handlers.wecom.render import Pressed, WeComRenderer
from storage import dialogue, wecom_inbox
from storage.accounts import Account, Front
from storage.campaigns import get_campaign
from storage.clock import utcnow
from storage.closed_loop import LoopReply, LoopRules
from storage.conversation import Input, InputKind, NewPhoto
from storage.db import Sessions
from storage.dialogue import Awaited, Cancelled
from storage.errors import N_, DomainError, Invalid
from storage.invites import looks_like_invite_code, redeem_invite
from storage.lists import list_dangers
from storage.people import Visitor, choose_language, who_is
from storage.photos import MAX_PHOTO_BYTES, PhotoStore
from storage.report import Area, ReportReply, ReportRules, Step, begin_report
from storage.uploads import check_room, upload_room

logger = logging.getLogger(__name__)

LISTS = ("mine", "overdue", "find")
TOO_BIG = N_("The image is larger than {limit_mb} MB.")


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
        # WeCom people have no language of their own yet (chosen languages are kept by
        # Telegram id, and WeCom sends none): the deployment's default speaks to all of them.
        self.language = settings.language
        self._ = Translator(settings.language)
        box = settings.area_box
        self.report_rules = ReportRules(
            area=Area(*box) if box else None, number_prefix=settings.number_prefix
        )
        self.loop_rules = LoopRules()

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
        turn = _Turn(self, message, account, visitor, update_id)
        await turn.answer()

    async def say(
        self, user_id: str, replies: Sequence[Reply], *, pressed: Pressed | None = None
    ) -> None:
        """Send replies to one person, in the deployment's language."""
        if pressed is None:
            # An edit changes the card whose button was pressed; a press without the card's
            # task id and code (an old client, a replayed event) leaves nothing to change.
            replies = [reply for reply in replies if not isinstance(reply, Edit)]
        if replies:
            await self.renderer.send(user_id, replies, language=self.language, pressed=pressed)

    def today(self, reply: ReportReply | None = None) -> date:
        """The campaign's today (quick picks of dates count from the report's own day)."""
        if reply is not None and reply.today is not None:
            return reply.today
        return utcnow().astimezone(self.settings.tz).date()


class _Turn:
    """One message of one person, and everything needed to answer it."""

    def __init__(
        self,
        front: WeComFront,
        message: WeComMessage,
        account: Account,
        visitor: Visitor,
        update_id: int,
    ) -> None:
        self.front = front
        self.message = message
        self.account = account
        self.visitor = visitor
        self.update_id = update_id
        self._ = front._
        self.user_id = message.from_user

    @property
    def registered(self) -> bool:
        return self.visitor.user is not None and self.visitor.user.active

    @property
    def pressed(self) -> Pressed | None:
        """The card whose button was pressed, for updating it in place."""
        if self.message.task_id and self.message.response_code:
            return Pressed(self.message.task_id, self.message.response_code)
        return None

    async def say(self, *replies: Reply, pressed: bool = False) -> None:
        await self.front.say(self.user_id, replies, pressed=self.pressed if pressed else None)

    async def answer(self) -> None:
        kind = self.message.kind
        if kind is MessageKind.ENTER_AGENT:
            await self.say(Say(self._help()))
            return
        command, argument = _command(self.message.content or "")
        if not self.registered:
            await self._stranger(command, argument)
            return
        if kind is MessageKind.BUTTON_PRESS:
            await self._press(self.message.event_key or "")
        elif kind is MessageKind.TEXT and command is not None:
            await self._run_command(command, argument)
        else:
            await self._answer_draft()

    def _help(self) -> str:
        return help_text(self._, registered=self.registered, front=Front.WECOM)

    # --- people who are not registered ----------------------------------------------------

    async def _stranger(self, command: str | None, argument: str) -> None:
        """An invite code (alone, or as /start CODE) registers; anything else gets the hint."""
        text = (self.message.content or "").strip()
        if self.message.kind is MessageKind.TEXT:
            if command == "start" and argument:
                await self._register(argument)
                return
            if command is None and looks_like_invite_code(text):
                await self._register(text)
                return
            if command == "help":
                await self.say(Say(self._help()))
                return
            if command == "start":
                await self._welcome()
                return
        await self.say(Say(stranger_hint(self._, front=Front.WECOM)))

    async def _register(self, code: str) -> None:
        try:
            async with self.front.sessions() as session:
                # WeCom's callbacks name a person by user id only; their name comes with the
                # address book, which hdbot does not read yet.
                user = await redeem_invite(
                    session,
                    code=code,
                    account=self.account,
                    name=self.user_id,
                    username=None,
                )
        except DomainError as err:
            await self.say(Say(self._.error(err)))
            return
        self.visitor = Visitor(user, self.visitor.language)
        await self._welcome()

    async def _welcome(self) -> None:
        async with self.front.sessions() as session:
            campaign = await get_campaign(session)
        user = self.visitor.user if self.registered else None
        name = user.name if user is not None and user.name else self.user_id
        text = welcome_text(self._, user=user, name=name, campaign=campaign, front=Front.WECOM)
        await self.say(Say(text))

    # --- commands -------------------------------------------------------------------------

    async def _run_command(self, command: str, argument: str) -> None:
        try:
            if command in LISTS:
                await self._list(command, argument)
            elif command == "report":
                await self._report(argument)
            elif command == "cancel":
                await self._cancel()
            elif command == "start":
                if argument:
                    await self._register(argument)
                else:
                    await self._welcome()
            elif command == "help":
                await self.say(Say(self._help()))
            else:
                await self.say(
                    Say(self._("I do not know that command. /help lists what I can do."))
                )
                await self._where_they_stand()
        except DomainError as err:
            await self.say(Say(self._.error(err)))

    async def _list(self, scope: str, query: str) -> None:
        async with self.front.sessions() as session:
            page = await list_dangers(session, account=self.account, scope=scope, query=query)
        await self.say(list_message(self._, page))

    async def _report(self, word: str) -> None:
        kind = report_kind(word.split()[0] if word.split() else "")
        if kind is None:
            await self.say(Say(report_usage(self._)))
            return
        async with self.front.sessions() as session:
            reply = await begin_report(
                session, account=self.account, update_id=self.update_id, kind=kind
            )
        await self._show_report(reply)

    async def _cancel(self) -> None:
        async with self.front.sessions() as session:
            outcome = await dialogue.cancel_drafts(
                session, account=self.account, update_id=self.update_id
            )
        if isinstance(outcome, Cancelled):
            assert outcome.action is not None  # cancel_drafts discards the report otherwise
            await self.say(Say(self._("Cancelled: {number}.", number=outcome.action.number)))
            return
        await self._show_report(outcome)

    # --- answers to the open draft --------------------------------------------------------

    async def _answer_draft(self) -> None:
        awaited = Awaited.of(self.visitor)
        if awaited.flow is None:
            await self.say(
                Say(
                    self._("To log a hidden danger, send /report. /help shows everything I can do.")
                )
            )
            return
        try:
            given = await self._input(awaited)
            async with self.front.sessions() as session:
                answer = await dialogue.answer_message(
                    session,
                    account=self.account,
                    awaited=awaited,
                    update_id=self.update_id,
                    given=given,
                    report_rules=self.front.report_rules,
                    loop_rules=self.front.loop_rules,
                )
        except DomainError as err:
            # A photo the store refused, or an answer the step cannot take: say why, then the
            # same step again, as for any wrong input.
            await self.say(Say(self._.error(err)))
            await self._where_they_stand()
            return
        report = answer.report
        draft = report.draft if report is not None else None
        if awaited.wants_location and draft is not None and draft.step != Step.LOCATION:
            await self.say(location_noted(self._, draft))
        if answer.loop is not None:
            await self._show_loop(answer.loop)
        elif report is not None:
            await self._show_report(report)

    async def _input(self, awaited: Awaited) -> Input:
        """The message as a plain input (a picture downloaded only when one is wanted)."""
        message = self.message
        if message.kind is MessageKind.LOCATION:
            return Input(
                InputKind.LOCATION,
                latitude=message.latitude,
                longitude=message.longitude,
                address=message.label or None,
            )
        if message.kind is MessageKind.IMAGE and message.media_id:
            if not awaited.wants_photo:
                return Input(InputKind.PHOTO)
            return Input(InputKind.PHOTO, photo=await self._download(message.media_id))
        if message.kind is MessageKind.TEXT:
            text = message.content or ""
            # WeCom has no reply keyboard: the location step's choices are words to type.
            pressed = typed_location_button(text.strip()) if awaited.wants_location else None
            if pressed is not None:
                return Input(InputKind.BUTTON, button=pressed)
            return Input(InputKind.TEXT, text=text)
        return Input(InputKind.OTHER, what=message.msg_type)

    async def _download(self, media_id: str) -> NewPhoto:
        """Fetch a person's photo from WeCom and keep it in the photo store."""
        front = self.front
        # Before the download: a photo that will not fit costs neither bandwidth nor disk.
        async with front.sessions() as session:
            room = await upload_room(session, account=self.account, now=utcnow())
        check_room(room, size=None, bytes_a_day=front.settings.photo_mb_per_day << 20)
        try:
            data = await front.client.download_media(media_id, max_bytes=MAX_PHOTO_BYTES)
        except MediaTooLarge as err:
            raise Invalid(TOO_BIG, limit_mb=MAX_PHOTO_BYTES >> 20) from err
        # The media id finds WeCom's copy again (for three days); the bytes' digest, ours.
        return await front.photos.keep(
            data,
            local_tz=front.settings.tz,
            file_id=f"wecom:{media_id}",
            file_unique_id=f"wecom:{media_id}",
            source="photo",
        )

    # --- button presses -------------------------------------------------------------------

    async def _press(self, key: str) -> None:
        """A press on a card's button: its key is the action a Telegram button carries."""
        try:
            if key.startswith("r:"):
                await self._press_report(key)
            elif key.startswith("d:"):
                await self._press_card(key)
            elif key.startswith("a:"):
                await self._press_action(key)
            elif key.startswith("l:"):
                await self._press_list(key)
            elif key.startswith("lang:"):
                async with self.front.sessions() as session:
                    await choose_language(
                        session, account=self.account, language=key.removeprefix("lang:")
                    )
            else:
                await self.say(Say(self._("This button is not valid.")))
        except DomainError as err:
            await self.say(Say(self._.error(err)))

    async def _press_report(self, key: str) -> None:
        parsed = parse_button(key)
        if parsed is None:
            await self.say(Say(self._("This button is not valid.")))
            return
        draft_id, action = parsed
        if action in ("editmenu", "back"):
            keyboard = (edit_keyboard if action == "editmenu" else confirm_keyboard)(
                self._, draft_id
            )
            await self.say(Edit(keyboard), pressed=True)
            return
        async with self.front.sessions() as session:
            reply = await dialogue.press_report_button(
                session,
                account=self.account,
                update_id=self.update_id,
                draft_id=draft_id,
                action=action,
                rules=self.front.report_rules,
            )
        if action.startswith(("page:", "all")) and reply.tasks is not None and not reply.notices:
            # Paging changes the card in place instead of sending a new one.
            await self.say(Edit(task_keyboard(self._, draft_id, reply.tasks)), pressed=True)
            return
        if not reply.notices:
            # The answer is taken: its buttons must not be pressed again.
            await self.say(Edit(), pressed=True)
        await self._show_report(reply)

    async def _press_card(self, key: str) -> None:
        parsed = parse_card_button(key)
        what = dialogue.card_press(parsed[1]) if parsed is not None else None
        if parsed is None or what is None:
            await self.say(Say(self._("This button is not valid.")))
            return
        async with self.front.sessions() as session:
            reply = await dialogue.press_card_button(
                session,
                account=self.account,
                update_id=self.update_id,
                danger_id=parsed[0],
                what=what,
                rules=self.front.loop_rules,
            )
        if what == "photos" and reply.detail is not None:
            photo_dir = self.front.settings.photo_dir
            await self.say(*await photos_answer(self._, reply.detail, photo_dir=photo_dir))
            return
        await self._show_loop(reply, verifier_image=what == "open")

    async def _press_action(self, key: str) -> None:
        parsed = parse_action_button(key)
        if parsed is None:
            await self.say(Say(self._("This button is not valid.")))
            return
        async with self.front.sessions() as session:
            reply = await dialogue.press_action_button(
                session,
                account=self.account,
                update_id=self.update_id,
                draft_id=parsed[0],
                button=parsed[1],
                rules=self.front.loop_rules,
            )
        if isinstance(reply, Cancelled):
            said = (
                self._("Cancelled: {number}.", number=reply.action.number)
                if reply.action
                else self._("There was nothing to cancel.")
            )
            await self.say(Edit(), Say(said), pressed=True)
            return
        if not reply.notices:
            await self.say(Edit(), pressed=True)
        await self._show_loop(reply)

    async def _press_list(self, key: str) -> None:
        parsed = parse_list_callback(key)
        if parsed is None:
            await self.say(Say(self._("This button is not valid.")))
            return
        scope, page_number, query = parsed
        async with self.front.sessions() as session:
            page = await list_dangers(
                session, account=self.account, scope=scope, query=query, page=page_number
            )
        listed = list_message(self._, page)
        await self.say(Edit(listed.buttons, text=listed.text), pressed=True)

    # --- what to show ---------------------------------------------------------------------

    async def _show_report(self, reply: ReportReply) -> None:
        today = self.front.today(reply)
        await self.say(*report_reply(self._, reply, today=today))

    async def _show_loop(self, reply: LoopReply, *, verifier_image: bool = True) -> None:
        settings = self.front.settings
        says = await loop_answer(
            self._,
            reply,
            photo_dir=settings.photo_dir,
            today=self.front.today(),
            tz_name=settings.timezone,
            verifier_image=verifier_image,
        )
        await self.say(*says)

    async def _where_they_stand(self) -> None:
        """The prompt of the step the person stands at, after a refusal or an unknown command."""
        async with self.front.sessions() as session:
            answer = await dialogue.where_they_stand(session, account=self.account)
        if answer.loop is not None:
            await self._show_loop(answer.loop)
        elif answer.report is not None:
            prompt = prompt_for(self._, answer.report, today=self.front.today(answer.report))
            if prompt is not None:
                await self.say(prompt)


def _command(text: str) -> tuple[str | None, str]:
    """A command and its argument ("/find gas leak" → ("find", "gas leak")), or (None, "")."""
    text = text.strip()
    if not text.startswith("/") or len(text) < 2:
        return None, ""
    word, _, rest = text[1:].partition(" ")
    return word.split("@", 1)[0].lower(), rest.strip()
