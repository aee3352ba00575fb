"""One hidden danger as one person may see it: card, history, decisions pending, fraud flags."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account
from storage.campaigns import require_campaign
from storage.clock import utcnow
from storage.closed_loop.replies import (
    DangerDetail,
    ExtensionInfo,
    HistoryEntry,
    LoopRules,
    RoundInfo,
)
from storage.conversation import (
    Notice,
)
from storage.dangers import danger_card
from storage.fraud import fraud_checks
from storage.models import (
    Event,
    ExtensionRequest,
    ExtensionStatus,
    HiddenDanger,
    Photo,
    PhotoStage,
    Rectification,
    User,
)
from storage.overdue import campaign_day
from storage.permissions import (
    Action,
    DangerFacts,
    Viewer,
    allowed_actions,
    load_viewer,
    require,
)


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
    return await detail_for(session, viewer, danger, facts, rules or LoopRules(), now or utcnow())


async def detail_for(
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
    ext = await _pending_extension(session, danger.id)
    latest = await _latest_rectification(session, danger.id)
    # Only the names this card shows: a province has thousands of people.
    wanted = {e.actor_id for e in events if e.actor_id is not None}
    wanted |= {ext.requested_by_id} if ext else set()
    wanted |= {latest.submitted_by_id} if latest else set()
    names = dict(
        (await session.execute(select(User.id, User.name).where(User.id.in_(wanted)))).all()
    )
    before, after = await _photos(session, danger.id, latest)
    after_set = {p.path for p in after}
    flags: list[Notice] = []
    if Action.APPROVE in actions:
        flags = await fraud_checks(session, danger, before, after, far_km=rules.far_km)
    return DangerDetail(
        card=replace(card, after_photos=[c for c in card.after_photos if c.path in after_set]),
        days_left=(danger.deadline - campaign_day(campaign.timezone, now)).days,
        history=[
            HistoryEntry(
                e.created_at, names.get(e.actor_id or 0, e.actor), e.action, dict(e.detail)
            )
            for e in events
        ],
        actions=sorted(actions, key=list(Action).index),
        flags=flags,
        extension=_extension_info(ext, names) if ext else None,
        latest_round=_round_info(latest, names) if latest else None,
        before_paths=[p.path for p in before],
        after_paths=[p.path for p in after],
    )


async def _pending_extension(session: AsyncSession, danger_id: int) -> ExtensionRequest | None:
    return (
        await session.scalars(
            select(ExtensionRequest).where(
                ExtensionRequest.danger_id == danger_id,
                ExtensionRequest.status == ExtensionStatus.PENDING,
            )
        )
    ).first()


async def _latest_rectification(session: AsyncSession, danger_id: int) -> Rectification | None:
    return (
        await session.scalars(
            select(Rectification)
            .where(Rectification.danger_id == danger_id)
            .order_by(Rectification.id.desc())
            .limit(1)
        )
    ).first()


async def _photos(
    session: AsyncSession, danger_id: int, latest: Rectification | None
) -> tuple[list[Photo], list[Photo]]:
    """The before photos, and the after photos of the latest round only."""
    photos = list(
        await session.scalars(select(Photo).where(Photo.danger_id == danger_id).order_by(Photo.id))
    )
    before = [p for p in photos if p.stage == PhotoStage.BEFORE]
    after = [
        p
        for p in photos
        if p.stage == PhotoStage.AFTER and latest is not None and p.rectification_id == latest.id
    ]
    return before, after


def _extension_info(ext: ExtensionRequest, names: dict[int, str]) -> ExtensionInfo:
    return ExtensionInfo(
        ext.id,
        names.get(ext.requested_by_id, ""),
        ext.reason,
        ext.old_deadline,
        ext.new_deadline,
    )


def _round_info(latest: Rectification, names: dict[int, str]) -> RoundInfo:
    return RoundInfo(
        latest.id,
        names.get(latest.submitted_by_id, ""),
        latest.note,
        {k: str(v) for k, v in (latest.measures or {}).items()},
        latest.submitted_at,
        latest.verdict,
        latest.reason,
    )
