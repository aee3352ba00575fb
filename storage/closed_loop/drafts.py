"""Action drafts: the steps of an action that needs typing, kept in a draft to survive a restart."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account
from storage.campaigns import require_campaign
from storage.closed_loop.replies import ActionDraftView, LoopReply
from storage.conversation import (
    claim_update,
    open_draft_of,
)
from storage.handover import candidates
from storage.models import (
    DangerLevel,
    Draft,
    DraftFlow,
    DraftStatus,
    HiddenDanger,
    Photo,
    Unit,
    User,
)
from storage.people import user_row
from storage.permissions import (
    Action,
    Viewer,
    load_viewer,
)

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


async def open_action(session: AsyncSession, user_id: int) -> Draft | None:
    return await open_draft_of(session, user_id, DraftFlow.ACTION)


def steps_of(draft: Draft) -> tuple[str, ...]:
    data = draft.data or {}
    steps = ACTION_STEPS[draft.kind]
    if draft.kind == Action.RECTIFY and data.get("major"):
        return FIVE_ITEMS + steps
    return steps


async def action_draft_view(session: AsyncSession, draft: Draft) -> ActionDraftView:
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


async def suggested_items(
    session: AsyncSession, danger: HiddenDanger, now: datetime
) -> dict[str, str]:
    """What the report already settles of the five items, offered for one-tap acceptance: who
    answers for it (person and unit) and by when (its deadline, unless that has passed)."""
    person = await session.get(User, danger.responsible_id or danger.reporter_id)
    unit = await session.get(Unit, danger.unit_id)
    who = ", ".join(n for n in (person.name if person else "", unit.name if unit else "") if n)
    campaign = await require_campaign(session)
    today = now.astimezone(ZoneInfo(campaign.timezone)).date()
    suggested = {}
    if danger.deadline >= today:
        suggested["time_limit"] = danger.deadline.isoformat()
    if who:
        suggested["responsibility"] = who
    return suggested


async def begin_action(
    session: AsyncSession, viewer: Viewer, danger: HiddenDanger, action: Action, now: datetime
) -> LoopReply:
    old = await open_action(session, viewer.user_id)
    if old is not None and old.kind == action and (old.data or {}).get("danger_id") == danger.id:
        # The same action on the same danger again (a second tap on the card): go on with it,
        # photos and answers kept.
        view = await action_draft_view(session, old)
        await session.commit()
        return LoopReply(draft=view)
    if old is not None:  # one typed action at a time: a new one replaces the old
        old.status = DraftStatus.DISCARDED
        await session.execute(update(Photo).where(Photo.draft_id == old.id).values(draft_id=None))
        await session.flush()
    major = danger.level == DangerLevel.MAJOR
    data: dict[str, object] = {"danger_id": danger.id, "number": danger.number, "major": major}
    if major and action == Action.RECTIFY:
        data["suggested"] = await suggested_items(session, danger, now)
    draft = Draft(
        user_id=viewer.user_id,
        flow=DraftFlow.ACTION,
        kind=action.value,
        step="",
        data=data,
        created_at=now,
        updated_at=now,
    )
    draft.step = steps_of(draft)[0]
    session.add(draft)
    await session.flush()
    view = await action_draft_view(session, draft)
    await session.commit()
    return LoopReply(draft=view)


async def current_action(session: AsyncSession, *, account: Account) -> ActionDraftView | None:
    """The person's open action draft, if any."""
    user = await user_row(session, account)
    if user is None:
        return None
    draft = await open_action(session, user.id)
    return await action_draft_view(session, draft) if draft else None


async def cancel_action(
    session: AsyncSession, *, account: Account, update_id: int | None
) -> ActionDraftView | None:
    """Drop the open action draft; return what it was."""
    viewer = await load_viewer(session, account)
    await claim_update(session, update_id)
    draft = await open_action(session, viewer.user_id)
    if draft is None:
        # Leave the update unclaimed: the caller may hand it to the report flow next.
        await session.rollback()
        return None
    view = await action_draft_view(session, draft)
    draft.status = DraftStatus.DISCARDED
    await session.execute(update(Photo).where(Photo.draft_id == draft.id).values(draft_id=None))
    await session.commit()
    return view
