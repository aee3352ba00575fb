"""The report conversation as domain operations: a draft saved with every step it answers.

Fronts (Telegram now, WeCom later) turn a person's message into a `Input`, call
`answer_report`, and render the `ReportReply`. Every rule of every step lives here, so a
second front only parses and renders. Each call is one transaction that also records the
front's message id, so a message delivered twice is acted on once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account
from storage.campaigns import require_campaign
from storage.clock import utcnow
from storage.conversation import (
    Input,
    InputKind,
    Notice,
    claim_update,
    set_data,
)
from storage.dto import CampaignInfo, FieldInfo
from storage.errors import N_, DomainError
from storage.models import (
    Draft,
    DraftFlow,
    DraftStatus,
    HiddenDanger,
    Photo,
    RecordKind,
    User,
)
from storage.people import user_row
from storage.report.draft import (
    DraftView,
    Step,
    TaskChoice,
    all_fields,
    draft_view,
    joins_photos,
    open_draft,
    reporter,
)
from storage.report.photo_first import (
    ADD_HELD,
    HELD_ANSWERS,
    add_held,
    fill_quick_draft,
    held_count,
    hold_photo,
    new_from_held,
    new_quick_draft,
    place_from_photos,
    take_caption,
)
from storage.report.rules import ReportRules
from storage.report.steps import STEPS, set_default_deadline
from storage.report.submit import Submitted, possible_duplicates
from storage.report.suggestions import (
    LastPlace,
    SiteChoice,
    last_place,
    likely_sites,
    likely_tasks,
)
from storage.report.task_list import TaskPage, task_page
from storage.units import unit_and_descendants

# Starting a report this soon after submitting one: say the last one went in.
JUST_SUBMITTED = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class ReportReply:
    """What the front shows after an answer: notices, then the prompt of `draft.step`."""

    draft: DraftView | None
    notices: list[Notice] = field(default_factory=list)
    tasks: TaskPage | None = None
    fields: list[FieldInfo] = field(default_factory=list)
    possible_duplicates: list[str] = field(default_factory=list)
    submitted: Submitted | None = None
    discarded: bool = False
    resume_offer: bool = False
    duplicate_update: bool = False
    prompt: bool = True  # False when the answer needs no new prompt (an album in progress)
    # Guesses offered with the step's prompt (storage/report/suggestions.py).
    likely_tasks: list[TaskChoice] = field(default_factory=list)
    sites: list[SiteChoice] = field(default_factory=list)
    last_place: LastPlace | None = None
    today: date | None = None  # in the campaign's time zone, for quick picks of dates
    closing_date: date | None = None  # the campaign's: a deadline after it is marked
    # A report begun minutes after the last one went in names it (its answer may have been lost).
    last_submitted: str | None = None


# --- the operations ----------------------------------------------------------------------------


async def begin_report(
    session: AsyncSession,
    *,
    account: Account,
    update_id: int | None,
    kind: str = RecordKind.HIDDEN_DANGER,
) -> ReportReply:
    """Start a report, or offer to resume the one already open."""
    user = await reporter(session, account)
    campaign = await require_campaign(session)
    if not await claim_update(session, update_id):
        return await _replay(session, user)
    draft = await open_draft(session, user.id)
    if draft is not None:
        last = await _just_submitted(session, user.id)
        await session.commit()
        view = await draft_view(session, draft)
        return ReportReply(view, resume_offer=True, prompt=False, last_submitted=last)
    draft = Draft(user_id=user.id, flow=DraftFlow.REPORT, kind=kind, step=Step.TASK.value, data={})
    session.add(draft)
    await session.flush()
    reply = await _reply(session, draft, user, campaign)
    await session.commit()
    return reply


async def begin_report_with_photo(
    session: AsyncSession,
    *,
    account: Account,
    update_id: int | None,
    given: Input,
    rules: ReportRules,
    now: datetime | None = None,
) -> ReportReply:
    """Start a report with the photo sent (photo first), its caption as the description, and
    ask the first step not answered; with a report already open, the photo goes to it (or
    waits for "add to it or start a new one")."""
    now = now or utcnow()
    user = await reporter(session, account)
    campaign = await require_campaign(session)
    if not await claim_update(session, update_id):
        return await _replay(session, user)
    if await open_draft(session, user.id) is not None:
        # Begun meanwhile (another process, or the person's own /report): answer that one.
        await session.rollback()
        return await answer_report(
            session, account=account, update_id=update_id, given=given, rules=rules, now=now
        )
    draft = new_quick_draft(user, now, album=given.album)
    session.add(draft)
    await session.flush()
    # Through the photos step's own function: the photo gets every check of that step.
    await STEPS[Step.PHOTOS](session, draft, user, account, campaign, given, rules, now)
    notices = await fill_quick_draft(session, draft, campaign, rules, now, caption=given.text)
    reply = await _reply(session, draft, user, campaign, now)
    await session.commit()
    return replace(reply, notices=notices + reply.notices)


async def resume_report(
    session: AsyncSession, *, account: Account, update_id: int | None, draft_id: int | None = None
) -> ReportReply:
    """Show the open draft at the step where the person stopped."""
    user = await reporter(session, account)
    campaign = await require_campaign(session)
    await claim_update(session, update_id)
    draft = await open_draft(session, user.id)
    if draft is not None and draft_id is not None and draft.id != draft_id:
        notice = await _stale_notice(session, user, draft_id)
        reply = await _reply(session, draft, user, campaign)
        await session.commit()
        return replace(reply, notices=[notice])
    if draft is None:
        await session.commit()
        return ReportReply(None, [Notice(N_("You have no report in progress. Send /report."))])
    reply = await _reply(session, draft, user, campaign)
    await session.commit()
    return reply


async def discard_report(
    session: AsyncSession, *, account: Account, update_id: int | None, draft_id: int | None = None
) -> ReportReply:
    """Throw the open draft away, saying what was in it.

    `draft_id` comes with a button: an old card's Cancel must not throw away today's draft.
    """
    row = await user_row(session, account, active_only=True)
    if row is not None and row.unit_id is None:  # an administrator of the whole campaign
        await claim_update(session, update_id)
        await session.commit()
        return ReportReply(None, [Notice(N_("There was no report in progress."))], prompt=False)
    user = await reporter(session, account)
    if not await claim_update(session, update_id):
        return await _replay(session, user)
    draft = await open_draft(session, user.id)
    if draft is not None and draft_id is not None and draft.id != draft_id:
        notice = await _stale_notice(session, user, draft_id)
        await session.commit()
        return ReportReply(await draft_view(session, draft), [notice], prompt=False)
    if draft is None:
        await session.commit()
        return ReportReply(None, [Notice(N_("There was no report in progress."))], prompt=False)
    view = await draft_view(session, draft)
    draft.status = DraftStatus.DISCARDED
    await session.execute(update(Photo).where(Photo.draft_id == draft.id).values(draft_id=None))
    await session.commit()
    return ReportReply(view, discarded=True, prompt=False)


async def current_step(session: AsyncSession, *, account: Account) -> Step | None:
    """Return the step of the person's open draft, or None (cheap: no rendering data)."""
    user = await user_row(session, account)
    if user is None:
        return None
    draft = await open_draft(session, user.id)
    return Step(draft.step) if draft else None


async def answer_report(
    session: AsyncSession,
    *,
    account: Account,
    update_id: int | None,
    given: Input,
    rules: ReportRules,
    draft_id: int | None = None,
    now: datetime | None = None,
) -> ReportReply:
    """Apply one answer to the open draft's current step and say what comes next.

    `draft_id` comes with a button press: a button of an older draft changes nothing.
    """
    now = now or utcnow()
    user = await reporter(session, account)
    campaign = await require_campaign(session)
    if not await claim_update(session, update_id):
        return await _replay(session, user)
    draft = await open_draft(session, user.id)
    if draft_id is not None and (draft is None or draft.id != draft_id):
        # A button of an earlier draft: say what became of it and change nothing.
        notice = await _stale_notice(session, user, draft_id)
        if draft is None:
            await session.commit()
            return ReportReply(None, [notice], prompt=False)
        reply = await _reply(session, draft, user, campaign)
        await session.commit()
        return replace(reply, notices=[notice])
    if draft is None:
        await session.commit()
        return ReportReply(
            None,
            [Notice(N_("That report is no longer open. Send /report to start a new one."))],
            prompt=False,
        )
    if given.kind == InputKind.BUTTON and given.button in HELD_ANSWERS:
        if not await held_count(session, draft):
            # The question was answered already (a second tap on it): nothing to move.
            reply = await _reply(session, draft, user, campaign, now)
            await session.commit()
            return replace(reply, notices=[Notice(N_("That question was answered already."))])
        if given.button == ADD_HELD:
            notices = await add_held(session, draft, rules)
        else:
            draft, notices = await new_from_held(session, draft, user, campaign, rules, now)
        reply = await _reply(session, draft, user, campaign, now)
        await session.commit()
        return replace(reply, notices=notices)
    if (
        given.kind == InputKind.BUTTON
        and given.button == "submit"
        and await held_count(session, draft)
    ):
        # Submitted with photos held, they would be lost: where they go is asked first.
        reply = await _reply(session, draft, user, campaign, now)
        await session.commit()
        return replace(reply, notices=[Notice(N_("First say where the photos you sent go."))])
    if (draft.data or {}).get("deadline_auto"):
        # A default deadline counts from the day the report is answered, not the day it began.
        set_default_deadline(draft, campaign, now)
    if (
        given.kind == InputKind.PHOTO
        and given.photo is not None
        and not joins_photos(draft, given.album)
    ):
        # A photo the report does not take now: kept, and the question asked.
        return await _hold(session, draft, user, campaign, given, now)
    handler = STEPS[Step.PHOTOS] if given.kind == InputKind.PHOTO else STEPS[Step(draft.step)]
    try:
        extra = await handler(session, draft, user, account, campaign, given, rules, now)
    except DomainError as err:
        # Wrong input: say why and stay on the step; nothing of the draft changes.
        reply = await _reply(session, draft, user, campaign, now)
        await session.commit()
        return replace(reply, notices=[Notice(err.key, dict(err.params))])
    notices = extra.notices if extra is not None else []
    if given.kind == InputKind.PHOTO:
        # The rest of an album: one of its photos may carry the caption, or the GPS.
        notices += take_caption(draft, given.text)
        await place_from_photos(session, draft, rules)
    elif (draft.data or {}).get("album_open"):
        set_data(draft, album_open=None)  # answered on: later photos ask where they go
    reply = await _reply(session, draft, user, campaign, now)
    await session.commit()
    if extra is None:
        return replace(reply, notices=notices + reply.notices)
    return replace(
        reply,
        notices=notices + reply.notices,
        submitted=extra.submitted or reply.submitted,
        prompt=extra.prompt and reply.prompt,
    )


async def _hold(
    session: AsyncSession,
    draft: Draft,
    user: User,
    campaign: CampaignInfo,
    given: Input,
    now: datetime,
) -> ReportReply:
    try:
        await hold_photo(session, draft, given)
    except DomainError as err:
        reply = await _reply(session, draft, user, campaign, now)
        await session.commit()
        return replace(reply, notices=[Notice(err.key, dict(err.params))])
    reply = await _reply(session, draft, user, campaign, now)
    await session.commit()
    return reply


async def _stale_notice(session: AsyncSession, user: User, draft_id: int) -> Notice:
    stale = await session.get(Draft, draft_id)
    if stale is not None and stale.user_id == user.id and stale.danger_id is not None:
        danger = await session.get(HiddenDanger, stale.danger_id)
        if danger is not None:
            return Notice(N_("Already submitted as {number}."), {"number": danger.number})
    return Notice(N_("That button belongs to a report that is no longer open."))


async def _just_submitted(session: AsyncSession, user_id: int) -> str | None:
    """The number of the person's report submitted minutes ago, if any.

    A crash can swallow the "Submitted" answer, and a replay of the update cannot say it
    again: whoever starts a report a few minutes later is told their last one went in, so it
    is not logged twice.
    """
    return await session.scalar(
        select(HiddenDanger.number)
        .join(Draft, Draft.danger_id == HiddenDanger.id)
        .where(
            Draft.user_id == user_id,
            # A report's draft: a rectification's draft names its hidden danger too.
            Draft.flow == DraftFlow.REPORT,
            Draft.status == DraftStatus.SUBMITTED,
            Draft.updated_at >= utcnow() - JUST_SUBMITTED,
        )
        .order_by(Draft.updated_at.desc())
        .limit(1)
    )


async def _replay(session: AsyncSession, user: User) -> ReportReply:
    """A redelivered update: change nothing, show where the draft stands."""
    user_id = user.id  # rollback expires the row; keep the id
    await session.rollback()
    user = await session.get(User, user_id) or user
    draft = await open_draft(session, user_id)
    if draft is None:
        return ReportReply(None, duplicate_update=True, prompt=False)
    campaign = await require_campaign(session)
    reply = await _reply(session, draft, user, campaign)
    return replace(reply, duplicate_update=True)


async def _reply(
    session: AsyncSession,
    draft: Draft,
    user: User,
    campaign: CampaignInfo,
    now: datetime | None = None,
) -> ReportReply:
    """Build the reply for the draft's current step, with the data its prompt needs."""
    now = now or utcnow()
    view = await draft_view(session, draft)
    data = draft.data or {}
    reply = ReportReply(
        view,
        today=now.astimezone(ZoneInfo(campaign.timezone)).date(),
        closing_date=campaign.closing_date,
    )
    if view.step == Step.TASK and user.unit_id is not None:
        query = data.get("task_query", "")
        page = int(data.get("task_page", 0))
        unit_ids = await unit_and_descendants(session, user.unit_id)
        likely = []
        if not query and page == 0:
            likely = await likely_tasks(
                session,
                user_id=user.id,
                unit_ids=unit_ids,
                campaign_id=campaign.id,
                site=view.site,
            )
        tasks = await task_page(
            session, unit_ids=unit_ids, campaign_id=campaign.id, query=query, page=page
        )
        # Nothing answered yet: say whether the last report went in (also when this prompt is
        # a replay's, the update that began the draft having come again after a crash).
        fresh = not data.get("task_id") and not data.get("quick")
        last = await _just_submitted(session, user.id) if fresh else None
        return replace(reply, tasks=tasks, likely_tasks=likely, last_submitted=last)
    if view.step == Step.SITE:
        sites = await likely_sites(
            session, user_id=user.id, latitude=view.latitude, longitude=view.longitude
        )
        return replace(reply, sites=sites)
    if view.step == Step.LOCATION:
        return replace(reply, last_place=await last_place(session, user_id=user.id, now=now))
    if view.step == Step.FIELD:
        return replace(reply, fields=await all_fields(session))
    if view.step == Step.CONFIRM:
        duplicates: list[str] = []
        if view.site and view.field and user.unit_id is not None:
            duplicates = await possible_duplicates(session, user.unit_id, view.site, view.field.id)
        return replace(reply, fields=await all_fields(session), possible_duplicates=duplicates)
    return reply
