"""The closed loop: reported → rectifying → submitted → closed, and back when rejected.

Every change is checked against `storage.permissions` on the server, made with a conditional
UPDATE (so of two people acting at once only one wins), written with its audit event, and
announced through the outbox, all in one transaction. Steps that need typing (a rejection's
reason, the after-photos of a rectification, an extension's date) are kept in an action
draft, like a report's, so they survive a restart too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account, accounts_of
from storage.audit import record_event
from storage.campaigns import require_campaign
from storage.clock import utcnow
from storage.conversation import (
    Input,
    InputKind,
    Notice,
    claim_update,
    plain,
    set_data,
    small_int,
)
from storage.dangers import DangerCard, danger_card
from storage.errors import N_, DomainError, Invalid
from storage.fraud import FAR_FROM_SITE_KM, fraud_checks
from storage.handover import candidates, hand_over, may_take_over
from storage.models import (
    DangerLevel,
    DangerStatus,
    Draft,
    DraftFlow,
    DraftStatus,
    Event,
    ExtensionRequest,
    ExtensionStatus,
    HiddenDanger,
    Photo,
    PhotoStage,
    Rectification,
    Role,
    User,
    Verdict,
)
from storage.notices import queue_notices
from storage.overdue import campaign_day
from storage.people import user_row
from storage.permissions import (
    Action,
    DangerFacts,
    NotAllowed,
    Viewer,
    allowed_actions,
    load_facts,
    load_viewer,
    require,
)
from storage.report import parse_deadline
from storage.units import unit_and_ancestors
from storage.uploads import MAX_PHOTOS

MAX_REASON = 500
MAX_NOTE = 800
MAX_MEASURE = 300

# 五落实: the five items a major hidden danger's rectification must settle.
FIVE_ITEMS = ("responsibility", "measures", "funds", "time_limit", "plan")

# The steps of each action draft, in order.
ACTION_STEPS: dict[str, tuple[str, ...]] = {
    Action.RECTIFY: ("photos", "note", "confirm"),
    Action.REJECT: ("reason",),
    Action.REFUSE: ("reason",),
    Action.REOPEN: ("reason",),
    Action.EXTEND: ("date", "reason"),
    Action.REASSIGN: ("person",),
}


# --- what operations return --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ExtensionInfo:
    id: int
    requested_by: str
    reason: str
    old_deadline: date
    new_deadline: date


@dataclass(frozen=True, slots=True)
class RoundInfo:
    """The latest rectification round."""

    id: int
    submitted_by: str
    note: str
    measures: dict[str, str]
    submitted_at: datetime
    verdict: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class DangerDetail:
    """A hidden danger's card as one person may see it, with what they may do now."""

    card: DangerCard
    days_left: int
    history: list[HistoryEntry]
    actions: list[Action]
    flags: list[Notice]
    extension: ExtensionInfo | None
    latest_round: RoundInfo | None
    before_paths: list[str]
    after_paths: list[str]


@dataclass(frozen=True, slots=True)
class ActionDraftView:
    id: int
    action: str
    step: str
    danger_id: int
    number: str
    major: bool
    photos: int
    data: dict[str, Any]
    # For a reassignment: who could take it over (user id, name).
    choices: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LoopReply:
    """What the front shows after a closed-loop operation."""

    detail: DangerDetail | None = None
    draft: ActionDraftView | None = None
    notices: list[Notice] = field(default_factory=list)
    done: Notice | None = None
    duplicate_update: bool = False
    prompt: bool = True


@dataclass(frozen=True, slots=True)
class LoopRules:
    far_km: float = FAR_FROM_SITE_KM


# --- one hidden danger ---------------------------------------------------------------------------


async def danger_detail(
    session: AsyncSession,
    *,
    account: Account,
    danger_id: int,
    rules: LoopRules | None = None,
    now: datetime | None = None,
) -> DangerDetail:
    """The card, history and allowed actions of one hidden danger, if this person may see it."""
    viewer = await load_viewer(session, account)
    danger, facts = await require(session, viewer=viewer, danger_id=danger_id, action=None)
    return await _detail(session, viewer, danger, facts, rules or LoopRules(), now or utcnow())


async def _detail(
    session: AsyncSession,
    viewer: Viewer,
    danger: HiddenDanger,
    facts: DangerFacts,
    rules: LoopRules,
    now: datetime,
) -> DangerDetail:
    campaign = await require_campaign(session)
    card = await danger_card(session, danger.id)
    events = list(
        await session.scalars(select(Event).where(Event.danger_id == danger.id).order_by(Event.id))
    )
    actions = allowed_actions(viewer, facts)
    ext = (
        await session.scalars(
            select(ExtensionRequest).where(
                ExtensionRequest.danger_id == danger.id,
                ExtensionRequest.status == ExtensionStatus.PENDING,
            )
        )
    ).first()
    latest = (
        await session.scalars(
            select(Rectification)
            .where(Rectification.danger_id == danger.id)
            .order_by(Rectification.id.desc())
            .limit(1)
        )
    ).first()
    # Only the names this card shows: a province has thousands of people.
    wanted = {e.actor_id for e in events if e.actor_id is not None}
    wanted |= {ext.requested_by_id} if ext else set()
    wanted |= {latest.submitted_by_id} if latest else set()
    names = dict(
        (await session.execute(select(User.id, User.name).where(User.id.in_(wanted)))).all()
    )
    history = [
        HistoryEntry(e.created_at, names.get(e.actor_id or 0, e.actor), e.action, dict(e.detail))
        for e in events
    ]
    extension = (
        ExtensionInfo(
            ext.id,
            names.get(ext.requested_by_id, ""),
            ext.reason,
            ext.old_deadline,
            ext.new_deadline,
        )
        if ext
        else None
    )
    latest_round = (
        RoundInfo(
            latest.id,
            names.get(latest.submitted_by_id, ""),
            latest.note,
            {k: str(v) for k, v in (latest.measures or {}).items()},
            latest.submitted_at,
            latest.verdict,
            latest.reason,
        )
        if latest
        else None
    )
    photos = list(
        await session.scalars(select(Photo).where(Photo.danger_id == danger.id).order_by(Photo.id))
    )
    before = [p for p in photos if p.stage == PhotoStage.BEFORE]
    after = [
        p
        for p in photos
        if p.stage == PhotoStage.AFTER and latest is not None and p.rectification_id == latest.id
    ]
    after_set = {p.path for p in after}
    flags: list[Notice] = []
    if Action.APPROVE in actions:
        flags = await fraud_checks(session, danger, before, after, far_km=rules.far_km)
    return DangerDetail(
        card=replace(card, after_photos=[c for c in card.after_photos if c.path in after_set]),
        days_left=(danger.deadline - campaign_day(campaign.timezone, now)).days,
        history=history,
        actions=sorted(actions, key=list(Action).index),
        flags=flags,
        extension=extension,
        latest_round=latest_round,
        before_paths=[p.path for p in before],
        after_paths=[p.path for p in after],
    )


# --- notifications -------------------------------------------------------------------------------


async def _supervisors_of(session: AsyncSession, unit_id: int) -> list[User]:
    """The supervisors of the unit; where it has none, those of the nearest unit above."""
    chain = await unit_and_ancestors(session, unit_id)
    supervisors = await session.scalars(
        select(User)
        .where(User.unit_id.in_(chain), User.role == Role.SUPERVISOR, User.active.is_(True))
        .order_by(User.id)
    )
    by_unit: dict[int | None, list[User]] = defaultdict(list)
    for person in supervisors:
        by_unit[person.unit_id].append(person)
    return next((by_unit[unit] for unit in chain if by_unit[unit]), [])


async def _announce(
    session: AsyncSession,
    viewer: Viewer,
    danger: HiddenDanger,
    action: str,
    detail: dict[str, Any],
    now: datetime,
    *,
    to: list[User],
    key: str,
    params: dict[str, Any],
) -> None:
    """Write the audit event of a change and queue its notice to the people concerned."""
    event = _event(session, viewer, danger, action, detail, now)
    await session.flush()
    queue_notices(
        session,
        users=to,
        key=key,
        params=params,
        danger_id=danger.id,
        event_id=event.id,
        now=now,
    )


async def _people(session: AsyncSession, *ids: int | None) -> list[User]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return []
    return list(await session.scalars(select(User).where(User.id.in_(wanted))))


# --- state changes -------------------------------------------------------------------------------


async def _move(
    session: AsyncSession, danger: HiddenDanger, *, frm: str, to: str, now: datetime
) -> None:
    """Change status only if nobody changed it first; else refuse."""
    values: dict[str, Any] = {"status": to, "updated_at": now}
    if to == DangerStatus.CLOSED:
        values["closed_at"] = now
    elif frm == DangerStatus.CLOSED:
        values["closed_at"] = None
    result = await session.execute(
        update(HiddenDanger)
        .where(HiddenDanger.id == danger.id, HiddenDanger.status == frm)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise NotAllowed()
    await session.refresh(danger)


def _event(
    session: AsyncSession,
    viewer: Viewer,
    danger: HiddenDanger,
    action: str,
    detail: dict[str, Any],
    now: datetime,
) -> Event:
    return record_event(
        session,
        action=action,
        actor=viewer.actor,
        actor_id=viewer.user_id,
        danger_id=danger.id,
        subject=danger.number,
        detail=detail,
        now=now,
    )


async def act(
    session: AsyncSession,
    *,
    account: Account,
    danger_id: int,
    action: Action,
    update_id: int | None,
    rules: LoopRules | None = None,
    now: datetime | None = None,
) -> LoopReply:
    """Take a one-tap action (start, approve, grant) or begin one that needs typing."""
    now = now or utcnow()
    rules = rules or LoopRules()
    viewer = await load_viewer(session, account)
    if not await claim_update(session, update_id):
        await session.rollback()
        return LoopReply(duplicate_update=True, prompt=False)
    danger, facts = await require(session, viewer=viewer, danger_id=danger_id, action=action)
    if action in ACTION_STEPS:
        return await _begin_action(session, viewer, danger, action, now)
    done: Notice
    if action == Action.START:
        await _move(session, danger, frm=DangerStatus.REPORTED, to=DangerStatus.RECTIFYING, now=now)
        _event(session, viewer, danger, "danger.rectifying", {}, now)
        done = Notice(N_("{number}: rectification started."), {"number": danger.number})
    elif action == Action.APPROVE:
        round_ = await _open_round(session, danger.id)
        await _move(session, danger, frm=DangerStatus.SUBMITTED, to=DangerStatus.CLOSED, now=now)
        round_.verdict, round_.verified_by_id, round_.verified_at = (
            Verdict.APPROVED,
            viewer.user_id,
            now,
        )
        await _announce(
            session,
            viewer,
            danger,
            "danger.closed",
            {"round": round_.id},
            now,
            to=await _people(session, danger.responsible_id, danger.reporter_id),
            key=N_("✅ {number} was verified and closed by {name}."),
            params={"number": danger.number, "name": viewer.name},
        )
        done = Notice(N_("{number} is closed."), {"number": danger.number})
    elif action == Action.GRANT:
        ext = await _decide_extension(
            session, danger.id, status=ExtensionStatus.GRANTED, by=viewer.user_id, now=now
        )
        old = danger.deadline
        danger.deadline = ext.new_deadline
        danger.updated_at = now
        await _announce(
            session,
            viewer,
            danger,
            "danger.extension_granted",
            {"from": old.isoformat(), "to": ext.new_deadline.isoformat()},
            now,
            to=await _people(session, ext.requested_by_id),
            key=N_("The deadline of {number} is now {date} (extension granted by {name})."),
            params={
                "number": danger.number,
                "date": ext.new_deadline.isoformat(),
                "name": viewer.name,
            },
        )
        done = Notice(
            N_("Extension granted: {number} is due {date}."),
            {"number": danger.number, "date": ext.new_deadline.isoformat()},
        )
    else:
        raise NotAllowed()
    await session.commit()
    facts = await load_facts(session, danger)
    detail = await _detail(session, viewer, danger, facts, rules, now)
    return LoopReply(detail=detail, done=done, prompt=False)


async def _open_round(session: AsyncSession, danger_id: int) -> Rectification:
    round_ = (
        await session.scalars(
            select(Rectification)
            .where(Rectification.danger_id == danger_id, Rectification.verdict.is_(None))
            .order_by(Rectification.id.desc())
        )
    ).first()
    if round_ is None:
        raise NotAllowed()
    return round_


async def _decide_extension(
    session: AsyncSession,
    danger_id: int,
    *,
    status: ExtensionStatus,
    by: int,
    now: datetime,
    reason: str | None = None,
) -> ExtensionRequest:
    """Grant or refuse the pending extension: one conditional UPDATE, so of two supervisors
    deciding at the same moment exactly one does (the other is told it moved on)."""
    ext = (
        await session.scalars(
            select(ExtensionRequest).where(
                ExtensionRequest.danger_id == danger_id,
                ExtensionRequest.status == ExtensionStatus.PENDING,
            )
        )
    ).first()
    if ext is None:
        raise NotAllowed()
    decided = await session.execute(
        update(ExtensionRequest)
        .where(ExtensionRequest.id == ext.id, ExtensionRequest.status == ExtensionStatus.PENDING)
        .values(status=status, decided_by_id=by, decided_at=now, decision_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if decided.rowcount != 1:  # type: ignore[attr-defined]
        raise NotAllowed()
    await session.refresh(ext)
    return ext


# --- action drafts -------------------------------------------------------------------------------


async def _open_action(session: AsyncSession, user_id: int) -> Draft | None:
    return (
        await session.scalars(
            select(Draft)
            .where(
                Draft.user_id == user_id,
                Draft.flow == DraftFlow.ACTION,
                Draft.status == DraftStatus.OPEN,
            )
            .with_for_update()
        )
    ).first()


def _steps(draft: Draft) -> tuple[str, ...]:
    data = draft.data or {}
    steps = ACTION_STEPS[draft.kind]
    if draft.kind == Action.RECTIFY and data.get("major"):
        return FIVE_ITEMS + steps
    return steps


async def _draft_view(session: AsyncSession, draft: Draft) -> ActionDraftView:
    data = dict(draft.data or {})
    count = await session.scalar(
        select(func.count()).select_from(Photo).where(Photo.draft_id == draft.id)
    )
    choices: list[tuple[int, str]] = []
    if draft.step == "person":
        danger = await session.get(HiddenDanger, int(data["danger_id"]))
        choices = await candidates(session, danger) if danger is not None else []
    return ActionDraftView(
        id=draft.id,
        action=draft.kind,
        step=draft.step,
        danger_id=int(data["danger_id"]),
        number=str(data.get("number", "")),
        major=bool(data.get("major")),
        photos=count or 0,
        data=data,
        choices=choices,
    )


async def _begin_action(
    session: AsyncSession, viewer: Viewer, danger: HiddenDanger, action: Action, now: datetime
) -> LoopReply:
    old = await _open_action(session, viewer.user_id)
    if old is not None:  # one typed action at a time: a new one replaces the old
        old.status = DraftStatus.DISCARDED
        await session.execute(update(Photo).where(Photo.draft_id == old.id).values(draft_id=None))
        await session.flush()
    major = danger.level == DangerLevel.MAJOR
    draft = Draft(
        user_id=viewer.user_id,
        flow=DraftFlow.ACTION,
        kind=action.value,
        step="",
        data={"danger_id": danger.id, "number": danger.number, "major": major},
        created_at=now,
        updated_at=now,
    )
    draft.step = _steps(draft)[0]
    session.add(draft)
    await session.flush()
    view = await _draft_view(session, draft)
    await session.commit()
    return LoopReply(draft=view)


async def current_action(session: AsyncSession, *, account: Account) -> ActionDraftView | None:
    """The person's open action draft, if any."""
    user = await user_row(session, account)
    if user is None:
        return None
    draft = await _open_action(session, user.id)
    return await _draft_view(session, draft) if draft else None


async def cancel_action(
    session: AsyncSession, *, account: Account, update_id: int | None
) -> ActionDraftView | None:
    """Drop the open action draft; return what it was."""
    viewer = await load_viewer(session, account)
    await claim_update(session, update_id)
    draft = await _open_action(session, viewer.user_id)
    if draft is None:
        # Leave the update unclaimed: the caller may hand it to the report flow next.
        await session.rollback()
        return None
    view = await _draft_view(session, draft)
    draft.status = DraftStatus.DISCARDED
    await session.execute(update(Photo).where(Photo.draft_id == draft.id).values(draft_id=None))
    await session.commit()
    return view


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
        draft = await _open_action(session, viewer.user_id)
        view = await _draft_view(session, draft) if draft else None
        return LoopReply(draft=view, duplicate_update=True)
    draft = await _open_action(session, viewer.user_id)
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
        view = await _draft_view(session, draft)
        await session.commit()
        return LoopReply(draft=view, notices=[Notice(err.key, dict(err.params))])
    if finished is None:
        view = await _draft_view(session, draft)
        await session.commit()
        return LoopReply(draft=view)
    await session.commit()
    facts = await load_facts(session, danger)
    detail = await _detail(session, viewer, danger, facts, rules, now)
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
    steps = _steps(draft)
    step = draft.step
    if given.kind == InputKind.BUTTON and given.button == "back" and steps.index(step) > 0:
        draft.step = steps[steps.index(step) - 1]
        return None
    if step in FIVE_ITEMS:
        set_data(draft, **{step: _text(given, least=2, most=MAX_MEASURE)})
    elif step == "photos":
        if given.kind == InputKind.BUTTON and given.button == "done":
            count = await session.scalar(
                select(func.count()).select_from(Photo).where(Photo.draft_id == draft.id)
            )
            if not count:
                raise Invalid(N_("Send at least one photo of the rectified site first."))
        elif given.kind == InputKind.PHOTO and given.photo is not None:
            await _add_after_photo(session, draft, given)
            return None
        else:
            raise Invalid(N_("Please send a photo (or an image file), or tap Done."))
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
    return await _finish(session, viewer, draft, danger, now)


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


async def _finish(
    session: AsyncSession, viewer: Viewer, draft: Draft, danger: HiddenDanger, now: datetime
) -> Notice:
    data = dict(draft.data or {})
    action = Action(draft.kind)
    if action == Action.RECTIFY:
        measures = {k: data[k] for k in FIVE_ITEMS if k in data}
        round_ = Rectification(
            danger_id=danger.id,
            submitted_by_id=viewer.user_id,
            note=data.get("note", ""),
            measures=measures,
            submitted_at=now,
        )
        session.add(round_)
        await session.flush()
        await session.execute(
            update(Photo)
            .where(Photo.draft_id == draft.id)
            .values(danger_id=danger.id, draft_id=None, rectification_id=round_.id)
        )
        await _move(session, danger, frm=danger.status, to=DangerStatus.SUBMITTED, now=now)
        await _announce(
            session,
            viewer,
            danger,
            "danger.rectification_submitted",
            {"round": round_.id, "note": round_.note, "measures": measures},
            now,
            to=await _supervisors_of(session, danger.unit_id),
            key=N_("🔍 {number} ({site}) was rectified by {name} and awaits your verification."),
            params={"number": danger.number, "site": danger.site, "name": viewer.name},
        )
        draft.danger_id = danger.id
        return Notice(
            N_("{number}: rectification submitted for verification."), {"number": danger.number}
        )
    if action == Action.REJECT:
        round_ = await _open_round(session, danger.id)
        await _move(
            session, danger, frm=DangerStatus.SUBMITTED, to=DangerStatus.RECTIFYING, now=now
        )
        round_.verdict, round_.verified_by_id = Verdict.REJECTED, viewer.user_id
        round_.verified_at, round_.reason = now, data["reason"]
        await _announce(
            session,
            viewer,
            danger,
            "danger.rejected",
            {"round": round_.id, "reason": data["reason"]},
            now,
            to=await _people(session, round_.submitted_by_id, danger.responsible_id),
            key=N_("↩️ The rectification of {number} was rejected by {name}: {reason}"),
            params={"number": danger.number, "name": viewer.name, "reason": data["reason"]},
        )
        return Notice(N_("{number} sent back for rectification."), {"number": danger.number})
    if action == Action.REASSIGN:
        successor = await session.get(User, int(data["person_id"]))
        assert successor is not None
        moved = await hand_over(
            session,
            [danger],
            to=successor,
            actor=viewer.actor,
            actor_id=viewer.user_id,
            reason="reassigned",
            now=now,
        )
        if not moved:
            raise NotAllowed()
        return Notice(
            N_("{name} answers for {number} now."),
            {"name": successor.name or accounts_of(successor)[0].actor, "number": danger.number},
        )
    if action == Action.REOPEN:
        await _move(session, danger, frm=DangerStatus.CLOSED, to=DangerStatus.RECTIFYING, now=now)
        await _announce(
            session,
            viewer,
            danger,
            "danger.reopened",
            {"reason": data["reason"]},
            now,
            to=await _people(session, danger.responsible_id),
            key=N_("🔁 {number} was reopened by {name}: {reason}"),
            params={"number": danger.number, "name": viewer.name, "reason": data["reason"]},
        )
        return Notice(N_("{number} is reopened."), {"number": danger.number})
    if action == Action.EXTEND:
        new_deadline = date.fromisoformat(data["new_deadline"])
        ext = ExtensionRequest(
            danger_id=danger.id,
            requested_by_id=viewer.user_id,
            reason=data["reason"],
            old_deadline=danger.deadline,
            new_deadline=new_deadline,
            created_at=now,
        )
        session.add(ext)
        await _announce(
            session,
            viewer,
            danger,
            "danger.extension_requested",
            {"to": new_deadline.isoformat(), "reason": data["reason"]},
            now,
            to=await _supervisors_of(session, danger.unit_id),
            key=N_("⏳ {name} asks to move the deadline of {number} to {date}: {reason}"),
            params={
                "name": viewer.name,
                "number": danger.number,
                "date": new_deadline.isoformat(),
                "reason": data["reason"],
            },
        )
        return Notice(N_("Extension requested for {number}."), {"number": danger.number})
    if action == Action.REFUSE:
        ext = await _decide_extension(
            session,
            danger.id,
            status=ExtensionStatus.REFUSED,
            by=viewer.user_id,
            now=now,
            reason=data["reason"],
        )
        await _announce(
            session,
            viewer,
            danger,
            "danger.extension_refused",
            {"reason": data["reason"]},
            now,
            to=await _people(session, ext.requested_by_id),
            key=N_("The extension for {number} was refused by {name}: {reason}"),
            params={"number": danger.number, "name": viewer.name, "reason": data["reason"]},
        )
        return Notice(N_("Extension refused for {number}."), {"number": danger.number})
    raise NotAllowed()
