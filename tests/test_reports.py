"""The report conversation as domain operations, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from storage import handover
from storage.conversation import Input, InputKind, claim_update
from storage.db import Sessions
from storage.errors import NotFound
from storage.groups import bind_group, subscribe
from storage.models import Draft, Event, HiddenDanger, Outbox, Photo, Task
from storage.report import (
    Step,
    answer_report,
    begin_report,
    discard_report,
    parse_deadline,
    resume_report,
)
from tests.factories import tg
from tests.world import (
    INSPECTOR,
    RULES,
    SUPERVISOR,
    Person,
    Walker,
    after_photo,
    fill_to_confirm,
    photo,
    rectify,
    report,
    setup,
    world,
)

NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)  # 10:00 in Dalian


async def test_full_report_gets_a_number_and_a_card_for_subscribed_groups(
    sessions: Sessions,
) -> None:
    await setup(sessions)
    async with sessions() as s:
        await bind_group(
            s,
            chat_id=-100,
            title="甘井子群",
            unit="甘井子区",
            account=tg(SUPERVISOR),
            is_chat_admin=True,
        )
        await subscribe(
            s,
            chat_id=-100,
            title="甘井子群",
            kind="reports",
            at_time=None,
            account=tg(SUPERVISOR),
            is_chat_admin=True,
        )
    w = Walker(sessions)
    reply = await fill_to_confirm(w)
    draft = reply.draft
    assert draft is not None and draft.step == Step.CONFIRM
    assert draft.latitude == pytest.approx(38.95) and draft.location_source == "photo"
    assert draft.level == "major" and draft.deadline == date(2026, 12, 6)
    assert len(draft.photos) == 2 and draft.field is not None
    submitted = await w.press("submit")
    assert submitted.submitted is not None
    assert submitted.submitted.number == "DL-2026-000001"
    async with sessions() as s:
        danger = (await s.scalars(select(HiddenDanger))).one()
        assert danger.status == "reported" and danger.site == "大连某化工有限公司"
        assert (
            await s.scalar(
                select(func.count()).select_from(Photo).where(Photo.danger_id == danger.id)
            )
            == 2
        )
        outbox = list(await s.scalars(select(Outbox)))
        assert [o.target for o in outbox] == ["-100"]
        assert outbox[0].key == "tg:-100:report:DL-2026-000001"
        events = list(await s.scalars(select(Event).where(Event.danger_id == danger.id)))
        assert [e.action for e in events] == ["danger.reported"]
    second = await w.press("submit")  # pressed twice
    assert second.submitted is None
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(HiddenDanger)) == 1


async def test_submit_button_of_a_submitted_draft_names_its_number(sessions: Sessions) -> None:
    await setup(sessions)
    w = Walker(sessions)
    reply = await fill_to_confirm(w)
    assert reply.draft is not None
    draft_id = reply.draft.id
    await w.send(Input(InputKind.BUTTON, button="submit"), draft_id=draft_id)
    again = await w.send(Input(InputKind.BUTTON, button="submit"), draft_id=draft_id)
    assert again.notices[0].key == "Already submitted as {number}."
    assert again.notices[0].params == {"number": "DL-2026-000001"}


async def test_a_redelivered_update_changes_nothing(sessions: Sessions) -> None:
    await setup(sessions)
    w = Walker(sessions)
    reply = await w.begin()
    assert reply.tasks is not None
    await w.press(f"task:{reply.tasks.items[0].id}")
    first = await w.send(Input(InputKind.TEXT, text="甲工厂"), update_id=77)
    assert first.draft is not None and first.draft.step == Step.FIELD
    again = await w.send(Input(InputKind.TEXT, text="甲工厂"), update_id=77)
    assert again.duplicate_update
    assert again.draft is not None and again.draft.step == Step.FIELD
    assert again.draft.site == "甲工厂"


async def test_wrong_kind_of_input_gives_a_hint_and_stays(sessions: Sessions) -> None:
    await setup(sessions)
    w = Walker(sessions)
    await w.begin()
    sticker = await w.send(Input(InputKind.OTHER, what="sticker"))
    assert sticker.draft is not None and sticker.draft.step == Step.TASK
    assert sticker.notices[0].key == "Please choose with the buttons below."
    reply = await w.text("燃气")  # typing searches
    assert reply.tasks is not None and [t.code for t in reply.tasks.items] == ["MU-02"]
    await w.press(f"task:{reply.tasks.items[0].id}")
    # A photo at the site step is held, and the prompt asks where it goes; the step stays.
    held = await w.send(Input(InputKind.PHOTO, photo=photo(3)))
    assert held.draft is not None and held.draft.held == 1 and held.draft.step == Step.SITE
    long = await w.text("x" * 500)
    assert long.draft is not None and long.draft.step == Step.SITE and long.notices
    await w.text("某燃气站")
    field = await w.text("construction")
    assert field.draft is not None and field.draft.step == Step.FIELD
    assert field.draft.field is not None and field.draft.field.code == "town_gas"  # preselected
    await w.press("field:town_gas")
    assert (await w.text("短")).notices  # too short a description
    await w.text("燃气管道腐蚀严重")
    assert (await w.text("here is a photo")).notices
    done_early = await w.press("done")
    assert done_early.notices and done_early.draft is not None
    assert done_early.draft.step == Step.PHOTOS
    await w.send(Input(InputKind.PHOTO, photo=photo(4)))
    dup = await w.send(Input(InputKind.PHOTO, photo=photo(4)))
    assert dup.notices[0].key == "You already sent this photo."
    await w.press("done")
    no_gps = await w.press("photo")
    assert no_gps.notices and no_gps.draft is not None and no_gps.draft.step == Step.LOCATION
    far = await w.send(Input(InputKind.LOCATION, latitude=31.23, longitude=121.47))
    assert far.draft is not None and far.draft.location_far and far.notices
    assert (await w.text("major")).notices
    await w.press("level:general")
    past = await w.text("2026-11-01")
    assert past.notices and past.draft is not None and past.draft.step == Step.DEADLINE
    assert (await w.text("明天吧")).notices
    late = await w.text("2027-01-05")
    assert late.draft is not None and late.draft.step == Step.CONFIRM
    assert "after the campaign closes" in late.notices[0].key


async def test_photos_limit_and_edit_returns_to_confirm(sessions: Sessions) -> None:
    await setup(sessions)
    w = Walker(sessions)
    reply = await fill_to_confirm(w)
    assert reply.draft is not None
    edit = await w.press("edit:photos")
    assert edit.draft is not None and edit.draft.step == Step.PHOTOS and edit.draft.editing
    for n in range(10, 18):
        await w.send(Input(InputKind.PHOTO, photo=photo(n)))
    full = await w.send(Input(InputKind.PHOTO, photo=photo(99)))
    assert full.notices and "10 photos" in full.notices[0].key.replace("{max}", "10")
    back = await w.press("done")
    assert back.draft is not None and back.draft.step == Step.CONFIRM
    assert len(back.draft.photos) == 10
    site = await w.press("edit:site")
    assert site.draft is not None and site.draft.step == Step.SITE
    after = await w.text("乙公司")
    assert after.draft is not None and after.draft.step == Step.CONFIRM
    assert after.draft.site == "乙公司" and not after.draft.editing


async def test_possible_duplicate_is_named_at_confirm(sessions: Sessions) -> None:
    await setup(sessions)
    w = Walker(sessions)
    await fill_to_confirm(w)
    await w.press("submit")
    second = await fill_to_confirm(w)
    assert second.possible_duplicates == ["DL-2026-000001"]
    await w.press("submit")
    async with sessions() as s:
        numbers = sorted(await s.scalars(select(HiddenDanger.number)))
    assert numbers == ["DL-2026-000001", "DL-2026-000002"]


async def test_begin_with_a_draft_open_offers_resume_and_discard_says_what(
    sessions: Sessions,
) -> None:
    await setup(sessions)
    w = Walker(sessions)
    reply = await w.begin()
    assert reply.tasks is not None
    await w.press(f"task:{reply.tasks.items[0].id}")
    await w.text("丙仓库")
    again = await w.begin()
    assert again.resume_offer and again.draft is not None and again.draft.step == Step.FIELD
    async with sessions() as s:
        resumed = await resume_report(s, account=tg(INSPECTOR), update_id=w.next_id())
    assert resumed.draft is not None and resumed.draft.site == "丙仓库"
    async with sessions() as s:
        gone = await discard_report(s, account=tg(INSPECTOR), update_id=w.next_id())
    assert gone.discarded and gone.draft is not None and gone.draft.site == "丙仓库"
    async with sessions() as s:
        assert (
            await s.scalar(select(func.count()).select_from(Draft).where(Draft.status == "open"))
            == 0
        )


async def test_task_list_is_scoped_paged_and_sorted(sessions: Sessions) -> None:
    await setup(sessions)
    w = Walker(sessions)
    reply = await w.begin()
    assert reply.tasks is not None
    assert reply.tasks.total == 12  # 甘井子区 owns 12; 长海县's task is not offered
    assert reply.tasks.pages == 2
    dues = [t.due_date for t in reply.tasks.items]
    assert dues == sorted(dues, reverse=True) and dues[0] == date(2027, 1, 10)
    nxt = await w.press("page:1")
    assert nxt.tasks is not None and nxt.tasks.page == 1 and len(nxt.tasks.items) == 6
    async with sessions() as s:
        mu03 = await s.scalar(select(Task.id).where(Task.code == "MU-03"))
    foreign = await w.press(f"task:{mu03}")  # MU-03 belongs to 长海县
    assert foreign.notices and foreign.draft is not None and foreign.draft.step == Step.TASK


async def test_strangers_cannot_report(sessions: Sessions) -> None:
    await setup(sessions)
    async with sessions() as s:
        with pytest.raises(NotFound):
            await begin_report(s, account=tg(999), update_id=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-05", date(2026, 12, 5)),
        ("2026/12/5", date(2026, 12, 5)),
        ("12-05", date(2026, 12, 5)),
        ("12/5", date(2026, 12, 5)),
        ("12月5日", date(2026, 12, 5)),
        ("2027年1月3日", date(2027, 1, 3)),
        ("1-3", date(2027, 1, 3)),  # early January typed in late November: next year
        ("11-29", date(2026, 11, 29)),
        ("13-01", None),
        ("2026-02-30", None),
        ("soon", None),
    ],
)
def test_parse_deadline(text: str, expected: date | None) -> None:
    assert parse_deadline(text, today=date(2026, 11, 29)) == expected


async def test_a_claimed_update_rolled_back_is_not_kept(sessions: Sessions) -> None:
    """The claim lives in the use case's transaction: a crash before commit frees it again."""
    async with sessions() as s:
        assert await claim_update(s, 424242)
        await s.rollback()
    async with sessions() as s:
        assert await claim_update(s, 424242)
        await s.commit()
    async with sessions() as s:
        assert not await claim_update(s, 424242)


async def test_submit_days_later_asks_for_a_new_deadline(sessions: Sessions) -> None:
    await setup(sessions)
    w = Walker(sessions)
    await fill_to_confirm(w)  # deadline 2026-12-06
    async with sessions() as s:
        late = await answer_report(
            s,
            account=tg(INSPECTOR),
            update_id=w.next_id(),
            given=Input(InputKind.BUTTON, button="submit"),
            rules=RULES,
            now=datetime(2026, 12, 10, 2, 0, tzinfo=UTC),
        )
    assert late.submitted is None
    assert late.notices[0].key == "The deadline {date} has passed meanwhile; choose a new one."
    assert late.draft is not None and late.draft.step == Step.DEADLINE and late.draft.editing
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(HiddenDanger)) == 0


async def test_a_deactivated_person_can_report_no_more(sessions: Sessions) -> None:
    await setup(sessions)
    async with sessions() as s:
        gone = await handover.deactivate_user(s, account=tg(INSPECTOR), actor="t")
    assert not gone.user.active
    async with sessions() as s:
        with pytest.raises(NotFound):
            await begin_report(s, account=tg(INSPECTOR), update_id=1)


async def test_a_report_begun_after_a_rectification_names_the_last_report(
    sessions: Sessions,
) -> None:
    """ "Your last report went in as …" names a report, never the hidden danger just rectified
    (a rectification's draft names its hidden danger too)."""
    await world(sessions)
    first = await report(sessions, photo_base=1)
    second = await report(sessions, photo_base=2)
    done = await rectify(Person(sessions, INSPECTOR, 95_000), first, [after_photo(3)])
    assert done.notices or done.detail is not None
    async with sessions() as s:
        numbers = dict((await s.execute(select(HiddenDanger.id, HiddenDanger.number))).all())
        begun = await begin_report(s, account=tg(INSPECTOR), update_id=96_000)
    assert begun.last_submitted == numbers[second]


async def test_a_replayed_report_command_still_says_the_last_report_went_in(
    sessions: Sessions,
) -> None:
    """Submit's answer lost to a crash, the person sends /report; that update comes again
    after another crash: its replay must still say the last report went in, or they log it
    twice. So must the offer to resume the draft it began."""
    await setup(sessions)
    w = Walker(sessions)
    await fill_to_confirm(w)
    done = await w.press("submit")
    assert done.submitted is not None
    async with sessions() as s:
        first = await begin_report(s, account=tg(INSPECTOR), update_id=97_001)
    async with sessions() as s:
        replayed = await begin_report(s, account=tg(INSPECTOR), update_id=97_001)
    async with sessions() as s:
        again = await begin_report(s, account=tg(INSPECTOR), update_id=97_002)
    assert first.last_submitted == done.submitted.number
    assert replayed.duplicate_update and replayed.last_submitted == done.submitted.number
    assert again.resume_offer and again.last_submitted == done.submitted.number
