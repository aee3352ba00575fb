"""Who may see and do what: every action of a hidden danger's card, for every kind of person
and unit, at every status — allowed exactly where DESIGN.md says, refused everywhere else.

The hidden danger lies in 甘井子区 (a district of 大连市; 红旗街道 is a street below it; 长海县
is its sibling county). People: a stranger, an inspector deactivated since, the reporting
inspector, another inspector of the district, inspectors and supervisors of the street, of
the sibling county and of the city, and an administrator of the whole campaign.

The rules (DESIGN.md, "the closed loop"): the reporter (the responsible person) starts,
rectifies and asks for more time while the hidden danger is open; supervisors and
administrators of its unit or a unit above it verify (never their own rectification), decide
extensions, reopen what is closed and hand open ones over to someone else; everyone of the
unit or above sees it; nobody below, beside or outside it does, and strangers and the
deactivated do nothing at all.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage import handover, invites, units
from storage.closed_loop import act
from storage.db import Sessions
from storage.lists import list_dangers
from storage.models import HiddenDanger
from storage.permissions import Action, NotAllowed
from tests.factories import tg
from tests.timeline import NOW
from tests.world import (
    ADMIN,
    CITY_SUPERVISOR,
    FAR_INSPECTOR,
    FAR_SUPERVISOR,
    INSPECTOR,
    OTHER_INSPECTOR,
    SUPERVISOR,
    Person,
    after_photo,
    rectify,
    register,
    report,
    world,
)

STRANGER = 7001
DEACTIVATED = 7002  # an inspector of 甘井子区, deactivated before the report
STREET_INSPECTOR = 7003  # 红旗街道, below 甘井子区
STREET_SUPERVISOR = 7004

WHO = {
    "stranger": STRANGER,
    "deactivated inspector, own unit": DEACTIVATED,
    "reporting inspector": INSPECTOR,
    "inspector, own unit": OTHER_INSPECTOR,
    "inspector, unit below": STREET_INSPECTOR,
    "inspector, sibling county": FAR_INSPECTOR,
    "supervisor, own unit": SUPERVISOR,
    "supervisor, unit above": CITY_SUPERVISOR,
    "supervisor, unit below": STREET_SUPERVISOR,
    "supervisor, sibling county": FAR_SUPERVISOR,
    "administrator": ADMIN,
}
HIDDEN = {"hidden"}
MANAGERS = ("supervisor, own unit", "supervisor, unit above", "administrator")
UNSEEN = (
    "stranger",
    "deactivated inspector, own unit",
    "inspector, unit below",
    "inspector, sibling county",
    "supervisor, unit below",
    "supervisor, sibling county",
)


def expected(status: str) -> dict[str, set[str]]:
    """The matrix of DESIGN.md's rules, written out per status."""
    table: dict[str, set[str]] = {who: HIDDEN for who in UNSEEN}
    table["inspector, own unit"] = set()
    open_ = status in ("reported", "rectifying")
    if status == "reported":
        table["reporting inspector"] = {"start", "rectify", "extend"}
    elif status == "rectifying":
        table["reporting inspector"] = {"rectify", "extend"}
    else:
        table["reporting inspector"] = set()
    for who in MANAGERS:
        if open_:
            table[who] = {"reassign"}
        elif status == "submitted":
            table[who] = {"approve", "reject", "reassign"}
        else:
            table[who] = {"reopen"}
    return table


async def people_of_the_matrix(sessions: Sessions) -> None:
    await world(sessions)
    async with sessions() as s:
        await units.add_unit(s, name="红旗街道", kind="region", parent="甘井子区", actor="t")
    await register(sessions, DEACTIVATED, "inspector", "甘井子区")
    await register(sessions, STREET_INSPECTOR, "inspector", "红旗街道")
    await register(sessions, STREET_SUPERVISOR, "supervisor", "红旗街道")
    async with sessions() as s:
        await handover.deactivate_user(s, account=tg(DEACTIVATED), actor="t")


async def seen_and_allowed(sessions: Sessions, telegram_id: int, danger_id: int) -> set[str]:
    try:
        return {str(a) for a in await Person(sessions, telegram_id, 1).actions(danger_id)}
    except NotAllowed:
        return HIDDEN


async def test_every_action_for_every_person_at_every_status(sessions: Sessions) -> None:
    await people_of_the_matrix(sessions)
    danger_id = await report(sessions)
    wang = Person(sessions, INSPECTOR, 20_000)
    li = Person(sessions, SUPERVISOR, 30_000)
    steps = {
        "reported": None,
        "rectifying": lambda: wang.act(danger_id, Action.START),
        "submitted": lambda: rectify(wang, danger_id, [after_photo(1)]),
        "closed": lambda: li.act(danger_id, Action.APPROVE),
    }
    update_id = 9_000_000
    for status, step in steps.items():
        if step is not None:
            await step()
        async with sessions() as s:
            danger = await s.get(HiddenDanger, danger_id)
            assert danger is not None and danger.status == status
        table = expected(status)
        for who, telegram_id in WHO.items():
            got = await seen_and_allowed(sessions, telegram_id, danger_id)
            assert got == table[who], (status, who, got)
            # Whatever is not allowed is refused by the operation itself, changing nothing.
            for action in Action:
                if action.value in table[who]:
                    continue
                update_id += 1
                with pytest.raises(NotAllowed):
                    async with sessions() as s:
                        await act(
                            s,
                            account=tg(telegram_id),
                            danger_id=danger_id,
                            action=action,
                            update_id=update_id,
                            now=NOW,
                        )
            async with sessions() as s:
                still = await s.scalar(
                    select(HiddenDanger.status).where(HiddenDanger.id == danger_id)
                )
            assert still == status, (status, who)


async def test_the_lists_show_each_person_what_they_may_see(sessions: Sessions) -> None:
    await people_of_the_matrix(sessions)
    await report(sessions)
    sees = {}
    for who, telegram_id in WHO.items():
        try:
            async with sessions() as s:
                page = await list_dangers(
                    s, account=tg(telegram_id), scope="find", query="DL", now=NOW
                )
            sees[who] = bool(page.items)
        except NotAllowed:
            sees[who] = False
    assert sees == {who: who not in UNSEEN for who in WHO}


async def test_a_stranger_and_the_deactivated_cannot_register_a_report_or_redeem(
    sessions: Sessions,
) -> None:
    await people_of_the_matrix(sessions)
    async with sessions() as s:
        code = (await invites.create_invite(s, role="inspector", unit="甘井子区", actor="t")).code
    async with sessions() as s:
        with pytest.raises(Exception, match="access was taken away"):
            await invites.redeem_invite(
                s, code=code, account=tg(DEACTIVATED), name="x", username=None
            )
