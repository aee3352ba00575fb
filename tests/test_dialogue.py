"""Which draft a message answers (storage/dialogue.py): the rule both fronts follow."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage import dialogue
from storage.closed_loop import cancel_action
from storage.conversation import Input, InputKind
from storage.db import Sessions
from storage.errors import DomainError
from storage.models import Draft, DraftFlow
from storage.people import who_is
from storage.permissions import Action
from storage.report import Step
from tests.factories import tg
from tests.world import INSPECTOR, RULES, Person, Walker, photo, report, world


async def awaited(sessions: Sessions) -> dialogue.Awaited:
    async with sessions() as s:
        return dialogue.Awaited.of(await who_is(s, tg(INSPECTOR)))


async def say(sessions: Sessions, text: str, update_id: int) -> dialogue.Answer:
    async with sessions() as s:
        return await dialogue.answer_message(
            s,
            account=tg(INSPECTOR),
            awaited=await awaited(sessions),
            update_id=update_id,
            given=Input(InputKind.TEXT, text=text),
            report_rules=RULES,
        )


def test_what_the_drafts_wait_for() -> None:
    nothing = dialogue.Awaited()
    # With nothing open a picture begins a report (photo first): the front downloads it.
    assert nothing.flow is None and nothing.wants_photo and not nothing.wants_location
    # An open report takes a picture at any step: it joins the report or is held until its
    # reporter says whether it begins another.
    assert dialogue.Awaited(report_step="task").wants_photo
    assert dialogue.Awaited(report_step="location").wants_photo
    # A pending action takes one only at its photos step.
    assert not dialogue.Awaited(report_step="location", action_step="reason").wants_photo
    at_location = dialogue.Awaited(report_step="location")
    assert at_location.flow == DraftFlow.REPORT and at_location.wants_location
    # A pending action comes before the report, whatever step the report is at.
    both = dialogue.Awaited(report_step="location", action_step="photos")
    assert both.flow == DraftFlow.ACTION and both.wants_photo and not both.wants_location


async def test_a_message_goes_to_the_pending_action_before_the_report(
    sessions: Sessions,
) -> None:
    await world(sessions)
    danger_id = await report(sessions)
    # With nothing open, a message answers nothing.
    assert await say(sessions, "你好", 50_001) == dialogue.Answer()
    # A report at its site step …
    walker = Walker(sessions)
    walker.update_id = 60_000
    begun = await walker.begin()
    assert begun.tasks is not None
    await walker.press(f"task:{begun.tasks.items[0].id}")
    assert (await awaited(sessions)).step == "site"
    answer = await say(sessions, "第二工厂", 50_002)
    assert answer.loop is None and answer.report is not None
    assert answer.report.draft is not None and answer.report.draft.site == "第二工厂"
    # … then a rectification started from a card: the next words are its, not the report's.
    inspector = Person(sessions, INSPECTOR, 70_000)
    await inspector.act(danger_id, Action.RECTIFY)
    assert (await awaited(sessions)).flow == DraftFlow.ACTION
    async with sessions() as s:
        shown = await dialogue.where_they_stand(s, account=tg(INSPECTOR))
    assert shown.loop is not None and shown.loop.draft is not None
    assert shown.loop.draft.step == "photos"
    async with sessions() as s:
        answer = await dialogue.answer_message(
            s,
            account=tg(INSPECTOR),
            awaited=await awaited(sessions),
            update_id=50_003,
            given=Input(InputKind.PHOTO, photo=photo(9)),
            report_rules=RULES,
        )
    assert answer.report is None and answer.loop is not None and not answer.notices
    # Cancelled (/cancel), the report is where it stood.
    async with sessions() as s:
        assert await cancel_action(s, account=tg(INSPECTOR), update_id=50_004) is not None
    async with sessions() as s:
        shown = await dialogue.where_they_stand(s, account=tg(INSPECTOR))
    assert shown.loop is None and shown.report is not None
    assert shown.report.draft is not None and shown.report.draft.step == "field"


async def send_photo(
    sessions: Sessions, given: Input, update_id: int, who: int = INSPECTOR
) -> dialogue.Answer:
    async with sessions() as s:
        waiting = dialogue.Awaited.of(await who_is(s, tg(who)))
    async with sessions() as s:
        return await dialogue.answer_message(
            s,
            account=tg(who),
            awaited=waiting,
            update_id=update_id,
            given=given,
            report_rules=RULES,
        )


async def test_a_photo_with_nothing_open_begins_a_report(sessions: Sessions) -> None:
    await world(sessions)
    caption = "储罐区防火堤破损"
    first = await send_photo(sessions, Input(InputKind.PHOTO, photo=photo(1), text=caption), 70_001)
    assert first.report is not None and first.report.draft is not None
    draft = first.report.draft
    assert [p.sha256 for p in draft.photos] == [photo(1).sha256]
    assert draft.description == caption and draft.quick and draft.album_open
    # Asked first: the place (the photo carries none).
    assert draft.step == Step.LOCATION
    assert (await awaited(sessions)).wants_photo
    # The next photo (the rest of the album) joins the draft; the step stays.
    second = await send_photo(sessions, Input(InputKind.PHOTO, photo=photo(2)), 70_002)
    assert second.report is not None and second.report.draft is not None
    assert len(second.report.draft.photos) == 2 and second.report.draft.step == Step.LOCATION
    # The same photo again is refused by the photos step's own check.
    again = await send_photo(sessions, Input(InputKind.PHOTO, photo=photo(2)), 70_003)
    assert again.notices and again.notices[0].key == "You already sent this photo."
    # Place, site, task: then the summary card (field, level, deadline taken as implied).
    walker = Walker(sessions)
    walker.update_id = 71_000
    await walker.send(Input(InputKind.LOCATION, latitude=38.92, longitude=121.63))
    site = await walker.text("大连某化工有限公司")
    assert site.draft is not None and site.draft.step == Step.TASK and site.tasks is not None
    card = await walker.press(f"task:{site.tasks.items[0].id}")
    assert card.draft is not None and card.draft.step == Step.CONFIRM
    # Answered on: a photo now is held, and asks where it goes.
    held = await send_photo(sessions, Input(InputKind.PHOTO, photo=photo(3)), 70_004)
    assert held.report is not None and held.report.draft is not None
    assert held.report.draft.held == 1 and len(held.report.draft.photos) == 2


async def test_a_photo_without_caption_takes_its_description_on_the_card(
    sessions: Sessions,
) -> None:
    await world(sessions)
    first = await send_photo(sessions, Input(InputKind.PHOTO, photo=photo(1)), 72_001)
    assert first.report is not None and first.report.draft is not None
    assert first.report.draft.description is None
    walker = Walker(sessions)
    walker.update_id = 73_000
    await walker.press("skip")
    site = await walker.text("大连某化工有限公司")
    assert site.tasks is not None
    card = await walker.press(f"task:{site.tasks.items[0].id}")
    assert card.draft is not None and card.draft.step == Step.CONFIRM
    described = await walker.text("储罐区防火堤破损，未设置报警装置")
    assert described.draft is not None and described.draft.step == Step.CONFIRM
    assert described.draft.description == "储罐区防火堤破损，未设置报警装置"
    # With a description, words typed at the card change nothing.
    again = await walker.text("另一段描述")
    assert again.notices and again.draft is not None
    assert again.draft.description == "储罐区防火堤破损，未设置报警装置"


async def test_a_stranger_s_photo_begins_nothing(sessions: Sessions) -> None:
    await world(sessions)
    with pytest.raises(DomainError) as refused:
        await send_photo(sessions, Input(InputKind.PHOTO, photo=photo(1)), 74_001, who=999_999)
    assert refused.value.key == "Only registered inspectors of a unit can report hidden dangers."
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Draft)) == 0
