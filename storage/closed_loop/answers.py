"""Answering an action draft's steps: a text, the after-photos, a new deadline, a successor."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account
from storage.campaigns import require_campaign
from storage.clock import utcnow
from storage.closed_loop.detail import detail_for
from storage.closed_loop.drafts import FIVE_ITEMS, action_draft_view, open_action, steps_of
from storage.closed_loop.finish import finish
from storage.closed_loop.replies import LoopReply, LoopRules
from storage.conversation import (
    Input,
    InputKind,
    Notice,
    claim_update,
    plain,
    set_data,
    small_int,
)
from storage.errors import N_, DomainError, Invalid
from storage.handover import may_take_over
from storage.models import (
    Draft,
    DraftStatus,
    HiddenDanger,
    Photo,
    PhotoStage,
    User,
)
from storage.overdue import campaign_day
from storage.permissions import (
    Action,
    NotAllowed,
    Viewer,
    load_facts,
    load_viewer,
    require,
)
from storage.report import parse_deadline
from storage.uploads import MAX_PHOTOS

MAX_REASON = 500
MAX_NOTE = 800
MAX_MEASURE = 300


async def answer_action(
    session: AsyncSession,
    *,
    account: Account,
    update_id: int | None,
    given: Input,
    draft_id: int | None = None,
    rules: LoopRules | None = None,
    now: datetime | None = None,
) -> LoopReply:
    """Apply one answer to the open action draft; finish the action at its last step."""
    now = now or utcnow()
    rules = rules or LoopRules()
    viewer = await load_viewer(session, account)
    if not await claim_update(session, update_id):
        await session.rollback()
        draft = await open_action(session, viewer.user_id)
        view = await action_draft_view(session, draft) if draft else None
        return LoopReply(draft=view, duplicate_update=True)
    draft = await open_action(session, viewer.user_id)
    if draft is None or (draft_id is not None and draft.id != draft_id):
        await session.commit()
        return LoopReply(
            notices=[Notice(N_("That is no longer waiting for an answer."))], prompt=False
        )
    data = dict(draft.data or {})
    # The hidden danger may have moved on since the draft began: check again.
    try:
        danger, facts = await require(
            session, viewer=viewer, danger_id=int(data["danger_id"]), action=Action(draft.kind)
        )
    except NotAllowed:
        draft.status = DraftStatus.DISCARDED
        await session.commit()
        raise
    try:
        finished = await _apply(session, viewer, draft, danger, given, now)
    except DomainError as err:
        view = await action_draft_view(session, draft)
        await session.commit()
        return LoopReply(draft=view, notices=[Notice(err.key, dict(err.params))])
    if finished is None:
        view = await action_draft_view(session, draft)
        await session.commit()
        return LoopReply(draft=view)
    await session.commit()
    facts = await load_facts(session, danger)
    detail = await detail_for(session, viewer, danger, facts, rules, now)
    return LoopReply(detail=detail, done=finished, prompt=False)


def _text(given: Input, *, least: int, most: int) -> str:
    if given.kind != InputKind.TEXT:
        raise Invalid(N_("Please answer with text."))
    text = plain(given.text).strip()
    if len(text) < least:
        raise Invalid(N_("Please write a little more."))
    if len(text) > most:
        raise Invalid(N_("Please keep it within {max} characters."), max=most)
    return text


async def _apply(
    session: AsyncSession,
    viewer: Viewer,
    draft: Draft,
    danger: HiddenDanger,
    given: Input,
    now: datetime,
) -> Notice | None:
    """Apply one answer; return the closing notice when the action is done, else None."""
    steps = steps_of(draft)
    step = draft.step
    if given.kind == InputKind.BUTTON and given.button == "back" and steps.index(step) > 0:
        draft.step = steps[steps.index(step) - 1]
        return None
    if step in FIVE_ITEMS:
        set_data(draft, **{step: _five_item(draft, given)})
    elif step == "photos":
        leads_to = await _photos_answer(session, draft, given)
        if leads_to is None:
            return None
        if leads_to == "submit":
            draft.status = DraftStatus.SUBMITTED
            return await finish(session, viewer, draft, danger, now)
        # Done: on to the note, or past it when a caption or a text gave it already.
        draft.step = "confirm" if (draft.data or {}).get("note") else "note"
        draft.updated_at = now
        return None
    elif step == "note":
        set_data(draft, note=_text(given, least=2, most=MAX_NOTE))
    elif step == "reason":
        set_data(draft, reason=_text(given, least=2, most=MAX_REASON))
    elif step == "date":
        set_data(draft, new_deadline=(await _new_deadline(session, danger, given, now)).isoformat())
    elif step == "person":
        set_data(draft, person_id=await _successor_chosen(session, danger, given))
    elif step == "confirm" and not (given.kind == InputKind.BUTTON and given.button == "submit"):
        raise Invalid(N_("Please choose with the buttons below."))
    position = steps.index(step)
    if position + 1 < len(steps):
        draft.step = steps[position + 1]
        draft.updated_at = now
        return None
    draft.status = DraftStatus.SUBMITTED
    return await finish(session, viewer, draft, danger, now)


def _five_item(draft: Draft, given: Input) -> str:
    """One of the five items: the suggestion taken with one tap, or typed."""
    suggested = (draft.data or {}).get("suggested") or {}
    if given.kind == InputKind.BUTTON and given.button == "accept" and suggested.get(draft.step):
        return str(suggested[draft.step])
    return _text(given, least=2, most=MAX_MEASURE)


async def _photos_answer(session: AsyncSession, draft: Draft, given: Input) -> str | None:
    """An answer at the after-photos step: a photo (its caption is the note), the note typed,
    Done or Submit. Return where it leads: None (stay), "done" or "submit"."""
    if given.kind == InputKind.PHOTO and given.photo is not None:
        await _add_after_photo(session, draft, given)
        # An album carries its caption on one photo only: the others leave the note alone.
        caption = plain(given.text).strip()
        if len(caption) >= 2:
            set_data(draft, note=caption[:MAX_NOTE])
        return None
    if given.kind == InputKind.TEXT:
        set_data(draft, note=_text(given, least=2, most=MAX_NOTE))
        return None
    if given.kind == InputKind.BUTTON and given.button in ("done", "submit"):
        count = await session.scalar(
            select(func.count()).select_from(Photo).where(Photo.draft_id == draft.id)
        )
        if not count:
            raise Invalid(N_("Send at least one photo of the rectified site first."))
        if given.button == "done":
            return "done"
        if not (draft.data or {}).get("note"):
            raise Invalid(N_("Write in a few words what was done first."))
        return "submit"
    raise Invalid(N_("Please send a photo (or an image file), or tap Done."))


async def _successor_chosen(session: AsyncSession, danger: HiddenDanger, given: Input) -> int:
    """The person a reassignment names: one of the offered buttons, re-checked here."""
    chosen = (
        small_int(given.button.removeprefix("person:"))
        if given.kind == InputKind.BUTTON and given.button.startswith("person:")
        else None
    )
    person = await session.get(User, chosen) if chosen is not None else None
    current = danger.responsible_id or danger.reporter_id
    if (
        person is None
        or person.id == current
        or not await may_take_over(session, person, danger.unit_id)
    ):
        raise Invalid(N_("Please choose with the buttons below."))
    return person.id


async def _add_after_photo(session: AsyncSession, draft: Draft, given: Input) -> None:
    assert given.photo is not None
    new = given.photo
    photos = list(await session.scalars(select(Photo).where(Photo.draft_id == draft.id)))
    if any(p.sha256 == new.sha256 for p in photos):
        raise Invalid(N_("You already sent this photo."))
    if len(photos) >= MAX_PHOTOS:
        raise Invalid(N_("That is {max} photos already, the most a report holds."), max=MAX_PHOTOS)
    session.add(new.as_row(draft_id=draft.id, stage=PhotoStage.AFTER, user_id=draft.user_id))
    await session.flush()


async def _new_deadline(
    session: AsyncSession, danger: HiddenDanger, given: Input, now: datetime
) -> date:
    campaign = await require_campaign(session)
    today = campaign_day(campaign.timezone, now)
    if given.kind == InputKind.BUTTON and given.button.startswith("days:"):
        days = small_int(given.button.removeprefix("days:"))
        if days is None or not 1 <= days <= 90:
            raise Invalid(N_("Please choose with the buttons below."))
        chosen = danger.deadline + timedelta(days=days)
    elif given.kind == InputKind.TEXT:
        parsed = parse_deadline(given.text, today=today)
        if parsed is None:
            raise Invalid(
                N_("“{text}” is not a date I can read. Type it like 2026-12-05 or 12月5日."),
                text=given.text.strip()[:40],
            )
        chosen = parsed
    else:
        raise Invalid(N_("Please choose a deadline below or type a date like 2026-12-05."))
    if chosen <= danger.deadline or chosen < today:
        raise Invalid(
            N_("The new deadline must be after the current one, {date}."),
            date=danger.deadline.isoformat(),
        )
    return chosen
