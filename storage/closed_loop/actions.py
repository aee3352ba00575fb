"""One-tap actions of the closed loop (start, approve, grant), or the beginning of a typed one
(Rectify begins the rectification of a danger still reported as it opens its steps)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account
from storage.clock import utcnow
from storage.closed_loop.changes import (
    announce,
    decide_extension,
    move_status,
    open_round,
    people_by_id,
    record_change,
)
from storage.closed_loop.detail import detail_for
from storage.closed_loop.drafts import ACTION_STEPS, begin_action
from storage.closed_loop.replies import LoopReply, LoopRules
from storage.conversation import (
    Notice,
    claim_update,
)
from storage.errors import N_
from storage.models import (
    DangerStatus,
    ExtensionStatus,
    HiddenDanger,
    Verdict,
)
from storage.permissions import (
    Action,
    NotAllowed,
    Viewer,
    load_facts,
    load_viewer,
    require,
)


async def _start(
    session: AsyncSession, viewer: Viewer, danger: HiddenDanger, now: datetime
) -> Notice:
    """Start the rectification of a reported danger."""
    await move_status(
        session, danger, frm=DangerStatus.REPORTED, to=DangerStatus.RECTIFYING, now=now
    )
    record_change(session, viewer, danger, "danger.rectifying", {}, now)
    return Notice(N_("{number}: rectification started."), {"number": danger.number})


async def _approve(
    session: AsyncSession, viewer: Viewer, danger: HiddenDanger, now: datetime
) -> Notice:
    """Close the danger: the open round is approved; tell who rectified and who reported."""
    round_ = await open_round(session, danger.id)
    await move_status(session, danger, frm=DangerStatus.SUBMITTED, to=DangerStatus.CLOSED, now=now)
    round_.verdict, round_.verified_by_id, round_.verified_at = (
        Verdict.APPROVED,
        viewer.user_id,
        now,
    )
    await announce(
        session,
        viewer,
        danger,
        "danger.closed",
        {"round": round_.id},
        now,
        to=await people_by_id(session, danger.responsible_id, danger.reporter_id),
        key=N_("✅ {number} was verified and closed by {name}."),
        params={"number": danger.number, "name": viewer.name},
    )
    return Notice(N_("{number} is closed."), {"number": danger.number})


async def _grant(
    session: AsyncSession, viewer: Viewer, danger: HiddenDanger, now: datetime
) -> Notice:
    """Grant the pending extension: the deadline moves; tell who asked."""
    ext = await decide_extension(
        session, danger.id, status=ExtensionStatus.GRANTED, by=viewer.user_id, now=now
    )
    old = danger.deadline
    danger.deadline = ext.new_deadline
    danger.updated_at = now
    await announce(
        session,
        viewer,
        danger,
        "danger.extension_granted",
        {"from": old.isoformat(), "to": ext.new_deadline.isoformat()},
        now,
        to=await people_by_id(session, ext.requested_by_id),
        key=N_("The deadline of {number} is now {date} (extension granted by {name})."),
        params={
            "number": danger.number,
            "date": ext.new_deadline.isoformat(),
            "name": viewer.name,
        },
    )
    return Notice(
        N_("Extension granted: {number} is due {date}."),
        {"number": danger.number, "date": ext.new_deadline.isoformat()},
    )


_ONE_TAP = {
    Action.START: _start,
    Action.APPROVE: _approve,
    Action.GRANT: _grant,
}


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
    if action == Action.RECTIFY and danger.status == DangerStatus.REPORTED:
        # Rectify on a danger still reported starts its rectification too: one tap, not two,
        # and the trail still says when it began.
        await _start(session, viewer, danger, now)
    if action in ACTION_STEPS:
        return await begin_action(session, viewer, danger, action, now)
    one_tap = _ONE_TAP.get(action)
    if one_tap is None:
        raise NotAllowed()
    done = await one_tap(session, viewer, danger, now)
    await session.commit()
    facts = await load_facts(session, danger)
    detail = await detail_for(session, viewer, danger, facts, rules, now)
    return LoopReply(detail=detail, done=done, prompt=False)
