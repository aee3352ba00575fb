"""The campaign: its name, closing date (the countdown target) and time zone."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import record_event
from storage.dto import CampaignInfo
from storage.errors import N_, Invalid, NotFound
from storage.models import Campaign

# The furthest a deadline may be set, typed or by default: three years.
MAX_DEADLINE_DAYS = 3 * 366


def _info(row: Campaign) -> CampaignInfo:
    return CampaignInfo(
        row.id,
        row.name,
        row.closing_date,
        row.timezone,
        row.deadline_days_general,
        row.deadline_days_major,
    )


async def _current(session: AsyncSession) -> Campaign | None:
    return (await session.scalars(select(Campaign).order_by(Campaign.id).limit(1))).first()


async def get_campaign(session: AsyncSession) -> CampaignInfo | None:
    """Return the campaign, or None when it has not been set up."""
    row = await _current(session)
    return _info(row) if row else None


async def require_campaign(session: AsyncSession) -> CampaignInfo:
    """Return the campaign or fail with a hint to set it up."""
    info = await get_campaign(session)
    if info is None:
        raise NotFound(N_("No campaign is set up yet: run `hdbot campaign set` first."))
    return info


async def set_campaign(
    session: AsyncSession,
    *,
    name: str,
    closing_date: date,
    timezone: str = "Asia/Shanghai",
    deadline_days: tuple[int, int] | None = None,
    actor: str,
) -> CampaignInfo:
    """Create the campaign, or change its name, closing date, time zone or default deadlines
    (`deadline_days`: general, major)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise Invalid(N_("The campaign name must be 1 to 200 characters."))
    if deadline_days is not None and not all(1 <= d <= MAX_DEADLINE_DAYS for d in deadline_days):
        raise Invalid(
            N_("A default deadline is 1 to {max} days after the report."), max=MAX_DEADLINE_DAYS
        )
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(N_("Unknown time zone {timezone}."), timezone=timezone) from exc
    row = await _current(session)
    before = _info(row) if row else None
    if row is None:
        row = Campaign(name=name, closing_date=closing_date, timezone=timezone)
        session.add(row)
    else:
        row.name, row.closing_date, row.timezone = name, closing_date, timezone
    if deadline_days is not None:
        row.deadline_days_general, row.deadline_days_major = deadline_days
    await session.flush()
    record_event(
        session,
        action="campaign.set",
        actor=actor,
        subject=name,
        detail={
            "closing_date": closing_date.isoformat(),
            "timezone": timezone,
            "deadline_days": list(deadline_days) if deadline_days else None,
            "before": None
            if before is None
            else {"name": before.name, "closing_date": before.closing_date.isoformat()},
        },
    )
    await session.commit()
    return _info(row)
