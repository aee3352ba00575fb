"""Finishing an action draft at its last step: one function per action, picked from a table."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import accounts_of
from storage.closed_loop.changes import (
    announce,
    decide_extension,
    move_status,
    open_round,
    people_by_id,
    supervisors_of,
)
from storage.closed_loop.drafts import FIVE_ITEMS
from storage.conversation import (
    Notice,
)
from storage.errors import N_
from storage.handover import hand_over
from storage.models import (
    DangerStatus,
    Draft,
    ExtensionRequest,
    ExtensionStatus,
    HiddenDanger,
    Photo,
    Rectification,
    User,
    Verdict,
)
from storage.permissions import (
    Action,
    NotAllowed,
    Viewer,
)


async def _rectify(
    session: AsyncSession,
    viewer: Viewer,
    draft: Draft,
    danger: HiddenDanger,
    data: dict[str, Any],
    now: datetime,
) -> Notice:
    """Open a rectification round with the after-photos; ask the supervisors to verify."""
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
    await move_status(session, danger, frm=danger.status, to=DangerStatus.SUBMITTED, now=now)
    await announce(
        session,
        viewer,
        danger,
        "danger.rectification_submitted",
        {"round": round_.id, "note": round_.note, "measures": measures},
        now,
        to=await supervisors_of(session, danger.unit_id),
        key=N_("🔍 {number} ({site}) was rectified by {name} and awaits your verification."),
        params={"number": danger.number, "site": danger.site, "name": viewer.name},
    )
    draft.danger_id = danger.id
    return Notice(
        N_("{number}: rectification submitted for verification."), {"number": danger.number}
    )


async def _reject(
    session: AsyncSession,
    viewer: Viewer,
    draft: Draft,
    danger: HiddenDanger,
    data: dict[str, Any],
    now: datetime,
) -> Notice:
    """Send the danger back for rectification, saying why, to who rectified it."""
    round_ = await open_round(session, danger.id)
    await move_status(
        session, danger, frm=DangerStatus.SUBMITTED, to=DangerStatus.RECTIFYING, now=now
    )
    round_.verdict, round_.verified_by_id = Verdict.REJECTED, viewer.user_id
    round_.verified_at, round_.reason = now, data["reason"]
    await announce(
        session,
        viewer,
        danger,
        "danger.rejected",
        {"round": round_.id, "reason": data["reason"]},
        now,
        to=await people_by_id(session, round_.submitted_by_id, danger.responsible_id),
        key=N_("↩️ The rectification of {number} was rejected by {name}: {reason}"),
        params={"number": danger.number, "name": viewer.name, "reason": data["reason"]},
    )
    return Notice(N_("{number} sent back for rectification."), {"number": danger.number})


async def _reassign(
    session: AsyncSession,
    viewer: Viewer,
    draft: Draft,
    danger: HiddenDanger,
    data: dict[str, Any],
    now: datetime,
) -> Notice:
    """Hand the danger over to the successor chosen."""
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


async def _reopen(
    session: AsyncSession,
    viewer: Viewer,
    draft: Draft,
    danger: HiddenDanger,
    data: dict[str, Any],
    now: datetime,
) -> Notice:
    """Reopen a closed danger, saying why, to who answers for it."""
    await move_status(session, danger, frm=DangerStatus.CLOSED, to=DangerStatus.RECTIFYING, now=now)
    await announce(
        session,
        viewer,
        danger,
        "danger.reopened",
        {"reason": data["reason"]},
        now,
        to=await people_by_id(session, danger.responsible_id),
        key=N_("🔁 {number} was reopened by {name}: {reason}"),
        params={"number": danger.number, "name": viewer.name, "reason": data["reason"]},
    )
    return Notice(N_("{number} is reopened."), {"number": danger.number})


async def _extend(
    session: AsyncSession,
    viewer: Viewer,
    draft: Draft,
    danger: HiddenDanger,
    data: dict[str, Any],
    now: datetime,
) -> Notice:
    """Ask the supervisors to move the deadline."""
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
    await announce(
        session,
        viewer,
        danger,
        "danger.extension_requested",
        {"to": new_deadline.isoformat(), "reason": data["reason"]},
        now,
        to=await supervisors_of(session, danger.unit_id),
        key=N_("⏳ {name} asks to move the deadline of {number} to {date}: {reason}"),
        params={
            "name": viewer.name,
            "number": danger.number,
            "date": new_deadline.isoformat(),
            "reason": data["reason"],
        },
    )
    return Notice(N_("Extension requested for {number}."), {"number": danger.number})


async def _refuse(
    session: AsyncSession,
    viewer: Viewer,
    draft: Draft,
    danger: HiddenDanger,
    data: dict[str, Any],
    now: datetime,
) -> Notice:
    """Refuse the pending extension, saying why, to who asked."""
    ext = await decide_extension(
        session,
        danger.id,
        status=ExtensionStatus.REFUSED,
        by=viewer.user_id,
        now=now,
        reason=data["reason"],
    )
    await announce(
        session,
        viewer,
        danger,
        "danger.extension_refused",
        {"reason": data["reason"]},
        now,
        to=await people_by_id(session, ext.requested_by_id),
        key=N_("The extension for {number} was refused by {name}: {reason}"),
        params={"number": danger.number, "name": viewer.name, "reason": data["reason"]},
    )
    return Notice(N_("Extension refused for {number}."), {"number": danger.number})


_FINISHES = {
    Action.RECTIFY: _rectify,
    Action.REJECT: _reject,
    Action.REASSIGN: _reassign,
    Action.REOPEN: _reopen,
    Action.EXTEND: _extend,
    Action.REFUSE: _refuse,
}


async def finish(
    session: AsyncSession, viewer: Viewer, draft: Draft, danger: HiddenDanger, now: datetime
) -> Notice:
    """Carry out the action the draft was for; return the notice that says it is done."""
    finish_action = _FINISHES.get(Action(draft.kind))
    if finish_action is None:
        raise NotAllowed()
    return await finish_action(session, viewer, draft, danger, dict(draft.data or {}), now)
