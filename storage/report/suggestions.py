"""What a report most likely says, guessed from the inspector's own earlier reports: the place
of the last one, the sites near where they stand, the tasks of a site.

An inspector works through one area and one list of tasks: the fourth report at a site is
filed under the task of the first three. Every guess is one tap to take and never taken
without that tap. The look-back is the inspector's latest reports only (a range of the index on
reporter and time), so a guess costs the same at a million hidden dangers as at ten.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import HiddenDanger, Task, TaskStatus
from storage.report.draft import TaskChoice

# Earlier reports whose site lies this near the place given count as "nearby".
NEARBY_METRES = 300
# The last report's place is offered again this long after it went in.
SAME_PLACE_WITHIN = timedelta(hours=1)
# How many of the inspector's latest reports the guesses look at.
LOOK_BACK = 200
MAX_SITES = 4
MAX_TASKS = 4


@dataclass(frozen=True, slots=True)
class SiteChoice:
    """A site of an earlier report, offered by that report's id (names outgrow a button's data)."""

    danger_id: int
    site: str
    metres: int | None  # from the place given, when both are known


@dataclass(frozen=True, slots=True)
class LastPlace:
    """Where the inspector's last report was, offered as "same place" for the next one."""

    number: str
    latitude: float | None
    longitude: float | None
    address: str | None


@dataclass(frozen=True, slots=True)
class _Earlier:
    id: int
    number: str
    site: str
    task_id: int | None
    field_id: int
    latitude: float | None
    longitude: float | None
    address: str | None
    created_at: datetime


async def _earlier_reports(
    session: AsyncSession, user_id: int, *, limit: int = LOOK_BACK
) -> list[_Earlier]:
    rows = await session.execute(
        select(
            HiddenDanger.id,
            HiddenDanger.number,
            HiddenDanger.site,
            HiddenDanger.task_id,
            HiddenDanger.field_id,
            HiddenDanger.latitude,
            HiddenDanger.longitude,
            HiddenDanger.address,
            HiddenDanger.created_at,
        )
        .where(HiddenDanger.reporter_id == user_id)
        .order_by(HiddenDanger.created_at.desc(), HiddenDanger.id.desc())
        .limit(limit)
    )
    return [_Earlier(*row) for row in rows]


def same_site(a: str, b: str) -> bool:
    """Whether two typed site names name one site (case and spacing aside)."""
    return _site_key(a) == _site_key(b)


def _site_key(site: str) -> str:
    return "".join(site.split()).casefold()


def metres_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance (haversine; a few hundred metres need no better)."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


async def last_place(session: AsyncSession, *, user_id: int, now: datetime) -> LastPlace | None:
    """The place of the inspector's last report, if it went in within the hour and had one."""
    last = next(iter(await _earlier_reports(session, user_id, limit=1)), None)
    if last is None or last.created_at < now - SAME_PLACE_WITHIN:
        return None
    if last.latitude is None and not last.address:
        return None
    return LastPlace(last.number, last.latitude, last.longitude, last.address)


async def likely_sites(
    session: AsyncSession,
    *,
    user_id: int,
    latitude: float | None,
    longitude: float | None,
    limit: int = MAX_SITES,
) -> list[SiteChoice]:
    """The sites of the inspector's earlier reports nearest the place (within NEARBY_METRES),
    nearest first, then their most recent sites."""
    earlier = await _earlier_reports(session, user_id)
    nearby: list[tuple[float, _Earlier]] = []
    if latitude is not None and longitude is not None:
        for report in earlier:
            if report.latitude is None or report.longitude is None:
                continue
            metres = metres_between(latitude, longitude, report.latitude, report.longitude)
            if metres <= NEARBY_METRES:
                nearby.append((metres, report))
        nearby.sort(key=lambda pair: pair[0])
    ranked: list[tuple[int | None, _Earlier]] = [(round(m), r) for m, r in nearby]
    ranked += [(None, r) for r in earlier]
    out: list[SiteChoice] = []
    seen: set[str] = set()
    for distance, report in ranked:
        key = _site_key(report.site)
        if key in seen:
            continue
        seen.add(key)
        out.append(SiteChoice(report.id, report.site, distance))
        if len(out) == limit:
            break
    return out


async def earlier_site(session: AsyncSession, *, user_id: int, danger_id: int) -> str | None:
    """The site of one of the inspector's own earlier reports (what a site button names)."""
    row = await session.get(HiddenDanger, danger_id)
    return row.site if row is not None and row.reporter_id == user_id else None


async def likely_tasks(
    session: AsyncSession,
    *,
    user_id: int,
    unit_ids: set[int],
    campaign_id: int,
    site: str | None,
    limit: int = MAX_TASKS,
) -> list[TaskChoice]:
    """The open tasks a report at `site` most likely belongs to: those of the inspector's
    earlier reports there (most used first), then their latest tasks, then the open tasks of
    their units in the fields of the site's earlier reports (soonest due first)."""
    earlier = await _earlier_reports(session, user_id)
    at_site = [r for r in earlier if site and same_site(r.site, site)]
    used_here = Counter(r.task_id for r in at_site if r.task_id is not None)
    # most_common keeps first-seen order among equal counts: the latest report's task first.
    wanted = [task_id for task_id, _ in used_here.most_common()]
    wanted += [r.task_id for r in earlier if r.task_id is not None]
    order = list(dict.fromkeys(wanted))
    open_tasks: dict[int, Task] = {}
    if order:
        rows = await session.scalars(
            select(Task).where(
                Task.id.in_(order),
                Task.campaign_id == campaign_id,
                Task.unit_id.in_(unit_ids),
                Task.status == TaskStatus.OPEN,
            )
        )
        open_tasks = {t.id: t for t in rows}
    chosen = [open_tasks[i] for i in order if i in open_tasks][:limit]
    fields = {r.field_id for r in at_site}
    if len(chosen) < limit and fields:
        more = await session.scalars(
            select(Task)
            .where(
                Task.campaign_id == campaign_id,
                Task.unit_id.in_(unit_ids),
                Task.status == TaskStatus.OPEN,
                Task.field_id.in_(fields),
                Task.id.not_in([t.id for t in chosen] or [0]),
            )
            .order_by(Task.due_date, Task.code)
            .limit(limit - len(chosen))
        )
        chosen += list(more)
    return [TaskChoice(t.id, t.code, t.title, t.due_date) for t in chosen]
