"""Which units and which found-dates an export or the statistics cover, and who may ask."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account
from storage.campaigns import require_campaign
from storage.clock import utcnow
from storage.dto import CampaignInfo
from storage.errors import N_, Invalid
from storage.models import Role, Unit
from storage.overdue import campaign_day
from storage.permissions import load_viewer
from storage.units import find_unit, unit_and_descendants


@dataclass(frozen=True, slots=True)
class LedgerScope:
    """Which units and which found-dates an export covers."""

    campaign: CampaignInfo
    unit_ids: set[int] | None
    unit_name: str | None
    date_from: date | None
    date_to: date | None
    today: date

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.campaign.timezone)

    def quarter(self) -> tuple[int, int] | None:
        """(year, quarter) when the scope is exactly one calendar quarter, else None."""
        if self.date_from is None or self.date_to is None:
            return None
        start = self.date_from
        if start.day != 1 or start.month not in (1, 4, 7, 10):
            return None
        end_month = start.month + 2
        next_start = date(start.year + (end_month == 12), end_month % 12 + 1, 1)
        if self.date_to != next_start - timedelta(days=1):
            return None
        return start.year, (start.month - 1) // 3 + 1


# Periods people ask about lie within these; beyond them the calendar arithmetic overflows.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


async def ledger_scope(
    session: AsyncSession,
    *,
    account: Account | None = None,
    unit: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    managers_only: bool = True,
    now: datetime | None = None,
) -> LedgerScope:
    """The scope of an export or statistics: a person's units, or a unit by name.

    The ledger is for supervisors and admins (`managers_only`); statistics any registered
    person may see for their own unit.
    """
    campaign = await require_campaign(session)
    for day in (date_from, date_to):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise Invalid(
                N_("Give dates between {first} and {last}."),
                first=FIRST_DAY.isoformat(),
                last=LAST_DAY.isoformat(),
            )
    if date_from and date_to and date_from > date_to:
        raise Invalid(N_("The start date is after the end date."))
    unit_ids: set[int] | None = None
    unit_name: str | None = None
    if account is not None:
        viewer = await load_viewer(session, account)
        if managers_only and viewer.role not in (Role.SUPERVISOR, Role.ADMIN):
            raise Invalid(N_("Only supervisors and administrators can export the ledger."))
        unit_ids = set(viewer.units) if viewer.units is not None else None
        if viewer.unit_id is not None:
            row = await session.get(Unit, viewer.unit_id)
            unit_name = row.name if row else None
    if unit is not None:
        found = await find_unit(session, unit)
        below = await unit_and_descendants(session, found.id)
        unit_ids = below if unit_ids is None else unit_ids & below
        unit_name = found.name
    today = campaign_day(campaign.timezone, now or utcnow())
    return LedgerScope(campaign, unit_ids, unit_name, date_from, date_to, today)


def found_between(scope: LedgerScope, column: Any) -> list[Any]:
    """Conditions keeping rows found (created) within the scope's dates, in the campaign zone."""
    conditions = []
    if scope.date_from is not None:
        start = datetime.combine(scope.date_from, time(0), tzinfo=scope.tz).astimezone(UTC)
        conditions.append(column >= start)
    if scope.date_to is not None:
        end = datetime.combine(scope.date_to + timedelta(days=1), time(0), tzinfo=scope.tz)
        conditions.append(column < end.astimezone(UTC))
    return conditions
