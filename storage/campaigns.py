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


def _info(row: Campaign) -> CampaignInfo:
    return CampaignInfo(row.id, row.name, row.closing_date, row.timezone)


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
    actor: str,
) -> CampaignInfo:
    """Create the campaign, or change its name, closing date or time zone."""
    name = name.strip()
    if not name or len(name) > 200:
        raise Invalid(N_("The campaign name must be 1 to 200 characters."))
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
    await session.flush()
    record_event(
        session,
        action="campaign.set",
        actor=actor,
        subject=name,
        detail={
            "closing_date": closing_date.isoformat(),
            "timezone": timezone,
            "before": None
            if before is None
            else {"name": before.name, "closing_date": before.closing_date.isoformat()},
        },
    )
    await session.commit()
    return _info(row)
