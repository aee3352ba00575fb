"""Which draft a person's message answers: the one rule every front follows.

A person may have two drafts open at once: a report (a new hidden danger, problem or risk)
and an action of the closed loop that needs typing (after-photos and a note, a reason to
reject, …). A pending action comes first — it was started last, from a button on a card, and
the report waits behind it. With neither open, a message answers nothing and the front says
how to start. The fronts only turn their messages into `Input` and render the reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account
from storage.closed_loop import LoopReply, LoopRules, answer_action, current_action
from storage.conversation import Input, Notice
from storage.models import DraftFlow
from storage.people import Visitor
from storage.report import ReportReply, ReportRules, Step, answer_report, resume_report

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
        """Whether a picture is an answer (the front downloads it only then)."""
        return self.step == PHOTOS

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
    return Answer()


async def where_they_stand(session: AsyncSession, *, account: Account) -> Answer:
    """The step the person stands at, to show again after a refused answer, an unknown command
    or a finished album: the pending action's, else the open report's (either may be missing)."""
    action = await current_action(session, account=account)
    if action is not None:
        return Answer(loop=LoopReply(draft=action))
    report = await resume_report(session, account=account, update_id=None)
    return Answer(report=report if report.draft is not None else None)
