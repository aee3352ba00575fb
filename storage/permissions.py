"""Who may see and do what to a hidden danger: decided here, on the server, every time.

Nothing a client sends (callback data, a number typed) is trusted: every operation looks the
person and the hidden danger up again and asks `allowed_actions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account
from storage.errors import N_, Invalid
from storage.models import (
    DangerStatus,
    ExtensionRequest,
    ExtensionStatus,
    HiddenDanger,
    Rectification,
    Role,
)
from storage.people import user_row
from storage.units import unit_and_descendants


class Action(StrEnum):
    START = "start"  # reported → rectifying
    RECTIFY = "rectify"  # send after-photos: → submitted
    APPROVE = "approve"  # submitted → closed
    REJECT = "reject"  # submitted → rectifying, with a reason
    EXTEND = "extend"  # ask for a later deadline
    GRANT = "grant"  # grant the pending extension
    REFUSE = "refuse"  # refuse it, with a reason
    REOPEN = "reopen"  # closed → rectifying, with a reason
    REASSIGN = "reassign"  # someone else answers for it from now on


class NotAllowed(Invalid):
    """The person may not see or do this (or the hidden danger has moved on)."""

    def __init__(self) -> None:
        super().__init__(N_("Not allowed: you cannot do this (any more)."))


@dataclass(frozen=True, slots=True)
class Viewer:
    user_id: int
    account: Account  # the account they act through now
    role: str
    unit_id: int | None
    name: str
    # Units this person may see into: their own and those below it; None means every unit.
    units: frozenset[int] | None

    @property
    def actor(self) -> str:
        """How the audit trail names them (by the account they act through)."""
        return self.account.actor


@dataclass(frozen=True, slots=True)
class DangerFacts:
    """What the rules need to know about one hidden danger, read fresh from the database."""

    id: int
    unit_id: int
    status: str
    reporter_id: int
    responsible_id: int
    open_rectification_by: int | None  # who submitted the rectification awaiting verification
    pending_extension_by: int | None  # who asked for the pending extension


async def load_viewer(session: AsyncSession, account: Account) -> Viewer:
    """Return the registered, active person behind an account, or refuse."""
    user = await user_row(session, account, active_only=True)
    if user is None:
        raise NotAllowed()
    units: frozenset[int] | None
    if user.role == Role.ADMIN and user.unit_id is None:
        units = None
    elif user.unit_id is None:
        units = frozenset()
    else:
        units = frozenset(await unit_and_descendants(session, user.unit_id))
    return Viewer(user.id, account, user.role, user.unit_id, user.name, units)


async def load_facts(session: AsyncSession, danger: HiddenDanger) -> DangerFacts:
    """Gather the facts about a hidden danger that permissions depend on."""
    open_round = await session.scalar(
        select(Rectification.submitted_by_id)
        .where(Rectification.danger_id == danger.id, Rectification.verdict.is_(None))
        .order_by(Rectification.id.desc())
        .limit(1)
    )
    pending = await session.scalar(
        select(ExtensionRequest.requested_by_id)
        .where(
            ExtensionRequest.danger_id == danger.id,
            ExtensionRequest.status == ExtensionStatus.PENDING,
        )
        .limit(1)
    )
    return DangerFacts(
        id=danger.id,
        unit_id=danger.unit_id,
        status=danger.status,
        reporter_id=danger.reporter_id,
        responsible_id=danger.responsible_id or danger.reporter_id,
        open_rectification_by=open_round,
        pending_extension_by=pending,
    )


def can_view(viewer: Viewer, facts: DangerFacts) -> bool:
    """People see their own reports and what lies in their unit or below it."""
    if viewer.user_id in (facts.reporter_id, facts.responsible_id):
        return True
    return viewer.units is None or facts.unit_id in viewer.units


def manages(viewer: Viewer, facts: DangerFacts) -> bool:
    """Supervisors and admins manage the hidden dangers of their unit and the units below."""
    if viewer.role not in (Role.SUPERVISOR, Role.ADMIN):
        return False
    return viewer.units is None or facts.unit_id in viewer.units


def allowed_actions(viewer: Viewer, facts: DangerFacts) -> set[Action]:
    """Every action this person may take on this hidden danger now."""
    if not can_view(viewer, facts):
        return set()
    actions: set[Action] = set()
    responsible = viewer.user_id == facts.responsible_id
    open_states = (DangerStatus.REPORTED, DangerStatus.RECTIFYING)
    if responsible and facts.status == DangerStatus.REPORTED:
        actions.add(Action.START)
    if responsible and facts.status in open_states:
        actions.add(Action.RECTIFY)
        if facts.pending_extension_by is None:
            actions.add(Action.EXTEND)
    if manages(viewer, facts):
        # Whoever rectified may not verify their own work.
        if facts.status == DangerStatus.SUBMITTED and viewer.user_id != (
            facts.open_rectification_by
        ):
            actions |= {Action.APPROVE, Action.REJECT}
        if (
            facts.pending_extension_by is not None
            and facts.status != DangerStatus.CLOSED
            and viewer.user_id != facts.pending_extension_by
        ):
            actions |= {Action.GRANT, Action.REFUSE}
        if facts.status == DangerStatus.CLOSED:
            actions.add(Action.REOPEN)
        else:
            actions.add(Action.REASSIGN)
    return actions


async def require(
    session: AsyncSession, *, viewer: Viewer, danger_id: int, action: Action | None
) -> tuple[HiddenDanger, DangerFacts]:
    """Load a hidden danger the viewer may see (and, given an action, may take it) or refuse."""
    danger = await session.get(HiddenDanger, danger_id)
    if danger is None:
        raise NotAllowed()
    facts = await load_facts(session, danger)
    if not can_view(viewer, facts):
        raise NotAllowed()
    if action is not None and action not in allowed_actions(viewer, facts):
        raise NotAllowed()
    return danger, facts
