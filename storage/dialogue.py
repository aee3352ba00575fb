"""Which draft a person's message answers: the one rule every front follows.

A person may have two drafts open at once: a report (a new hidden danger, problem or risk)
and an action of the closed loop that needs typing (after-photos and a note, a reason to
reject, …). A pending action comes first — it was started last, from a button on a card, and
the report waits behind it. With neither open, a message answers nothing and the front says
how to start — unless it is a picture: a photo sent with nothing open begins a report with it
(photo first), its caption the description. The fronts only turn their messages into `Input`
and render the reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account
from storage.closed_loop import (
    ActionDraftView,
    LoopReply,
    LoopRules,
    act,
    answer_action,
    cancel_action,
    current_action,
    danger_detail,
)
from storage.conversation import Input, InputKind, Notice
from storage.models import DraftFlow
from storage.people import Visitor
from storage.permissions import Action
from storage.report import (
    ReportReply,
    ReportRules,
    Step,
    answer_report,
    begin_report_with_photo,
    discard_report,
    resume_report,
)

# Both flows call the step that takes pictures by this name.
PHOTOS = Step.PHOTOS.value


@dataclass(frozen=True, slots=True)
class Awaited:
    """What a person's open drafts wait for, as the look-up of every update found them."""

    report_step: str | None = None
    action_step: str | None = None

    @classmethod
    def of(cls, visitor: Visitor) -> Awaited:
        """What the drafts of the person writing wait for."""
        return cls(visitor.report_step, visitor.action_step)

    @property
    def flow(self) -> DraftFlow | None:
        """The draft a message answers: the pending action first, else the report."""
        if self.action_step:
            return DraftFlow.ACTION
        return DraftFlow.REPORT if self.report_step else None

    @property
    def step(self) -> str | None:
        return self.action_step or self.report_step or None

    @property
    def wants_photo(self) -> bool:
        """Whether a picture is an answer (the front downloads it only then): at a photos step,
        with nothing open (it begins a report), and at any step of an open report (it joins it,
        or waits for "add to it or start a new one")."""
        return self.flow in (None, DraftFlow.REPORT) or self.step == PHOTOS

    @property
    def photo_held(self) -> bool:
        """Whether a picture sent now is (most likely) held for "add to the open report or start
        a new one": the report is at a step that takes none. (The rest of the album that began
        a report joins it instead; the report's own step says so again.)"""
        return self.flow == DraftFlow.REPORT and self.step != PHOTOS

    @property
    def wants_location(self) -> bool:
        """Whether a location, or the words of the location step's buttons, are an answer."""
        return self.flow == DraftFlow.REPORT and self.step == Step.LOCATION


@dataclass(frozen=True, slots=True)
class Answer:
    """The reply of the draft a message went to; neither when no draft is open."""

    loop: LoopReply | None = None
    report: ReportReply | None = None

    @property
    def notices(self) -> list[Notice]:
        """What the person is told before the next prompt (a refusal, a warning)."""
        reply = self.loop or self.report
        return reply.notices if reply is not None else []


async def answer_message(
    session: AsyncSession,
    *,
    account: Account,
    awaited: Awaited,
    update_id: int | None,
    given: Input,
    report_rules: ReportRules,
    loop_rules: LoopRules | None = None,
    now: datetime | None = None,
) -> Answer:
    """Give a message to the draft it answers."""
    if awaited.flow == DraftFlow.ACTION:
        loop = await answer_action(
            session, account=account, update_id=update_id, given=given, rules=loop_rules, now=now
        )
        return Answer(loop=loop)
    if awaited.flow == DraftFlow.REPORT:
        report = await answer_report(
            session, account=account, update_id=update_id, given=given, rules=report_rules
        )
        return Answer(report=report)
    if given.kind == InputKind.PHOTO and given.photo is not None:
        report = await begin_report_with_photo(
            session, account=account, update_id=update_id, given=given, rules=report_rules, now=now
        )
        return Answer(report=report)
    return Answer()


async def where_they_stand(session: AsyncSession, *, account: Account) -> Answer:
    """The step the person stands at, to show again after a refused answer, an unknown command
    or a finished album: the pending action's, else the open report's (either may be missing)."""
    action = await current_action(session, account=account)
    if action is not None:
        return Answer(loop=LoopReply(draft=action))
    report = await resume_report(session, account=account, update_id=None)
    return Answer(report=report if report.draft is not None else None)


# --- presses and /cancel: what a button's action means, for every front ------------------------


async def press_report_button(
    session: AsyncSession,
    *,
    account: Account,
    update_id: int | None,
    draft_id: int,
    action: str,
    rules: ReportRules,
) -> ReportReply:
    """A press on a report's button: resume or discard the draft it names, else answer its step."""
    if action == "resume":
        return await resume_report(session, account=account, update_id=update_id, draft_id=draft_id)
    if action == "discard":
        return await discard_report(
            session, account=account, update_id=update_id, draft_id=draft_id
        )
    return await answer_report(
        session,
        account=account,
        update_id=update_id,
        given=Input(InputKind.BUTTON, button=action),
        rules=rules,
        draft_id=draft_id,
    )


# What a card's button may ask besides an action of the closed loop.
CARD_VIEWS = frozenset({"open", "photos"})


def card_press(what: str) -> Action | str | None:
    """What a card's button asks: an action, a view ("open", "photos"), or None (not valid)."""
    if what in set(Action):
        return Action(what)
    return what if what in CARD_VIEWS else None


async def press_card_button(
    session: AsyncSession,
    *,
    account: Account,
    update_id: int | None,
    danger_id: int,
    what: Action | str,
    rules: LoopRules,
) -> LoopReply:
    """A press on a hidden danger's card: show it (or its photos), or take the action."""
    if not isinstance(what, Action):
        detail = await danger_detail(session, account=account, danger_id=danger_id, rules=rules)
        return LoopReply(detail=detail)
    return await act(
        session,
        account=account,
        danger_id=danger_id,
        action=what,
        update_id=update_id,
        rules=rules,
    )


@dataclass(frozen=True, slots=True)
class Cancelled:
    """A pending action was dropped (None: there was nothing to drop)."""

    action: ActionDraftView | None


async def press_action_button(
    session: AsyncSession,
    *,
    account: Account,
    update_id: int | None,
    draft_id: int,
    button: str,
    rules: LoopRules,
) -> LoopReply | Cancelled:
    """A press on an action prompt's button: Cancel drops the action, the rest answer its step."""
    if button == "cancel":
        return Cancelled(await cancel_action(session, account=account, update_id=update_id))
    return await answer_action(
        session,
        account=account,
        update_id=update_id,
        given=Input(InputKind.BUTTON, button=button),
        draft_id=draft_id,
        rules=rules,
    )


async def cancel_drafts(
    session: AsyncSession, *, account: Account, update_id: int | None
) -> Cancelled | ReportReply:
    """/cancel: drop the pending action if there is one (it came last), else the open report."""
    dropped = await cancel_action(session, account=account, update_id=update_id)
    if dropped is not None:
        return Cancelled(dropped)
    # cancel_action left the update unclaimed, so the report's discard may claim it.
    return await discard_report(session, account=account, update_id=update_id)
