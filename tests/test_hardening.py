"""Findings of the hardening review, each as the domain sees it: tried, and refused or held."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.i18n import Translator
from bot.views.push_view import wecom_markdown
from storage import handover, invites, people, units
from storage.clock import utcnow
from storage.closed_loop import LoopReply, act
from storage.conversation import Input, InputKind, clean, small_int
from storage.db import Sessions
from storage.errors import Invalid, NotFound
from storage.groups import bind_group
from storage.ledger import ledger_scope
from storage.models import (
    Draft,
    DraftStatus,
    Event,
    ExtensionRequest,
    HiddenDanger,
    Invite,
    Outbox,
    Photo,
)
from storage.permissions import Action, NotAllowed
from storage.push_payloads import LateDanger, OverduePush
from storage.pushes import enqueue_due
from storage.report import parse_deadline
from storage.uploads import Room, check_room, forget_unused_photos, upload_room
from tests.factories import tg
from tests.timeline import NOW, at
from tests.world import (
    CITY_SUPERVISOR,
    FAR_INSPECTOR,
    INSPECTOR,
    OTHER_INSPECTOR,
    SUPERVISOR,
    Person,
    Walker,
    after_photo,
    photo,
    rectify,
    report,
    world,
)

# --- 1. revoked means revoked -----------------------------------------------------------------


async def test_an_old_invite_does_not_undo_a_deactivation(sessions: Sessions) -> None:
    await world(sessions)
    async with sessions() as s:
        code = (await invites.create_invite(s, role="inspector", unit="甘井子区", actor="t")).code
    async with sessions() as s:
        await handover.deactivate_user(s, account=tg(OTHER_INSPECTOR), actor="t")
    for link in (code, code):  # a fresh link as much as the one they joined with
        async with sessions() as s:
            with pytest.raises(Invalid, match="access was taken away"):
                await invites.redeem_invite(
                    s, code=link, account=tg(OTHER_INSPECTOR), name="x", username=None
                )
    async with sessions() as s:
        invite = (await s.scalars(select(Invite).where(Invite.code == code))).one()
        assert invite.uses == 0  # the refused link was not spent
    async with sessions() as s:
        info, changed = await handover.activate_user(s, account=tg(OTHER_INSPECTOR), actor="t")
    assert changed and info.active
    async with sessions() as s:
        assert not (await handover.activate_user(s, account=tg(OTHER_INSPECTOR), actor="t"))[1]


# --- 2. a deactivated inspector's hidden dangers are handed over -------------------------------


async def test_deactivating_someone_with_open_dangers_needs_a_successor(sessions: Sessions) -> None:
    await world(sessions)
    first, second = await report(sessions, photo_base=1), await report(sessions, photo_base=2)
    async with sessions() as s:
        with pytest.raises(Invalid) as refused:
            await handover.deactivate_user(s, account=tg(INSPECTOR), actor="t")
    assert refused.value.params["count"] == 2
    async with sessions() as s:  # someone who cannot see the district cannot take it over
        with pytest.raises(Invalid, match="outside their unit"):
            await handover.deactivate_user(
                s, account=tg(INSPECTOR), actor="t", handover_to=tg(FAR_INSPECTOR)
            )
    async with sessions() as s:
        done = await handover.deactivate_user(
            s, account=tg(INSPECTOR), actor="t", handover_to=tg(OTHER_INSPECTOR)
        )
    assert not done.user.active and len(done.handed_over) == 2
    # The successor can rectify, the one who left cannot; each move is on the record.
    zhao = Person(sessions, OTHER_INSPECTOR, 80_000)
    assert Action.START in await zhao.actions(first)
    async with sessions() as s:
        moves = list(await s.scalars(select(Event).where(Event.action == "danger.reassigned")))
        told = list(await s.scalars(select(Outbox).where(Outbox.target == str(OTHER_INSPECTOR))))
    assert {m.danger_id for m in moves} == {first, second}
    assert len(told) == 1 and told[0].payload["params"]["count"] == 2
    # Reminders follow the hidden danger to the new person.
    async with sessions() as s:
        await enqueue_due(s, now=at("2026-12-20", "09:00"))
    async with sessions() as s:
        reminded = set(await s.scalars(select(Outbox.target).where(Outbox.kind == "reminder")))
    assert str(OTHER_INSPECTOR) in reminded and str(INSPECTOR) not in reminded


async def test_a_supervisor_reassigns_from_the_card(sessions: Sessions) -> None:
    await world(sessions)
    danger_id = await report(sessions)
    li = Person(sessions, SUPERVISOR, 90_000)
    begun = await li.act(danger_id, Action.REASSIGN)
    assert begun.draft is not None and begun.draft.step == "person"
    offered = dict(begun.draft.choices)
    assert OTHER_INSPECTOR_ID(offered) and INSPECTOR not in offered.values()
    wrong = await li.press("person:999999")  # not one of them: the step stays
    assert wrong.notices and wrong.draft is not None
    zhao_id = OTHER_INSPECTOR_ID(offered)
    done = await li.press(f"person:{zhao_id}")
    assert done.done is not None and done.detail is not None
    async with sessions() as s:
        danger = await s.get(HiddenDanger, danger_id)
        assert danger is not None and danger.responsible_id == zhao_id


def OTHER_INSPECTOR_ID(offered: dict[int, str]) -> int:
    """The user id of the other inspector of 甘井子区 among the offered people."""
    return next(user_id for user_id, name in offered.items() if name == f"p{OTHER_INSPECTOR}")


# --- 3. notices go only to active people --------------------------------------------------------


async def test_a_deactivated_reporter_is_told_nothing(sessions: Sessions) -> None:
    await world(sessions)
    danger_id = await report(sessions)
    li = Person(sessions, SUPERVISOR, 90_000)
    async with sessions() as s:
        await handover.deactivate_user(
            s, account=tg(INSPECTOR), actor="t", handover_to=tg(OTHER_INSPECTOR)
        )
    zhao = Person(sessions, OTHER_INSPECTOR, 91_000)
    await rectify(zhao, danger_id, [after_photo(1)])
    await li.act(danger_id, Action.APPROVE)
    async with sessions() as s:
        to_old = await s.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.target == str(INSPECTOR))
        )
    assert to_old == 0


async def test_groups_a_deactivated_supervisor_bound_are_told(sessions: Sessions) -> None:
    """The group stays bound to the unit (its other members still need the cards), but it is
    told the person's access was taken away; a group someone else bound since is not."""
    await world(sessions)
    for chat_id, binder in ((-1, SUPERVISOR), (-2, SUPERVISOR), (-2, CITY_SUPERVISOR)):
        async with sessions() as s:
            await bind_group(
                s, chat_id=chat_id, title=f"g{chat_id}", unit="甘井子区",
                account=tg(binder), is_chat_admin=True,
            )  # fmt: skip
    async with sessions() as s:
        done = await handover.deactivate_user(s, account=tg(SUPERVISOR), actor="t")
    assert done.bound_groups == ["g-1"]
    async with sessions() as s:
        told = list(await s.scalars(select(Outbox).where(Outbox.kind == "notice")))
    assert [(o.target, o.payload["params"]) for o in told] == [("-1", {"name": "李监管"})]
    assert "no longer has access" in told[0].payload["key"]


# --- 4. deciding an extension is a conditional update ---------------------------------------------


async def test_granting_and_refusing_at_once_decides_once(sessions: Sessions) -> None:
    await world(sessions)
    danger_id = await report(sessions)
    wang = Person(sessions, INSPECTOR, 20_000)
    await wang.act(danger_id, Action.EXTEND)
    await wang.press("days:15")
    await wang.text("需要采购新的防护网")
    li = Person(sessions, SUPERVISOR, 30_000)
    city = Person(sessions, CITY_SUPERVISOR, 40_000)
    await city.act(danger_id, Action.REFUSE)  # a reason to type, then the refusal

    async def grant() -> object:
        return await li.act(danger_id, Action.GRANT)

    async def refuse() -> object:
        return await city.text("理由不充分")

    results = await asyncio.gather(grant(), refuse(), return_exceptions=True)
    decided = [r for r in results if isinstance(r, LoopReply) and r.done is not None]
    assert len(decided) == 1, results  # the other was refused: an error or a notice
    async with sessions() as s:
        requests = list(await s.scalars(select(ExtensionRequest)))
        events = await s.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.action.in_(("danger.extension_granted", "danger.extension_refused")))
        )
    assert len(requests) == 1 and requests[0].status in ("granted", "refused") and events == 1


# --- 5. rebinding a group ----------------------------------------------------------------------


GROUP = {"chat_id": -77, "title": "安全群", "is_chat_admin": True}


async def test_rebinding_needs_both_units_and_says_what_it_replaced(sessions: Sessions) -> None:
    await world(sessions)
    async with sessions() as s:
        await bind_group(
            s,
            chat_id=-77,
            title="群",
            unit="长海县",
            account=tg(CITY_SUPERVISOR),
            is_chat_admin=True,
        )
    async with sessions() as s:  # the district's supervisor may not take 长海县's group
        with pytest.raises(Invalid, match="not yours"):
            await bind_group(
                s,
                chat_id=-77,
                title="群",
                unit="甘井子区",
                account=tg(SUPERVISOR),
                is_chat_admin=True,
            )
    async with sessions() as s:
        moved = await bind_group(
            s,
            chat_id=-77,
            title="群",
            unit="甘井子区",
            account=tg(CITY_SUPERVISOR),
            is_chat_admin=True,
        )
    assert moved.unit_name == "甘井子区" and moved.replaced == "长海县"


# --- 6. an invite's validity is checked in the statement that uses it --------------------------


async def test_an_invite_revoked_between_look_and_use_is_refused(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    await world(sessions)
    async with sessions() as s:
        code = (await invites.create_invite(s, role="inspector", unit="甘井子区", actor="t")).code
    real_user_row = people.user_row

    async def revoked_meanwhile(session, account, **kw):  # type: ignore[no-untyped-def]
        # Revoked right after the invite was read: by another process on PostgreSQL; on SQLite,
        # whose writers take turns, inside this very transaction.
        revoke = update(Invite).where(Invite.code == code).values(revoked=True)
        if session.get_bind().dialect.name == "postgresql":
            async with sessions() as other:
                await other.execute(revoke)
                await other.commit()
        else:
            await session.execute(revoke)
        return await real_user_row(session, account, **kw)

    monkeypatch.setattr(invites, "user_row", revoked_meanwhile)
    async with sessions() as s:
        with pytest.raises(Invalid):
            await invites.redeem_invite(s, code=code, account=tg(4242), name="x", username=None)
    monkeypatch.undo()
    async with sessions() as s:
        assert await people.get_user(s, tg(4242)) is None


# --- 8. photo limits before the download, and unused photos forgotten ---------------------------


async def test_room_for_photos_is_known_before_the_download(sessions: Sessions) -> None:
    await world(sessions)
    w = Walker(sessions)
    reply = await w.begin()
    assert reply.tasks is not None
    await w.press(f"task:{reply.tasks.items[0].id}")
    await w.text("工厂")
    await w.press("field:construction")
    await w.text("脚手架未设置防护网")
    for n in range(10):
        await w.send(Input(InputKind.PHOTO, photo=photo(100 + n)))
    async with sessions() as s:
        room = await upload_room(s, account=tg(INSPECTOR), now=utcnow())
    assert room.photos_in_draft == 10 and room.photos_held == 0
    with pytest.raises(Invalid, match="most a report holds"):
        check_room(room, size=1000, bytes_a_day=1 << 30)
    # A full report may still hold photos for "add to it or start a new one" …
    check_room(room, size=1000, bytes_a_day=1 << 30, held=True)
    # … as many as a report holds.
    with pytest.raises(Invalid, match="most a report holds"):
        check_room(Room(0, 0, 10), size=1000, bytes_a_day=1 << 30, held=True)
    with pytest.raises(Invalid, match="most a day allows"):
        check_room(Room(0, 499 << 20), size=2 << 20, bytes_a_day=500 << 20)
    check_room(Room(3, 10 << 20), size=2 << 20, bytes_a_day=500 << 20)


async def test_unused_photos_and_their_files_are_forgotten_after_a_day(
    sessions: Sessions, tmp_path: Path
) -> None:
    await world(sessions)
    danger_id = await report(sessions, photo_base=7)
    async with sessions() as s:
        kept = (await s.scalars(select(Photo).where(Photo.danger_id == danger_id))).one()
        kept_file = tmp_path / kept.path
        kept_file.parent.mkdir(parents=True, exist_ok=True)
        kept_file.write_bytes(b"kept")
        digest = hashlib.sha256(b"orphan").hexdigest()
        orphan_file = tmp_path / f"{digest[:2]}/{digest}.jpg"
        orphan_file.parent.mkdir(parents=True, exist_ok=True)
        orphan_file.write_bytes(b"orphan")
        s.add_all(
            [
                Photo(
                    file_id="o",
                    file_unique_id="o",
                    sha256=digest,
                    path=f"{digest[:2]}/{digest}.jpg",
                    size=6,
                    created_at=NOW - timedelta(days=2),
                ),
                # The same bytes as a kept photo, removed from a draft: the file stays.
                Photo(
                    file_id="k",
                    file_unique_id="k",
                    sha256=kept.sha256,
                    path=kept.path,
                    size=4,
                    created_at=NOW - timedelta(days=2),
                ),
                # Removed an hour ago: not yet.
                Photo(
                    file_id="n",
                    file_unique_id="n",
                    sha256="n" * 64,
                    path="nn/new.jpg",
                    size=4,
                    created_at=NOW - timedelta(hours=1),
                ),
            ]
        )
        await s.commit()
    async with sessions() as s:
        gone = await forget_unused_photos(s, tmp_path, now=NOW)
    assert gone == 2
    assert not orphan_file.exists() and kept_file.exists()
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Photo)) == 2


# --- 9. bad input: one line, nothing changed ----------------------------------------------------


@pytest.mark.parametrize("text", ["²", "٣", "1e3", "", "-", "99999999999999999999", " 7", "0x10"])
def test_only_plain_small_numbers_are_ids(text: str) -> None:
    assert small_int(text) is None


def test_small_numbers_are_ids() -> None:
    assert small_int("42") == 42 and small_int("-1") == -1


def test_a_deadline_in_the_year_9999_is_not_a_date() -> None:
    today = date(2026, 11, 29)
    assert parse_deadline("9999-12-31", today=today) is None
    assert parse_deadline("2031-11-29", today=today) == date(2031, 11, 29)
    assert parse_deadline("2032-01-01", today=today) is None


async def test_periods_beyond_the_calendar_are_refused(sessions: Sessions) -> None:
    await world(sessions)
    async with sessions() as s:
        with pytest.raises(Invalid, match="between"):
            await ledger_scope(s, date_from=date(2026, 1, 1), date_to=date(9999, 12, 31))


async def test_an_extension_to_9999_is_refused_with_a_hint(sessions: Sessions) -> None:
    await world(sessions)
    danger_id = await report(sessions)
    wang = Person(sessions, INSPECTOR, 20_000)
    await wang.act(danger_id, Action.EXTEND)
    typed = await wang.text("9999-12-31")
    assert typed.notices and typed.draft is not None and typed.draft.step == "date"


async def test_a_second_top_unit_is_refused(sessions: Sessions) -> None:
    await world(sessions)
    async with sessions() as s:
        with pytest.raises(Invalid, match="top unit already"):
            await units.add_unit(s, name="沈阳市", kind="region", actor="t")


# --- 11. what reaches WeCom's markdown stays text; direction marks are gone ---------------------


def test_a_site_name_cannot_become_a_link_or_a_mention_in_wecom() -> None:
    site = "[点此整改](http://evil.example/a)<@all>**急**"
    data = OverduePush(
        unit="甘井子区",
        today=date(2026, 11, 29),
        dangers=(
            LateDanger(
                id=1, number="DL-2026-000001", site=site, days=3, level="general", unit="甘井子区"
            ),
        ),
        count=1,
        task_count=0,
        tasks=(),
    )
    text = wecom_markdown(Translator("zh_CN"), data)
    for markup in ("[", "](", "<@", "**"):
        assert markup not in text.replace("### ", "")
    assert "点此整改" in text


def test_direction_overrides_and_controls_are_stripped() -> None:
    assert clean("报告\u202egpj.exe\u200f 工厂\x00") == "报告gpj.exe 工厂"


async def test_a_name_is_stored_without_direction_marks(sessions: Sessions) -> None:
    await world(sessions)
    async with sessions() as s:
        code = (await invites.create_invite(s, role="inspector", unit="甘井子区", actor="t")).code
    async with sessions() as s:
        info = await invites.redeem_invite(
            s, code=code, account=tg(4343), name="王\u202e五", username=None
        )
    assert info.name == "王五"


async def test_discarded_action_drafts_of_the_deactivated(sessions: Sessions) -> None:
    await world(sessions)
    danger_id = await report(sessions)
    wang = Person(sessions, INSPECTOR, 20_000)
    await wang.act(danger_id, Action.EXTEND)
    async with sessions() as s:
        await handover.deactivate_user(
            s, account=tg(INSPECTOR), actor="t", handover_to=tg(OTHER_INSPECTOR)
        )
    async with sessions() as s:
        open_actions = await s.scalar(
            select(func.count())
            .select_from(Draft)
            .where(Draft.status == DraftStatus.OPEN, Draft.flow == "action")
        )
    assert open_actions == 0
    async with sessions() as s:
        with pytest.raises(NotAllowed):
            await act(
                s, account=tg(INSPECTOR), danger_id=danger_id, action=Action.START, update_id=None
            )


async def test_deactivating_twice_says_already_and_unknown_is_named(sessions: Sessions) -> None:
    await world(sessions)
    async with sessions() as s:
        await handover.deactivate_user(s, account=tg(FAR_INSPECTOR), actor="t")
    async with sessions() as s:
        again = await handover.deactivate_user(s, account=tg(FAR_INSPECTOR), actor="t")
    assert again.already
    async with sessions() as s:
        with pytest.raises(NotFound):
            await handover.deactivate_user(s, account=tg(123), actor="t")
