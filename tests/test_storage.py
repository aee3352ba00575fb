"""Domain operations of part 1, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from storage import campaigns, inbox, invites, people, tasks, units
from storage.db import Sessions
from storage.errors import Invalid, NotFound
from storage.models import Event, Task, User
from tests.factories import CITY, make_campaign, task_row, tg


async def test_campaign_set_and_change(sessions: Sessions) -> None:
    async with sessions() as s:
        assert await campaigns.get_campaign(s) is None
        with pytest.raises(NotFound):
            await campaigns.require_campaign(s)
    async with sessions() as s:
        info = await campaigns.set_campaign(
            s, name="三年行动", closing_date=date(2026, 12, 31), actor="test"
        )
    assert info.timezone == "Asia/Shanghai"
    async with sessions() as s:
        again = await campaigns.set_campaign(
            s, name="三年行动收官", closing_date=date(2027, 1, 15), timezone="UTC", actor="test"
        )
    assert again.id == info.id
    async with sessions() as s:
        got = await campaigns.require_campaign(s)
        assert (got.name, got.closing_date, got.timezone) == (
            "三年行动收官",
            date(2027, 1, 15),
            "UTC",
        )
        events = list(await s.scalars(select(Event).where(Event.action == "campaign.set")))
        assert len(events) == 2
        assert events[1].detail["before"]["name"] == "三年行动"


async def test_campaign_rejects_bad_time_zone_and_name(sessions: Sessions) -> None:
    async with sessions() as s:
        with pytest.raises(Invalid) as err:
            await campaigns.set_campaign(
                s, name="x", closing_date=date(2026, 12, 31), timezone="Mars/Base", actor="t"
            )
        assert err.value.params == {"timezone": "Mars/Base"}
        with pytest.raises(Invalid):
            await campaigns.set_campaign(s, name="  ", closing_date=date(2026, 12, 31), actor="t")


async def test_units_form_a_tree_and_adding_twice_changes_nothing(sessions: Sessions) -> None:
    await make_campaign(sessions)
    async with sessions() as s:
        info, created = await units.add_unit(
            s, name="甘井子区", kind="region", parent=CITY, actor="t"
        )
    assert not created and info.parent_name == CITY
    async with sessions() as s:
        await units.add_unit(s, name="红旗街道", kind="region", parent="甘井子区", actor="t")
    async with sessions() as s:
        tree = await units.list_units(s)
    assert tree[0].name == CITY and tree[0].depth == 0
    street = next(u for u in tree if u.name == "红旗街道")
    assert street.depth == 2 and street.parent_name == "甘井子区"
    order = [u.name for u in tree]
    assert order.index("红旗街道") == order.index("甘井子区") + 1
    async with sessions() as s:
        city = await units.find_unit(s, CITY)
        below = await units.unit_and_descendants(s, city.id)
        district = await units.find_unit(s, "甘井子区")
        assert len(below) == 9
        assert await units.unit_and_descendants(s, district.id) == {district.id, street.id}
        # Up the same tree, the nearest first: who is told, who takes over, whose groups see it.
        assert await units.unit_and_ancestors(s, street.id) == [street.id, district.id, city.id]
        assert await units.unit_and_ancestors(s, city.id) == [city.id]


def test_a_walk_of_the_unit_tree_ends_at_a_cycle() -> None:
    """Only a hand-edited database holds a cycle; a walk over one must still end."""
    tree = units.UnitTree(parents={1: None, 2: 3, 3: 2}, children={2: [3], 3: [2]})
    assert tree.above(2) == [2, 3]
    assert tree.below(2) == {2, 3}
    assert tree.above(1) == [1]


async def test_unit_errors(sessions: Sessions) -> None:
    await make_campaign(sessions)
    async with sessions() as s:
        with pytest.raises(NotFound):
            await units.add_unit(s, name="X", kind="region", parent="Nowhere", actor="t")
        with pytest.raises(Invalid):
            await units.add_unit(s, name="X", kind="ministry", actor="t")
        with pytest.raises(Invalid):
            await units.add_unit(s, name="甘井子区", kind="department", parent=CITY, actor="t")
        with pytest.raises(Invalid):
            await units.add_unit(s, name="", kind="region", actor="t")


async def test_import_tasks_upserts_by_code(sessions: Sessions) -> None:
    await make_campaign(sessions)
    rows = [task_row(2, "MU-01"), task_row(3, "MU-02", field="消防", unit="市消防救援支队")]
    async with sessions() as s:
        result = await tasks.import_tasks(s, rows=rows, actor="t")
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    async with sessions() as s:
        again = await tasks.import_tasks(s, rows=rows, actor="t")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    changed = [task_row(2, "MU-01", due_date="2027/1/5"), rows[1], task_row(4, "MU-03")]
    async with sessions() as s:
        third = await tasks.import_tasks(s, rows=changed, actor="t")
    assert (third.created, third.updated, third.unchanged) == (1, 1, 1)
    async with sessions() as s:
        stored = {t.code: t for t in await s.scalars(select(Task))}
        assert stored["MU-01"].due_date == date(2027, 1, 5)
        assert stored["MU-01"].status == "open"
        imports = await s.scalar(
            select(func.count()).select_from(Event).where(Event.action == "tasks.imported")
        )
        assert imports == 2  # the import that changed nothing leaves no event


async def test_import_with_bad_rows_imports_nothing_and_names_each(sessions: Sessions) -> None:
    await make_campaign(sessions)
    rows = [
        task_row(2, "MU-01"),
        task_row(3, "MU-02", unit="不存在的单位"),
        task_row(4, "MU-03", due_date="明年"),
        task_row(5, "MU-01"),
        task_row(6, "", title=""),
        task_row(7, "MU-07", source="rumour", field="space"),
    ]
    async with sessions() as s:
        with pytest.raises(tasks.TaskImportError) as err:
            await tasks.import_tasks(s, rows=rows, actor="t")
    by_line: dict[int, list[str]] = {}
    for e in err.value.errors:
        by_line.setdefault(e.line, []).append(e.key)
    assert set(by_line) == {3, 4, 5, 6, 7}
    assert any("unknown unit" in k for k in by_line[3])
    assert any("due date" in k for k in by_line[4])
    assert any("already appears" in k for k in by_line[5])
    assert len(by_line[6]) == 2 and len(by_line[7]) == 2
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Task)) == 0


async def test_import_needs_the_columns_and_a_campaign(sessions: Sessions) -> None:
    async with sessions() as s:
        with pytest.raises(NotFound):
            await tasks.import_tasks(s, rows=[task_row(2, "A")], actor="t")
    await make_campaign(sessions)
    async with sessions() as s:
        with pytest.raises(tasks.TaskImportError) as err:
            await tasks.import_tasks(s, rows=[(2, {"code": "A", "title": "t"})], actor="t")
    assert err.value.errors[0].line == 1
    assert "source" in err.value.errors[0].params["columns"]


async def test_import_accepts_chinese_headers(sessions: Sessions) -> None:
    await make_campaign(sessions)
    row = {
        "编号": "EN-01",
        "任务名称": "落实企业主体责任",
        "来源": "企业主体责任",
        "领域": "其他",
        "责任单位": "庄河市",
        "完成时限": "2026年12月20日",
    }
    async with sessions() as s:
        result = await tasks.import_tasks(s, rows=[(2, row)], actor="t")
    assert result.created == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-05", date(2026, 12, 5)),
        ("2026/12/5", date(2026, 12, 5)),
        ("2026.12.05", date(2026, 12, 5)),
        ("2026年12月5日", date(2026, 12, 5)),
        ("2026-12-05 00:00:00", date(2026, 12, 5)),
        (datetime(2026, 12, 5, 8, 0), date(2026, 12, 5)),
        ("2026-02-30", None),
        ("12/05/2026", None),
        ("", None),
    ],
)
def test_parse_date(text: object, expected: date | None) -> None:
    assert tasks.parse_date(text) == expected


async def test_invite_codes_are_random_and_scoped(sessions: Sessions) -> None:
    await make_campaign(sessions)
    now = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    codes = set()
    for _ in range(20):
        async with sessions() as s:
            info = await invites.create_invite(
                s, role="inspector", unit="甘井子区", uses=3, expires_days=7, actor="t", now=now
            )
        codes.add(info.code)
        assert len(info.code) >= 16  # about 95 bits of letters and digits
        assert info.code.isascii() and info.code.isalnum()  # never starts with "-"
        assert info.expires_at == now + timedelta(days=7)
    assert len(codes) == 20
    async with sessions() as s:
        events = list(await s.scalars(select(Event).where(Event.action == "invite.created")))
        assert len(events) == 20
        assert all(info.code not in str(e.detail) for e in events)


async def test_invite_rules(sessions: Sessions) -> None:
    await make_campaign(sessions)
    async with sessions() as s:
        with pytest.raises(Invalid):
            await invites.create_invite(s, role="inspector", unit=None, actor="t")
        with pytest.raises(Invalid):
            await invites.create_invite(s, role="mayor", unit="甘井子区", actor="t")
        with pytest.raises(Invalid):
            await invites.create_invite(s, role="inspector", unit="甘井子区", uses=0, actor="t")
        with pytest.raises(Invalid):
            await invites.create_invite(
                s, role="inspector", unit="甘井子区", expires_days=0, actor="t"
            )
        with pytest.raises(NotFound):
            await invites.create_invite(s, role="supervisor", unit="火星", actor="t")
        admin = await invites.create_invite(s, role="admin", unit=None, actor="t")
        assert admin.unit_name is None


async def test_add_admin_is_idempotent(sessions: Sessions) -> None:
    await make_campaign(sessions)
    async with sessions() as s:
        info, changed = await people.add_admin(s, account=tg(7_000_000_001), actor="t")
    assert changed and info.role == "admin"
    async with sessions() as s:
        _, changed = await people.add_admin(s, account=tg(7_000_000_001), actor="t")
    assert not changed
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 1
        user = await people.get_user(s, tg(7_000_000_001))
        assert user is not None and user.telegram_id == 7_000_000_001
        with pytest.raises(Invalid):
            await people.add_admin(s, account=tg(0), actor="t")


async def test_redeem_invite_registers_once_per_use(sessions: Sessions) -> None:
    await make_campaign(sessions)
    now = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    async with sessions() as s:
        invite = await invites.create_invite(
            s, role="inspector", unit="甘井子区", uses=2, actor="t", now=now
        )
    async with sessions() as s:
        first = await invites.redeem_invite(
            s, code=invite.code, account=tg(101), name="王检查", username="wang", now=now
        )
    assert (first.role, first.unit_name, first.name) == ("inspector", "甘井子区", "王检查")
    async with sessions() as s:  # the same person opening the link again uses nothing
        await invites.redeem_invite(s, code=invite.code, account=tg(101), name="王", username=None)
        await invites.redeem_invite(s, code=invite.code, account=tg(102), name="李", username=None)
    async with sessions() as s:
        with pytest.raises(Invalid) as err:
            await invites.redeem_invite(
                s, code=invite.code, account=tg(103), name="赵", username=None
            )
        assert "used up" in err.value.key
        assert await people.get_user(s, tg(103)) is None
        registered = await s.scalar(
            select(func.count()).select_from(Event).where(Event.action == "user.registered")
        )
        assert registered == 2


async def test_redeem_refuses_unknown_and_expired_codes(sessions: Sessions) -> None:
    await make_campaign(sessions)
    now = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    async with sessions() as s:
        invite = await invites.create_invite(
            s, role="supervisor", unit="庄河市", expires_days=1, actor="t", now=now
        )
    async with sessions() as s:
        with pytest.raises(NotFound):
            await invites.redeem_invite(s, code="nope", account=tg(5), name="x", username=None)
        with pytest.raises(Invalid) as err:
            await invites.redeem_invite(
                s,
                code=invite.code,
                account=tg(5),
                name="x",
                username=None,
                now=now + timedelta(days=1, seconds=1),
            )
        assert "expired" in err.value.key
        assert await people.get_user(s, tg(5)) is None


async def test_a_new_invite_moves_a_person(sessions: Sessions) -> None:
    await make_campaign(sessions)
    async with sessions() as s:
        a = await invites.create_invite(s, role="inspector", unit="甘井子区", actor="t")
        b = await invites.create_invite(s, role="supervisor", unit="长海县", actor="t")
    async with sessions() as s:
        await invites.redeem_invite(s, code=a.code, account=tg(9), name="x", username=None)
    async with sessions() as s:
        moved = await invites.redeem_invite(s, code=b.code, account=tg(9), name="x", username=None)
    assert (moved.role, moved.unit_name) == ("supervisor", "长海县")


async def test_language_choice(sessions: Sessions) -> None:
    async with sessions() as s:
        assert await people.chosen_language(s, tg(77)) is None
        await people.choose_language(s, account=tg(77), language="en")
        await people.choose_language(s, account=tg(77), language="zh_CN")
        assert await people.chosen_language(s, tg(77)) == "zh_CN"
        with pytest.raises(Invalid):
            await people.choose_language(s, account=tg(77), language="fr")


async def test_the_inbox_keeps_once_replays_a_few_times_and_forgets(sessions: Sessions) -> None:
    now = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    gone = 11  # the mark of a process that stopped (on PostgreSQL: nobody holds its lock)
    for update_id in (7, 8, 8, 9):  # 8 delivered twice is kept once
        async with sessions() as s:
            await inbox.keep(
                s, update_id=update_id, payload={"update_id": update_id}, now=now, receiver=gone
            )
    async with sessions() as s:
        await inbox.keep(
            s, update_id=6, payload={"update_id": 6}, now=now - timedelta(hours=2), receiver=gone
        )
    async with sessions() as s:
        assert await inbox.forget(s, [9]) == 1
    later = now + timedelta(minutes=1)
    for start in range(inbox.MAX_REPLAYS):  # three starts in a row, each killed by 7 or 8
        async with sessions() as s:
            left = await inbox.adopt_left_over(s, receiver=20 + start, now=later)
        assert [p["update_id"] for p in left] == [7, 8]  # 6 is too old to answer
    async with sessions() as s:
        assert await inbox.adopt_left_over(s, receiver=30, now=later) == []  # given up
