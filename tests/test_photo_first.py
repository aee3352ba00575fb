"""Photo first, in the domain: a report begun by its photos asks only what it cannot infer,
offers what is likely, takes defaults the summary card shows, and holds photos sent while a
report is open until their sender says where they go. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from storage import campaigns
from storage.conversation import Input, InputKind, NewPhoto
from storage.db import Sessions
from storage.models import DangerLevel
from storage.report import ReportReply, Step, answer_report, begin_report_with_photo
from tests.factories import tg
from tests.timeline import NOW, TZ, today
from tests.world import INSPECTOR, RULES, Walker, photo, setup

SITE = "大连某化工有限公司"
HERE = (38.9210, 121.6300)
# About 150 m north-east of HERE.
NEAR = (38.9221, 121.6312)


async def start(
    sessions: Sessions, picture: NewPhoto, caption: str = "", *, update_id: int = 90_000
) -> ReportReply:
    async with sessions() as s:
        return await begin_report_with_photo(
            s,
            account=tg(INSPECTOR),
            update_id=update_id,
            given=Input(InputKind.PHOTO, photo=picture, text=caption),
            rules=RULES,
            now=NOW,
        )


def walker(sessions: Sessions, first_update: int) -> Walker:
    w = Walker(sessions)
    w.update_id = first_update
    return w


async def quick_report(
    sessions: Sessions, n: int, *, site: str, task_code: str, where: tuple[float, float]
) -> None:
    """One whole report begun by its photo: the place, the site typed, the task searched."""
    await start(sessions, photo(n), "储罐区防火堤破损，未设置报警装置", update_id=90_000 + n * 100)
    w = walker(sessions, 91_000 + n * 100)
    await w.send(Input(InputKind.LOCATION, latitude=where[0], longitude=where[1]))
    await w.text(site)
    found = await w.text(task_code)
    assert found.tasks is not None
    task = next(t for t in found.tasks.items if t.code == task_code)
    card = await w.press(f"task:{task.id}")
    assert card.draft is not None and card.draft.step == Step.CONFIRM
    done = await w.press("submit")
    assert done.submitted is not None


async def test_a_photo_with_a_caption_asks_place_site_task_then_shows_the_card(
    sessions: Sessions,
) -> None:
    await setup(sessions)
    begun = await start(sessions, photo(1), "储罐区防火堤破损，未设置报警装置")
    draft = begun.draft
    assert draft is not None and draft.quick and draft.step == Step.LOCATION
    # The defaults the card shows: a general hidden danger, the campaign's 7 days.
    assert draft.level == DangerLevel.GENERAL and draft.deadline_auto
    assert draft.deadline == today() + timedelta(days=7)
    w = walker(sessions, 92_000)
    site = await w.send(Input(InputKind.LOCATION, latitude=HERE[0], longitude=HERE[1]))
    assert site.draft is not None and site.draft.step == Step.SITE
    task = await w.text(SITE)
    assert task.draft is not None and task.draft.step == Step.TASK and task.tasks is not None
    gas = next(t for t in task.tasks.items if t.code == "MU-02")
    card = await w.press(f"task:{gas.id}")
    # The field follows the task, unasked.
    assert card.draft is not None and card.draft.step == Step.CONFIRM
    assert card.draft.field is not None and card.draft.field.code == "town_gas"
    # One tap makes it major, and the default deadline follows the level.
    major = await w.press("flip")
    assert major.draft is not None and major.draft.level == DangerLevel.MAJOR
    assert major.draft.deadline == today() + timedelta(days=30)
    # A deadline picked by hand stays when the level changes back.
    await w.press("edit:deadline")
    await w.press("days:15")
    general = await w.press("flip")
    assert general.draft is not None and general.draft.level == DangerLevel.GENERAL
    assert general.draft.deadline == today() + timedelta(days=15)
    # A task changed on the card brings its field along.
    await w.press("edit:task")
    found = await w.text("MU-01")
    assert found.tasks is not None
    chem = next(t for t in found.tasks.items if t.code == "MU-01")
    again = await w.press(f"task:{chem.id}")
    assert again.draft is not None and again.draft.step == Step.CONFIRM
    assert again.draft.field is not None and again.draft.field.code == "hazardous_chemicals"
    done = await w.press("submit")
    assert done.submitted is not None


async def test_the_campaign_s_default_deadlines_are_used(sessions: Sessions) -> None:
    await setup(sessions)
    async with sessions() as s:
        info = await campaigns.require_campaign(s)
        await campaigns.set_campaign(
            s,
            name=info.name,
            closing_date=info.closing_date,
            timezone=info.timezone,
            deadline_days=(3, 20),
            actor="t",
        )
    begun = await start(sessions, photo(1), "储罐区防火堤破损")
    assert begun.draft is not None and begun.draft.deadline == today() + timedelta(days=3)
    w = walker(sessions, 93_000)
    await w.press("skip")
    await w.text(SITE)
    found = await w.text("MU-01")
    assert found.tasks is not None
    await w.press(f"task:{found.tasks.items[0].id}")
    major = await w.press("flip")
    assert major.draft is not None and major.draft.deadline == today() + timedelta(days=20)


async def test_a_photo_s_gps_is_the_place_and_the_site_is_asked_first(sessions: Sessions) -> None:
    await setup(sessions)
    begun = await start(sessions, photo(1, gps=HERE), "储罐区防火堤破损")
    draft = begun.draft
    assert draft is not None and draft.step == Step.SITE
    assert (draft.latitude, draft.longitude) == HERE and draft.location_source == "photo"


async def test_after_three_reports_at_a_site_the_fourth_offers_that_site_and_task_first(
    sessions: Sessions,
) -> None:
    await setup(sessions)
    # A report elsewhere, under another task, so the guesses have something to rank.
    await quick_report(sessions, 1, site="棠梨村加油站", task_code="GJZ-05", where=(38.99, 121.40))
    for n in (2, 3, 4):
        await quick_report(sessions, n, site=SITE, task_code="GJZ-09", where=HERE)
    # The fourth, from a few steps away: the site nearest first, then its task first.
    begun = await start(sessions, photo(5), "储罐区阀门泄漏", update_id=95_000)
    assert begun.draft is not None and begun.draft.step == Step.LOCATION
    w = walker(sessions, 96_000)
    sites = await w.send(Input(InputKind.LOCATION, latitude=NEAR[0], longitude=NEAR[1]))
    assert [s.site for s in sites.sites] == [SITE, "棠梨村加油站"]
    assert sites.sites[0].metres is not None and sites.sites[0].metres < 300
    tasks = await w.press(f"site:{sites.sites[0].danger_id}")
    assert tasks.draft is not None and tasks.draft.site == SITE
    assert tasks.likely_tasks and tasks.likely_tasks[0].code == "GJZ-09"
    card = await w.press(f"task:{tasks.likely_tasks[0].id}")
    assert card.draft is not None and card.draft.step == Step.CONFIRM
    # Within the hour, the next report may take the last one's place with one tap.
    done = await w.press("submit")
    assert done.submitted is not None
    begun = await start(sessions, photo(6), "消防通道堵塞", update_id=97_000)
    assert begun.last_place is not None and begun.last_place.latitude == NEAR[0]
    same = await walker(sessions, 98_000).press("last")
    assert same.draft is not None and (same.draft.latitude, same.draft.longitude) == NEAR


async def test_a_site_button_names_only_the_inspector_s_own_reports(sessions: Sessions) -> None:
    await setup(sessions)
    await quick_report(sessions, 1, site=SITE, task_code="GJZ-09", where=HERE)
    await start(sessions, photo(2), "储罐区阀门泄漏", update_id=95_000)
    w = walker(sessions, 96_000)
    await w.press("skip")
    forged = await w.press("site:999999")
    assert forged.notices and forged.draft is not None and forged.draft.step == Step.SITE


async def test_the_last_place_is_not_offered_after_an_hour(sessions: Sessions) -> None:
    await setup(sessions)
    await quick_report(sessions, 1, site=SITE, task_code="GJZ-09", where=HERE)
    async with sessions() as s:
        reply = await begin_report_with_photo(
            s,
            account=tg(INSPECTOR),
            update_id=99_000,
            given=Input(InputKind.PHOTO, photo=photo(2), text="消防通道堵塞"),
            rules=RULES,
            now=NOW + timedelta(minutes=61),
        )
    assert reply.last_place is None


async def test_photos_sent_while_a_report_is_open_are_held_then_added(sessions: Sessions) -> None:
    await setup(sessions)
    await start(sessions, photo(1), "储罐区防火堤破损")
    w = walker(sessions, 92_000)
    await w.press("skip")  # answered on: the album that began it is over
    held = await w.send(Input(InputKind.PHOTO, photo=photo(2), text="二号罐"))
    assert held.draft is not None and held.draft.held == 1 and held.draft.step == Step.SITE
    held = await w.send(Input(InputKind.PHOTO, photo=photo(3)))
    assert held.draft is not None and held.draft.held == 2 and len(held.draft.photos) == 1
    added = await w.press("held:add")
    assert added.draft is not None and added.draft.held == 0 and len(added.draft.photos) == 3
    assert added.draft.step == Step.SITE
    assert added.notices[0].params == {"added": 2, "total": 3}
    # The report had its description: the held caption did not replace it.
    assert added.draft.description == "储罐区防火堤破损"


async def test_photos_held_can_begin_a_new_report_instead(sessions: Sessions) -> None:
    await setup(sessions)
    await start(sessions, photo(1), "储罐区防火堤破损")
    w = walker(sessions, 92_000)
    await w.press("skip")
    old = await w.text(SITE)
    assert old.draft is not None
    await w.send(Input(InputKind.PHOTO, photo=photo(2, gps=NEAR), text="配电箱门损坏"))
    fresh = await w.press("held:new")
    assert fresh.draft is not None and fresh.draft.id != old.draft.id
    assert fresh.draft.description == "配电箱门损坏" and len(fresh.draft.photos) == 1
    # Its photo knows the place: the site is asked first.
    assert fresh.draft.step == Step.SITE and fresh.draft.held == 0
    # The old draft's buttons say it is gone.
    stale = await w.send(Input(InputKind.BUTTON, button="skip"), draft_id=old.draft.id)
    assert stale.notices and stale.notices[0].key == (
        "That button belongs to a report that is no longer open."
    )


async def test_only_the_album_that_began_it_joins_without_asking(sessions: Sessions) -> None:
    await setup(sessions)
    album = Input(InputKind.PHOTO, photo=photo(1), text="储罐区防火堤破损", album="A1")
    async with sessions() as s:
        await begin_report_with_photo(
            s, account=tg(INSPECTOR), update_id=90_001, given=album, rules=RULES, now=NOW
        )
    w = walker(sessions, 92_000)
    rest = await w.send(Input(InputKind.PHOTO, photo=photo(2), album="A1"))
    assert rest.draft is not None and len(rest.draft.photos) == 2 and rest.draft.held == 0
    # Another album, before anything was answered: another hidden danger, perhaps — asked.
    other = await w.send(Input(InputKind.PHOTO, photo=photo(3), text="配电箱门损坏", album="B2"))
    assert other.draft is not None and other.draft.held == 1 and len(other.draft.photos) == 2
    # So is a single photo after an album.
    single = await w.send(Input(InputKind.PHOTO, photo=photo(4)))
    assert single.draft is not None and single.draft.held == 2
    # Submit waits until they are placed; a second tap on the question moves nothing.
    fresh = await w.press("held:new")
    assert fresh.draft is not None and len(fresh.draft.photos) == 2
    assert fresh.draft.description == "配电箱门损坏"
    again = await w.press("held:add")
    assert again.notices[0].key == "That question was answered already."
    assert again.draft is not None and len(again.draft.photos) == 2


async def test_photos_outside_any_album_join_one_another_until_an_answer(
    sessions: Sessions,
) -> None:
    """WeCom sends images one by one, with no album: they join the report they began."""
    await setup(sessions)
    await start(sessions, photo(1), "储罐区防火堤破损")
    w = walker(sessions, 92_000)
    second = await w.send(Input(InputKind.PHOTO, photo=photo(2)))
    assert second.draft is not None and len(second.draft.photos) == 2
    # A Telegram album now is a new batch.
    album = await w.send(Input(InputKind.PHOTO, photo=photo(3), album="C3"))
    assert album.draft is not None and album.draft.held == 1


async def test_submit_waits_while_photos_are_held(sessions: Sessions) -> None:
    await setup(sessions)
    await start(sessions, photo(1), "储罐区防火堤破损")
    w = walker(sessions, 92_000)
    await w.press("skip")
    await w.text(SITE)
    found = await w.text("MU-01")
    assert found.tasks is not None
    await w.press(f"task:{found.tasks.items[0].id}")
    await w.send(Input(InputKind.PHOTO, photo=photo(2)))
    refused = await w.press("submit")
    assert refused.submitted is None and refused.draft is not None and refused.draft.held == 1
    assert refused.notices[0].key == "First say where the photos you sent go."
    await w.press("held:add")
    done = await w.press("submit")
    assert done.submitted is not None


async def test_a_default_deadline_counts_from_the_day_it_is_answered(sessions: Sessions) -> None:
    await setup(sessions)
    await start(sessions, photo(1), "储罐区防火堤破损")
    later = NOW + timedelta(days=9)
    async with sessions() as s:
        reply = await answer_report(
            s,
            account=tg(INSPECTOR),
            update_id=93_001,
            given=Input(InputKind.BUTTON, button="skip"),
            rules=RULES,
            now=later,
        )
    assert reply.draft is not None
    assert reply.draft.deadline == later.astimezone(TZ).date() + timedelta(days=7)
