"""One message of one WeCom person, and what answers it: a command, a press, or an answer to
the open draft (storage/dialogue.py says which draft)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.i18n import Translator
from bot.views.danger_view import loop_answer
from bot.views.reply import Reply, Say
from bot.views.report_view import location_noted, prompt_for, report_reply
from bot.views.start_view import help_text
from bot.wecom.incoming import MessageKind, WeComMessage
from handlers.wecom.commands import answer_stranger, command_of, list_command, run_command
from handlers.wecom.inputs import message_input
from handlers.wecom.presses import press
from handlers.wecom.render import Pressed
from storage import dialogue
from storage.accounts import Account, Front
from storage.closed_loop import LoopReply
from storage.dialogue import Awaited
from storage.errors import DomainError
from storage.people import Visitor
from storage.report import ReportReply, Step
from storage.search import is_number

if TYPE_CHECKING:
    from handlers.wecom.front import WeComFront


class Turn:
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
        self.user_id = message.from_user
        # WeCom sends no language with a message: the person's choice, else the deployment's.
        self.speak(visitor.language or front.settings.language)

    def speak(self, language: str) -> None:
        """Answer in this language from now on (a choice made in this very turn too)."""
        self.language = language
        self._ = Translator(language)

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
        await self.front.say(
            self.user_id,
            replies,
            language=self.language,
            pressed=self.pressed if pressed else None,
        )

    async def answer(self) -> None:
        kind = self.message.kind
        if kind is MessageKind.ENTER_AGENT:
            await self.say(Say(self.help()))
            return
        command, argument = command_of(self.message.content or "")
        if not self.registered:
            await answer_stranger(self, command, argument)
            return
        if kind is MessageKind.BUTTON_PRESS:
            await press(self, self.message.event_key or "")
        elif kind is MessageKind.TEXT and command is not None:
            await run_command(self, command, argument)
        else:
            await self.answer_draft()

    def help(self) -> str:
        return help_text(self._, registered=self.registered, front=Front.WECOM)

    # --- answers to the open draft --------------------------------------------------------

    async def answer_draft(self) -> None:
        awaited = Awaited.of(self.visitor)
        # With nothing open, an image begins a report (photo first; WeCom images carry no
        # caption); anything else gets the hint.
        if awaited.flow is None and self.message.kind is not MessageKind.IMAGE:
            typed = (self.message.content or "").strip()
            if self.message.kind is MessageKind.TEXT and is_number(typed):
                await list_command(self, "find", typed)  # a number alone finds its record
                return
            await self.say(
                Say(
                    self._("To log a hidden danger, send /report. /help shows everything I can do.")
                )
            )
            return
        try:
            given = await message_input(self, awaited)
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
            await self.where_they_stand()
            return
        report = answer.report
        draft = report.draft if report is not None else None
        if awaited.wants_location and draft is not None and draft.step != Step.LOCATION:
            await self.say(location_noted(self._, draft))
        if answer.loop is not None:
            await self.show_loop(answer.loop)
        elif report is not None:
            await self.show_report(report)

    # --- what to show ---------------------------------------------------------------------

    async def show_report(self, reply: ReportReply) -> None:
        today = self.front.today(reply)
        await self.say(*report_reply(self._, reply, today=today))

    async def show_loop(self, reply: LoopReply, *, verifier_image: bool = True) -> None:
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

    async def where_they_stand(self) -> None:
        """The prompt of the step the person stands at, after a refusal or an unknown command."""
        async with self.front.sessions() as session:
            answer = await dialogue.where_they_stand(session, account=self.account)
        if answer.loop is not None:
            await self.show_loop(answer.loop)
        elif answer.report is not None:
            prompt = prompt_for(self._, answer.report, today=self.front.today(answer.report))
            if prompt is not None:
                await self.say(prompt)
