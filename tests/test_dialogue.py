"""Which draft a message answers (storage/dialogue.py): the rule both fronts follow."""

from __future__ import annotations

from storage import dialogue
from storage.closed_loop import cancel_action
from storage.conversation import Input, InputKind
from storage.db import Sessions
from storage.models import DraftFlow
from storage.people import who_is
from storage.permissions import Action
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
    assert nothing.flow is None and not nothing.wants_photo and not nothing.wants_location
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
