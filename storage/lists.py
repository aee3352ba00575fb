"""The lists a person asks for in the chat — /mine, /overdue, /find — one page at a time.

Written for a province's million records: every list is a few index ranges (a person's own
records by reporter and by responsible person, a unit's by status and deadline), counts of
whole units come from the tally the database keeps (danger_tally), and /find reads the
full-text index (storage/search.py). Open records come first, soonest deadline first, then the
closed ones: the two parts are read apart, so a page of open records never sorts the closed.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account
from storage.campaigns import require_campaign
from storage.clock import utcnow
from storage.conversation import clean
from storage.errors import N_, Invalid
from storage.models import DangerStatus, DangerTally, HiddenDanger, Role
from storage.overdue import OPEN_STATUSES, campaign_day, overdue_condition
from storage.permissions import Viewer, load_viewer
from storage.search import matching

PAGE_SIZE = 8
MAX_QUERY = 60


@dataclass(frozen=True, slots=True)
class DangerLine:
    """One line of a list: enough to recognise a hidden danger and how late it is."""

    id: int
    number: str
    site: str
    status: str
    level: str
    deadline: date
    days_left: int  # negative: overdue by that many days


@dataclass(frozen=True, slots=True)
class DangerPage:
    items: list[DangerLine]
    page: int
    pages: int
    total: int
    scope: str
    query: str


@dataclass(frozen=True, slots=True)
class _Visible:
    """Which records a list may show: the person's own, and those of `units` (None: all)."""

    own: ColumnElement[bool]
    units: frozenset[int] | None
    own_only: bool

    def condition(self) -> ColumnElement[bool]:
        if self.own_only:
            return self.own
        if self.units is None:
            return true()
        return or_(self.own, HiddenDanger.unit_id.in_(self.units))


def _visible(viewer: Viewer, scope: str) -> _Visible:
    own = or_(
        HiddenDanger.reporter_id == viewer.user_id,
        HiddenDanger.responsible_id == viewer.user_id,
    )
    # An inspector's /mine and /overdue are their own records; everyone else's lists (and an
    # inspector's /find) reach as far as they may see.
    own_only = viewer.role == Role.INSPECTOR and scope in ("mine", "overdue")
    return _Visible(own, viewer.units, own_only)


async def list_dangers(
    session: AsyncSession,
    *,
    account: Account,
    scope: str,
    query: str = "",
    page: int = 0,
    now: datetime | None = None,
) -> DangerPage:
    """One page of hidden dangers: "mine", "overdue", or "find" (by number, site or text)."""
    viewer = await load_viewer(session, account)
    campaign = await require_campaign(session)
    today = campaign_day(campaign.timezone, now or utcnow())
    visible = _visible(viewer, scope)
    query = clean(query)[:MAX_QUERY]
    where: list[ColumnElement[bool]] = [visible.condition()]
    if scope == "find":
        if not query:
            raise Invalid(N_("Say what to find: /find followed by a number, a site or words."))
        where.append(await matching(session, query))
    if scope == "overdue":
        where.append(overdue_condition(today))
        open_total = await _count(session, where)
        closed_total = 0
    elif scope == "find":
        open_total = await _count(session, [*where, HiddenDanger.status.in_(OPEN_STATUSES)])
        closed_total = await _count(session, [*where, HiddenDanger.status == DangerStatus.CLOSED])
    else:
        open_total, closed_total = await _mine_counts(session, visible)
    total = open_total + closed_total
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    first = page * PAGE_SIZE
    rows: list[Any] = []
    if first < open_total:
        rows += await _page(session, [*where, HiddenDanger.status.in_(OPEN_STATUSES)], first)
    if len(rows) < PAGE_SIZE and closed_total:
        rows += await _page(
            session,
            [*where, HiddenDanger.status == DangerStatus.CLOSED],
            max(0, first - open_total),
            PAGE_SIZE - len(rows),
        )
    items = [
        DangerLine(i, number, site, status, level, deadline, (deadline - today).days)
        for i, number, site, status, level, deadline in rows
    ]
    return DangerPage(items, page, pages, total, scope, query)


async def _count(session: AsyncSession, where: list[ColumnElement[bool]]) -> int:
    stmt = select(func.count()).select_from(HiddenDanger).where(*where)
    return int(await session.scalar(stmt) or 0)


async def _page(
    session: AsyncSession, where: list[ColumnElement[bool]], offset: int, limit: int = PAGE_SIZE
) -> list[Any]:
    stmt = (
        select(
            HiddenDanger.id,
            HiddenDanger.number,
            HiddenDanger.site,
            HiddenDanger.status,
            HiddenDanger.level,
            HiddenDanger.deadline,
        )
        .where(*where)
        .order_by(HiddenDanger.deadline, HiddenDanger.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list((await session.execute(stmt)).all())


async def _mine_counts(session: AsyncSession, visible: _Visible) -> tuple[int, int]:
    """Open and closed records a person's /mine holds.

    A unit's records are counted from the tally (a few rows however many records); only the
    person's own records outside their units are counted one by one.
    """
    if visible.own_only:
        return await _counts_by_status(session, [visible.own])
    by_tally = await _tally_counts(session, visible.units)
    if visible.units is None:
        return by_tally
    outside = await _counts_by_status(
        session, [visible.own, not_(HiddenDanger.unit_id.in_(visible.units))]
    )
    return by_tally[0] + outside[0], by_tally[1] + outside[1]


async def _counts_by_status(
    session: AsyncSession, where: list[ColumnElement[bool]]
) -> tuple[int, int]:
    closed = HiddenDanger.status == DangerStatus.CLOSED
    stmt = select(func.count().filter(not_(closed)), func.count().filter(closed)).where(*where)
    open_n, closed_n = (await session.execute(stmt)).one()
    return int(open_n or 0), int(closed_n or 0)


async def _tally_counts(session: AsyncSession, units: Collection[int] | None) -> tuple[int, int]:
    closed = DangerTally.status == DangerStatus.CLOSED
    stmt = select(
        func.sum(DangerTally.n).filter(not_(closed)), func.sum(DangerTally.n).filter(closed)
    )
    if units is not None:
        stmt = stmt.where(DangerTally.unit_id.in_(units))
    open_n, closed_n = (await session.execute(stmt)).one()
    return int(open_n or 0), int(closed_n or 0)
