"""The closed loop as domain operations: rectify, verify, extend, reopen — and who may."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from storage.closed_loop import FIVE_ITEMS, act, danger_detail
from storage.db import Sessions
from storage.lists import list_dangers
from storage.models import Event, ExtensionRequest, HiddenDanger, Photo
from storage.permissions import Action, NotAllowed
from tests.factories import tg
from tests.world import (
    ADMIN,
    CITY_SUPERVISOR,
    FAR_INSPECTOR,
    FAR_SUPERVISOR,
    INSPECTOR,
    NOW,
    OTHER_INSPECTOR,
    SUPERVISOR,
    Person,
    Walker,
    after_photo,
    fill_to_confirm,
    outbox_for,
    photo,
    rectify,
    report,
    world,
)


async def test_general_report_rectify_reject_rectify_approve(sessions: Sessions) -> None:
    await world(sessions)
    danger_id = await report(sessions)
    wang = Person(sessions, INSPECTOR, 20_000)
    li = Person(sessions, SUPERVISOR, 30_000)
    assert Action.START in await wang.actions(danger_id)
    started = await wang.act(danger_id, Action.START)
    assert started.detail is not None and started.detail.card.status == "rectifying"
    done = await rectify(wang, danger_id, [after_photo(1)])
    assert done.detail is not None and done.detail.card.status == "submitted"
    assert any("awaits your verification" in k for k in await outbox_for(sessions, SUPERVISOR))
    assert {Action.APPROVE, Action.REJECT} <= await li.actions(danger_id)
    await li.act(danger_id, Action.REJECT)
    assert (await li.text("")).notices  # a reason is required
    rejected = await li.text("防护网规格不符合要求")
    assert rejected.detail is not None and rejected.detail.card.status == "rectifying"
    assert any("was rejected" in k for k in await outbox_for(sessions, INSPECTOR))
    await rectify(wang, danger_id, [after_photo(2)])
    closed = await li.act(danger_id, Action.APPROVE)
    assert closed.detail is not None and closed.detail.card.status == "closed"
    async with sessions() as s:
        danger = await s.get(HiddenDanger, danger_id)
        assert danger is not None and danger.closed_at is not None
        actions = [
            e.action
            for e in await s.scalars(
                select(Event).where(Event.danger_id == danger_id).order_by(Event.id)
            )
        ]
    assert actions == [
        "danger.reported",
        "danger.rectifying",
        "danger.rectification_submitted",
        "danger.rejected",
        "danger.rectification_submitted",
        "danger.closed",
    ]
    history = closed.detail.history
    assert [h.action for h in history] == actions
    assert (
        closed.detail.latest_round is not None and closed.detail.latest_round.verdict == "approved"
    )
    assert closed.detail.after_paths and len(closed.detail.after_paths) == 1  # the latest round


async def test_major_needs_the_five_items(sessions: Sessions) -> None:
    await world(sessions)
    danger_id = await report(sessions, level="major")
    wang = Person(sessions, INSPECTOR, 20_000)
    done = await rectify(wang, danger_id, [after_photo(1)], major=True)
    assert done.detail is not None and done.detail.latest_round is not None
    assert set(done.detail.latest_round.measures) == set(FIVE_ITEMS)


async def test_submitter_cannot_verify_own_rectification(sessions: Sessions) -> None:
    await world(sessions)
    # The supervisor reports a hidden danger: they are responsible for it.
    w = Walker(sessions, SUPERVISOR)
    reply = await fill_to_confirm(w)
    assert reply.draft is not None
    submitted = (await w.press("submit")).submitted
    assert submitted is not None
    li = Person(sessions, SUPERVISOR, 40_000)
    await rectify(li, submitted.danger_id, [after_photo(5)], major=True)
    assert Action.APPROVE not in await li.actions(submitted.danger_id)
    with pytest.raises(NotAllowed):
        await li.act(submitted.danger_id, Action.APPROVE)
    city = Person(sessions, CITY_SUPERVISOR, 50_000)
    assert (await city.act(submitted.danger_id, Action.APPROVE)).detail is not None


async def test_extension_granted_and_refused(sessions: Sessions) -> None:
    await world(sessions)
    danger_id = await report(sessions)
    wang = Person(sessions, INSPECTOR, 20_000)
    li = Person(sessions, SUPERVISOR, 30_000)
    begun = await wang.act(danger_id, Action.EXTEND)
    assert begun.draft is not None and begun.draft.step == "date"
    assert (await wang.text("2026-11-30")).notices  # not after the current deadline
    await wang.text("2026-12-20")
    asked = await wang.text("需要采购新设备")
    assert asked.detail is not None and asked.detail.extension is not None
    assert Action.EXTEND not in await wang.actions(danger_id)  # one request at a time
    granted = await li.act(danger_id, Action.GRANT)
    assert granted.detail is not None and granted.detail.card.deadline == date(2026, 12, 20)
    assert any("extension granted" in k for k in await outbox_for(sessions, INSPECTOR))
    await wang.act(danger_id, Action.EXTEND)
    await wang.press("days:15")
    await wang.text("再延期")
    await li.act(danger_id, Action.REFUSE)
    refused = await li.text("期限已足够")
    assert refused.detail is not None and refused.detail.card.deadline == date(2026, 12, 20)
    async with sessions() as s:
        statuses = sorted(r.status for r in await s.scalars(select(ExtensionRequest)))
    assert statuses == ["granted", "refused"]


async def test_reopen_needs_a_reason_and_a_supervisor(sessions: Sessions) -> None:
    await world(sessions)
    danger_id = await report(sessions)
    wang = Person(sessions, INSPECTOR, 20_000)
    li = Person(sessions, SUPERVISOR, 30_000)
    await rectify(wang, danger_id, [after_photo(1)])
    await li.act(danger_id, Action.APPROVE)
    with pytest.raises(NotAllowed):
        await wang.act(danger_id, Action.REOPEN)
    await li.act(danger_id, Action.REOPEN)
    reopened = await li.text("复查发现问题反弹")
    assert reopened.detail is not None and reopened.detail.card.status == "rectifying"


async def test_fraud_checks_flag_reused_far_and_early_photos(sessions: Sessions) -> None:
    await world(sessions)
    first = await report(sessions, photo_base=1)
    second = await report(sessions, photo_base=2)
    wang = Person(sessions, INSPECTOR, 20_000)
    li = Person(sessions, SUPERVISOR, 30_000)
    before_of_first = photo(1)
    before_of_second = photo(2)
    far = after_photo(7, gps=(39.5, 122.5))
    early = after_photo(8, taken=NOW - timedelta(days=2))
    await rectify(wang, first, [before_of_first, before_of_second, far, early])
    async with li.sessions() as s:
        detail = await danger_detail(s, account=tg(SUPERVISOR), danger_id=first, now=NOW)
    keys = [(f.key, f.params.get("n")) for f in detail.flags]
    assert ("After-photo {n} is the very file of a before-photo.", 1) in keys
    assert ("After-photo {n} is the very file of a photo of {number}.", 2) in keys
    assert ("After-photo {n} was taken {km} km from the reported location.", 3) in keys
    assert ("After-photo {n} was taken before the hidden danger was reported.", 4) in keys
    # The inspector does not see the verifier's flags.
    async with wang.sessions() as s:
        assert not (await danger_detail(s, account=tg(INSPECTOR), danger_id=first)).flags
    del second


async def test_near_identical_photo_is_flagged(sessions: Sessions) -> None:
    await world(sessions)
    danger_id = await report(sessions)
    async with sessions() as s:
        before = (await s.scalars(select(Photo).where(Photo.danger_id == danger_id))).one()
        before.phash = 0x0F0F_0F0F_0F0F_0F0F
        await s.commit()
    wang = Person(sessions, INSPECTOR, 20_000)
    await rectify(wang, danger_id, [after_photo(9, phash=0x0F0F_0F0F_0F0F_0F0E)])
    async with sessions() as s:
        detail = await danger_detail(s, account=tg(SUPERVISOR), danger_id=danger_id, now=NOW)
    assert [f.key for f in detail.flags] == [
        "After-photo {n} looks nearly identical to a before-photo."
    ]


# role × unit × action, for a hidden danger of 甘井子区 reported by INSPECTOR, in each state.
EXPECTED: dict[str, dict[int, set[str]]] = {
    "reported": {
        INSPECTOR: {"start", "rectify", "extend"},
        OTHER_INSPECTOR: set(),
        FAR_INSPECTOR: {"hidden"},
        SUPERVISOR: {"reassign"},
        CITY_SUPERVISOR: {"reassign"},
        FAR_SUPERVISOR: {"hidden"},
        ADMIN: {"reassign"},
    },
    "submitted": {
        INSPECTOR: set(),
        OTHER_INSPECTOR: set(),
        FAR_INSPECTOR: {"hidden"},
        SUPERVISOR: {"approve", "reject", "reassign"},
        CITY_SUPERVISOR: {"approve", "reject", "reassign"},
        FAR_SUPERVISOR: {"hidden"},
        ADMIN: {"approve", "reject", "reassign"},
    },
    "closed": {
        INSPECTOR: set(),
        OTHER_INSPECTOR: set(),
        FAR_INSPECTOR: {"hidden"},
        SUPERVISOR: {"reopen"},
        CITY_SUPERVISOR: {"reopen"},
        FAR_SUPERVISOR: {"hidden"},
        ADMIN: {"reopen"},
    },
}


async def test_permission_matrix(sessions: Sessions) -> None:
    await world(sessions)
    danger_id = await report(sessions)
    wang = Person(sessions, INSPECTOR, 20_000)
    li = Person(sessions, SUPERVISOR, 30_000)
    for round_, state in enumerate(("reported", "submitted", "closed")):
        if state == "submitted":
            await rectify(wang, danger_id, [after_photo(1)])
        if state == "closed":
            await li.act(danger_id, Action.APPROVE)
        for telegram_id, expected in EXPECTED[state].items():
            person = Person(sessions, telegram_id, 1_000_000 * (round_ + 1) + telegram_id * 100)
            got = {str(a) for a in await person.actions(danger_id)}
            assert got == expected, (state, telegram_id, got)
            # Every action not allowed is refused by the operation itself, changing nothing.
            for action in Action:
                if action.value in expected:
                    continue
                with pytest.raises(NotAllowed):
                    async with sessions() as s:
                        await act(
                            s,
                            account=tg(telegram_id),
                            danger_id=danger_id,
                            action=action,
                            update_id=person.next(),
                            now=NOW,
                        )
        async with sessions() as s:
            danger = await s.get(HiddenDanger, danger_id)
            assert danger is not None and danger.status == state


async def test_forged_and_replayed_calls_change_nothing(sessions: Sessions) -> None:
    await world(sessions)
    danger_id = await report(sessions)
    far = Person(sessions, FAR_SUPERVISOR, 70_000)
    with pytest.raises(NotAllowed):
        await far.act(danger_id, Action.APPROVE)  # another district's danger
    with pytest.raises(NotAllowed):
        await far.act(999_999, Action.START)  # a tampered id
    wang = Person(sessions, INSPECTOR, 20_000)
    async with sessions() as s:
        first = await act(
            s,
            account=tg(INSPECTOR),
            danger_id=danger_id,
            action=Action.START,
            update_id=555,
            now=NOW,
        )
    assert first.detail is not None
    async with sessions() as s:
        replay = await act(
            s,
            account=tg(INSPECTOR),
            danger_id=danger_id,
            action=Action.START,
            update_id=555,
            now=NOW,
        )
    assert replay.duplicate_update
    with pytest.raises(NotAllowed):  # a stale button: it is rectifying already
        await wang.act(danger_id, Action.START)
    async with sessions() as s:
        starts = list(await s.scalars(select(Event).where(Event.action == "danger.rectifying")))
    assert len(starts) == 1


async def test_lists_are_scoped(sessions: Sessions) -> None:
    await world(sessions)
    mine = await report(sessions, photo_base=1)
    await report(sessions, photo_base=2)
    late_day = NOW + timedelta(days=10)
    async with sessions() as s:
        page = await list_dangers(s, account=tg(INSPECTOR), scope="mine", now=NOW)
        assert page.total == 2 and page.items[0].days_left == 7
        overdue = await list_dangers(s, account=tg(SUPERVISOR), scope="overdue", now=late_day)
        assert overdue.total == 2 and overdue.items[0].days_left == -3
        assert (
            await list_dangers(s, account=tg(FAR_SUPERVISOR), scope="overdue", now=late_day)
        ).total == 0
        assert (
            await list_dangers(s, account=tg(OTHER_INSPECTOR), scope="mine", now=NOW)
        ).total == 0
        found = await list_dangers(
            s, account=tg(OTHER_INSPECTOR), scope="find", query="工厂1", now=NOW
        )
        assert [i.id for i in found.items] == [mine]
        by_number = await list_dangers(s, account=tg(ADMIN), scope="find", query="000002", now=NOW)
        assert [i.number for i in by_number.items] == ["DL-2026-000002"]
        assert (
            await list_dangers(s, account=tg(FAR_INSPECTOR), scope="find", query="工厂", now=NOW)
        ).total == 0
