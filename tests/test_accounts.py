"""People by account: known on Telegram, on WeCom or on both, they see the same records."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from telegram import Bot

from bot.config import Settings
from bot.push.sender import drain
from storage import people
from storage.accounts import Account, push_address
from storage.clock import utcnow
from storage.closed_loop import danger_detail
from storage.db import Sessions
from storage.dto import UserInfo
from storage.errors import Invalid, NotFound
from storage.linking import link_accounts
from storage.lists import list_dangers
from storage.models import Channel, Event, Outbox, OutboxStatus, User
from storage.permissions import Action
from storage.push_payloads import NoticePush
from storage.pushes import deactivate_chat, enqueue, enqueue_due
from tests.factories import tg
from tests.timeline import NOW, at
from tests.world import (
    ADMIN,
    INSPECTOR,
    OTHER_INSPECTOR,
    SUPERVISOR,
    Person,
    after_photo,
    group,
    register_wecom,
    world,
)
from tests.world import report as report_by

WECOM_INSPECTOR = Account.wecom("inspector01")
WECOM_SUPERVISOR = Account.wecom("supervisor.li@dl")


async def mine(sessions: Sessions, account: Account, scope: str = "mine") -> list[int]:
    async with sessions() as s:
        page = await list_dangers(s, account=account, scope=scope, query="DL", now=NOW)
    return sorted(line.id for line in page.items)


async def outbox_keys(sessions: Sessions, kind: str) -> list[str]:
    async with sessions() as s:
        return sorted(await s.scalars(select(Outbox.key).where(Outbox.kind == kind)))


# --- accounts themselves -------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "张三", "li si", "x" * 65, "a/b", "a;b", "a\n", "wecom:x"])
def test_a_wecom_user_id_is_checked(bad: str) -> None:
    with pytest.raises(Invalid, match="WeCom user id"):
        Account.wecom(bad)


def test_accounts_name_their_actor_as_the_audit_trail_always_did() -> None:
    assert Account.wecom("zhang.san@dl-corp_1").actor == "wecom:zhang.san@dl-corp_1"
    assert Account.telegram(5001).actor == "5001"  # as in every event before WeCom came
    for bad in (0, -5, 2**52):
        with pytest.raises(Invalid, match="Telegram user id"):
            Account.telegram(bad)


def test_a_push_goes_to_telegram_first_then_to_the_wecom_application() -> None:
    def person(telegram_id: int | None, wecom_user_id: str | None) -> UserInfo:
        return UserInfo(1, telegram_id, wecom_user_id, "x", "inspector", None, None, True)

    assert (push_address(person(42, "li")).channel, push_address(person(42, "li")).target) == (
        Channel.TELEGRAM,
        42,
    )
    only_wecom = push_address(person(None, "li"))
    assert (only_wecom.channel, only_wecom.target) == (Channel.WECOM_APP, "li")


# --- a person known on WeCom only ----------------------------------------------------------------


async def test_a_language_belongs_to_the_account_it_was_chosen_on(sessions: Sessions) -> None:
    await world(sessions)
    await register_wecom(sessions, WECOM_INSPECTOR, "inspector", "甘井子区")
    # A WeCom user id that reads like a Telegram id must not take that Telegram id's choice.
    wecom_digits = Account.wecom("77")
    async with sessions() as s:
        await people.choose_language(s, account=WECOM_INSPECTOR, language="en")
        await people.choose_language(s, account=tg(77), language="zh_CN")
    async with sessions() as s:
        registered = await people.who_is(s, WECOM_INSPECTOR)
        visitor = await people.who_is(s, wecom_digits)
        assert await people.chosen_language(s, WECOM_INSPECTOR) == "en"
        assert await people.chosen_language(s, wecom_digits) is None
        assert await people.chosen_language(s, tg(77)) == "zh_CN"
    assert registered.user is not None and registered.language == "en"
    assert visitor.user is None and visitor.language is None
    async with sessions() as s:
        await people.choose_language(s, account=wecom_digits, language="en")
    async with sessions() as s:
        assert (await people.who_is(s, wecom_digits)).language == "en"
        assert (await people.who_is(s, tg(77))).language == "zh_CN"


async def test_a_wecom_person_registers_reports_and_sees_their_record(sessions: Sessions) -> None:
    await world(sessions)
    await register_wecom(sessions, WECOM_INSPECTOR, "inspector", "甘井子区")
    async with sessions() as s:
        visitor = await people.who_is(s, WECOM_INSPECTOR)
    assert visitor.user is not None
    assert (visitor.user.telegram_id, visitor.user.wecom_user_id) == (None, "inspector01")
    assert (visitor.user.role, visitor.user.unit_name) == ("inspector", "甘井子区")
    assert visitor.language is None  # nothing chosen yet: the deployment's default applies

    danger_id = await report_by(sessions, who=WECOM_INSPECTOR, photo_base=3)
    assert await mine(sessions, WECOM_INSPECTOR) == [danger_id]
    assert await mine(sessions, tg(OTHER_INSPECTOR)) == []  # an inspector sees their own
    async with sessions() as s:
        reported = (await s.scalars(select(Event).where(Event.action == "danger.reported"))).one()
        registered = await s.scalar(
            select(Event.actor).where(
                Event.action == "user.registered", Event.actor.like("wecom:%")
            )
        )
    assert reported.actor == "wecom:inspector01"
    assert registered == "wecom:inspector01"


async def test_a_wecom_person_rectifies_and_hears_back_through_the_application(
    sessions: Sessions,
) -> None:
    await world(sessions)
    await register_wecom(sessions, WECOM_INSPECTOR, "inspector", "甘井子区")
    danger_id = await report_by(sessions, who=WECOM_INSPECTOR, photo_base=3)
    inspector = Person(sessions, WECOM_INSPECTOR, 50_000)
    assert Action.RECTIFY in await inspector.actions(danger_id)
    await inspector.act(danger_id, Action.RECTIFY)
    await inspector.photo(after_photo(1))
    await inspector.press("done")
    await inspector.text("已更换防护网并复查")
    await inspector.press("submit")
    await Person(sessions, SUPERVISOR, 60_000).act(danger_id, Action.APPROVE)
    async with sessions() as s:
        closed = (
            await s.scalars(
                select(Outbox).where(Outbox.channel == Channel.WECOM_APP, Outbox.kind == "notice")
            )
        ).all()
    assert [(row.target, row.key.split(":")[:3]) for row in closed] == [
        ("inspector01", ["wecom_app", "inspector01", "event"])
    ]
    # The supervisor was told of the rectification on Telegram, under the key it always had.
    assert any(
        k.startswith(f"tg:{SUPERVISOR}:event:") for k in await outbox_keys(sessions, "notice")
    )


async def test_telegram_and_wecom_people_of_one_unit_see_the_same_records(
    sessions: Sessions,
) -> None:
    await world(sessions)
    await register_wecom(sessions, WECOM_INSPECTOR, "inspector", "甘井子区")
    await register_wecom(sessions, WECOM_SUPERVISOR, "supervisor", "甘井子区")
    by_telegram = await report_by(sessions, photo_base=1)
    by_wecom = await report_by(sessions, who=WECOM_INSPECTOR, photo_base=2)
    for scope in ("mine", "find"):
        seen = await mine(sessions, tg(SUPERVISOR), scope)
        assert seen == sorted([by_telegram, by_wecom])
        assert await mine(sessions, WECOM_SUPERVISOR, scope) == seen
    async with sessions() as s:
        for danger_id in (by_telegram, by_wecom):
            on_telegram = await danger_detail(s, account=tg(SUPERVISOR), danger_id=danger_id)
            on_wecom = await danger_detail(s, account=WECOM_SUPERVISOR, danger_id=danger_id)
            assert on_wecom.actions == on_telegram.actions


# --- one person, both fronts ---------------------------------------------------------------------


async def test_linking_puts_both_accounts_on_one_person(sessions: Sessions) -> None:
    await world(sessions)
    danger_id = await report_by(sessions, photo_base=1)  # by the Telegram inspector
    # They also opened an invite on WeCom: a second person, with nothing on record yet.
    await register_wecom(sessions, WECOM_INSPECTOR, "inspector", "甘井子区")
    async with sessions() as s:
        people_before = await s.scalar(select(func.count()).select_from(User))
        telegram_person = await people.get_user(s, tg(INSPECTOR))
        info, changed = await link_accounts(
            s, telegram=tg(INSPECTOR), wecom=WECOM_INSPECTOR, actor="cli"
        )
    assert changed and telegram_person is not None
    assert (info.id, info.telegram_id, info.wecom_user_id) == (
        telegram_person.id,
        INSPECTOR,
        "inspector01",
    )
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == people_before - 1
        linked = (await s.scalars(select(Event).where(Event.action == "user.linked"))).one()
        # The WeCom registration is kept, and names the person who holds that account now.
        registration = (
            await s.scalars(
                select(Event).where(
                    Event.action == "user.registered", Event.actor == "wecom:inspector01"
                )
            )
        ).one()
        again = await link_accounts(s, telegram=tg(INSPECTOR), wecom=WECOM_INSPECTOR, actor="cli")
    assert linked.detail["absorbed"]["role"] == "inspector"
    assert registration.actor_id == info.id
    assert not again[1]

    assert (
        await mine(sessions, WECOM_INSPECTOR) == await mine(sessions, tg(INSPECTOR)) == [danger_id]
    )
    # Acting through WeCom is the same person: the rights of the responsible inspector.
    await Person(sessions, WECOM_INSPECTOR, 70_000).act(danger_id, Action.START)
    async with sessions() as s:
        started = (await s.scalars(select(Event).where(Event.action == "danger.rectifying"))).one()
    assert (started.actor, started.actor_id) == ("wecom:inspector01", info.id)


async def test_linking_a_telegram_id_to_a_person_known_on_wecom_only(sessions: Sessions) -> None:
    await world(sessions)
    await register_wecom(sessions, WECOM_INSPECTOR, "inspector", "甘井子区")
    danger_id = await report_by(sessions, who=WECOM_INSPECTOR, photo_base=2)
    async with sessions() as s:
        info, changed = await link_accounts(
            s, telegram=tg(7777), wecom=WECOM_INSPECTOR, actor="cli"
        )
    assert changed and (info.telegram_id, info.wecom_user_id) == (7777, "inspector01")
    assert await mine(sessions, tg(7777)) == await mine(sessions, WECOM_INSPECTOR) == [danger_id]
    async with sessions() as s:
        with pytest.raises(NotFound, match="Telegram id"):
            await link_accounts(s, telegram=tg(8888), wecom=Account.wecom("nobody"), actor="cli")


async def test_a_wecom_id_with_records_of_its_own_is_not_linked_away(sessions: Sessions) -> None:
    await world(sessions)
    await register_wecom(sessions, WECOM_INSPECTOR, "inspector", "甘井子区")
    danger_id = await report_by(sessions, who=WECOM_INSPECTOR, photo_base=2)
    async with sessions() as s:
        with pytest.raises(Invalid, match="records of their own"):
            await link_accounts(s, telegram=tg(OTHER_INSPECTOR), wecom=WECOM_INSPECTOR, actor="cli")
    async with sessions() as s:
        other = await people.get_user(s, tg(OTHER_INSPECTOR))
    assert other is not None and other.wecom_user_id is None
    assert await mine(sessions, WECOM_INSPECTOR) == [danger_id]


# --- pushes addressed to a person ----------------------------------------------------------------


async def test_an_admin_known_on_wecom_only_is_told_through_the_application(
    sessions: Sessions,
) -> None:
    await world(sessions)
    async with sessions() as s:
        await people.add_admin(s, account=Account.wecom("admin01"), actor="t")
    await group(sessions, -5, "甘井子区")
    async with sessions() as s:
        assert await deactivate_chat(s, chat_id=-5, error="Forbidden: kicked", now=NOW)
    async with sessions() as s:
        rows = (await s.scalars(select(Outbox).where(Outbox.kind == "notice"))).all()
    assert sorted((r.channel, r.target, r.key) for r in rows) == [
        # The Telegram admin's key is exactly what it was before WeCom came: sent once.
        ("telegram", str(ADMIN), f"tg:{ADMIN}:group-off:-5:2026-11-29"),
        ("wecom_app", "admin01", "wecom_app:admin01:group-off:-5:2026-11-29"),
    ]


async def test_reminders_and_digests_reach_wecom_people(sessions: Sessions) -> None:
    await world(sessions)
    await register_wecom(sessions, WECOM_INSPECTOR, "inspector", "甘井子区")
    await register_wecom(sessions, WECOM_SUPERVISOR, "supervisor", "甘井子区")
    await report_by(sessions, who=WECOM_INSPECTOR, photo_base=2)  # due 2026-12-06
    async with sessions() as s:
        await enqueue_due(s, now=at("2026-12-08", "09:00"))
    assert await outbox_keys(sessions, "reminder") == ["wecom_app:inspector01:reminder:2026-12-08"]
    digests = await outbox_keys(sessions, "digest")
    assert "wecom_app:supervisor.li@dl:digest:2026-12-08" in digests
    assert f"tg:{SUPERVISOR}:digest:2026-12-08" in digests


async def test_without_a_wecom_application_its_messages_fail(
    sessions: Sessions, tmp_path: Path
) -> None:
    await world(sessions)
    async with sessions() as s:
        enqueue(
            s,
            NoticePush(key="x", params={}),
            channel=Channel.WECOM_APP,
            target="admin01",
            period="1",
            now=utcnow(),
        )
        await s.commit()
    settings = Settings(token="1:x", data_dir=tmp_path, language="en")
    assert await drain(Bot("1:x"), sessions, settings) == 0  # Telegram is never asked
    async with sessions() as s:
        row = (await s.scalars(select(Outbox))).one()
    # Nobody will ever deliver it (tests/test_wecom_app_pushes.py: when somebody will).
    assert (row.status, row.last_error) == (OutboxStatus.FAILED, "no WeCom application configured")
