"""Rectification in few taps, as domain operations: Rectify starts it, the album's caption is
the note, Submit from the summary; a major danger's five items suggested from the report."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from storage.closed_loop import FIVE_ITEMS, answer_action
from storage.conversation import Input, InputKind
from storage.db import Sessions
from storage.models import Draft, Event, HiddenDanger, Photo, Rectification, User
from storage.permissions import Action
from tests.world import INSPECTOR, NOW, SUPERVISOR, Person, after_photo, report, world


async def events_of(sessions: Sessions, danger_id: int) -> list[str]:
    async with sessions() as s:
        return list(
            await s.scalars(
                select(Event.action).where(Event.danger_id == danger_id).order_by(Event.id)
            )
        )


def with_caption(n: int, caption: str = "") -> Input:
    return Input(InputKind.PHOTO, photo=after_photo(n), text=caption)


async def test_rectify_album_with_caption_submit(sessions: Sessions) -> None:
    await world(sessions)
    danger_id = await report(sessions)
    wang = Person(sessions, INSPECTOR, 20_000)
    begun = await wang.act(danger_id, Action.RECTIFY)
    # Pressing Rectify on a danger still reported starts its rectification.
    assert begun.draft is not None and begun.draft.step == "photos"
    assert await events_of(sessions, danger_id) == ["danger.reported", "danger.rectifying"]
    # An album: three updates, the caption on the first only.
    await wang.answer(with_caption(1, "已更换防护网并复查"))
    await wang.answer(with_caption(2))
    summary = await wang.answer(with_caption(3))
    assert summary.draft is not None and summary.draft.step == "photos"
    assert summary.draft.photos == 3 and summary.draft.data["note"] == "已更换防护网并复查"
    done = await wang.press("submit")
    assert done.detail is not None and done.detail.card.status == "submitted"
    assert await events_of(sessions, danger_id) == [
        "danger.reported",
        "danger.rectifying",
        "danger.rectification_submitted",
    ]
    async with sessions() as s:
        round_ = (await s.scalars(select(Rectification))).one()
        assert round_.note == "已更换防护网并复查"
        attached = await s.scalar(
            select(func.count())
            .select_from(Photo)
            .where(Photo.rectification_id == round_.id, Photo.danger_id == danger_id)
        )
    assert attached == 3
    # Whoever rectified does not verify: the supervisor does.
    assert Action.APPROVE not in await wang.actions(danger_id)
    li = Person(sessions, SUPERVISOR, 30_000)
    closed = await li.act(danger_id, Action.APPROVE)
    assert closed.detail is not None and closed.detail.card.status == "closed"


async def test_without_a_caption_the_note_is_asked(sessions: Sessions) -> None:
    await world(sessions)
    danger_id = await report(sessions)
    wang = Person(sessions, INSPECTOR, 20_000)
    await wang.act(danger_id, Action.RECTIFY)
    refused = await wang.press("submit")
    assert [n.key for n in refused.notices] == [
        "Send at least one photo of the rectified site first."
    ]
    await wang.answer(with_caption(1))
    no_note = await wang.press("submit")
    assert [n.key for n in no_note.notices] == ["Write in a few words what was done first."]
    # The note typed at the photos step (WeCom: an image, then a text) gives the summary.
    noted = await wang.text("防护网已安装")
    assert noted.draft is not None and noted.draft.step == "photos"
    assert noted.draft.data["note"] == "防护网已安装"
    done = await wang.press("submit")
    assert done.detail is not None and done.detail.card.status == "submitted"


async def test_done_then_the_note_as_before(sessions: Sessions) -> None:
    await world(sessions)
    danger_id = await report(sessions)
    wang = Person(sessions, INSPECTOR, 20_000)
    await wang.act(danger_id, Action.RECTIFY)
    await wang.answer(with_caption(1))
    asked = await wang.press("done")
    assert asked.draft is not None and asked.draft.step == "note"
    confirm = await wang.text("防护网已安装")
    assert confirm.draft is not None and confirm.draft.step == "confirm"
    done = await wang.press("submit")
    assert done.detail is not None and done.detail.card.status == "submitted"


async def test_redelivered_updates_and_a_second_tap_lose_nothing(sessions: Sessions) -> None:
    await world(sessions)
    danger_id = await report(sessions)
    wang = Person(sessions, INSPECTOR, 20_000)
    await wang.act(danger_id, Action.RECTIFY)
    update_id = wang.next()
    for _ in range(2):  # the same update, delivered again after a crash
        async with sessions() as s:
            await answer_action(
                s,
                account=wang.account,
                update_id=update_id,
                given=with_caption(1, "已整改"),
                now=NOW,
            )
    # Rectify tapped again on the card: the same draft goes on, its photo and note kept.
    again = await wang.act(danger_id, Action.RECTIFY)
    assert again.draft is not None and again.draft.photos == 1
    assert again.draft.data["note"] == "已整改"
    async with sessions() as s:
        drafts = await s.scalar(
            select(func.count()).select_from(Draft).where(Draft.flow == "action")
        )
    assert drafts == 1
    assert (await events_of(sessions, danger_id)).count("danger.rectifying") == 1


@pytest.mark.parametrize("typed_over", [False, True])
async def test_major_five_items_suggested(sessions: Sessions, typed_over: bool) -> None:
    await world(sessions)
    danger_id = await report(sessions, level="major")
    wang = Person(sessions, INSPECTOR, 20_000)
    begun = await wang.act(danger_id, Action.RECTIFY)
    assert begun.draft is not None and begun.draft.step == "responsibility"
    async with sessions() as s:
        danger = await s.get(HiddenDanger, danger_id)
        assert danger is not None
        person = (await s.scalars(select(User).where(User.id == danger.responsible_id))).one()
        deadline = danger.deadline
    suggested = begun.draft.data["suggested"]
    assert suggested == {
        "responsibility": f"{person.name}, 甘井子区",
        "time_limit": deadline.isoformat(),
    }
    answers = {
        "responsibility": "accept",
        "measures": "加装防护网",
        "funds": "企业自筹2万元",
        "time_limit": "accept",
        "plan": "封闭作业面",
    }
    if typed_over:
        answers["time_limit"] = (deadline - timedelta(days=2)).isoformat() + " 前完成"
    for item in FIVE_ITEMS:
        reply = await (wang.press if answers[item] == "accept" else wang.text)(answers[item])
        assert reply.draft is not None and not reply.notices
    assert reply.draft is not None and reply.draft.step == "photos"
    await wang.answer(with_caption(1, "防护网已全部加装"))
    done = await wang.press("submit")
    assert done.detail is not None and done.detail.latest_round is not None
    measures = done.detail.latest_round.measures
    assert measures["responsibility"] == suggested["responsibility"]
    assert measures["time_limit"] == (answers["time_limit"] if typed_over else deadline.isoformat())
    assert measures["funds"] == "企业自筹2万元"


async def test_accept_without_a_suggestion_asks_for_text(sessions: Sessions) -> None:
    await world(sessions)
    danger_id = await report(sessions, level="major")
    wang = Person(sessions, INSPECTOR, 20_000)
    await wang.act(danger_id, Action.RECTIFY)
    await wang.press("accept")  # responsibility, suggested
    refused = await wang.press("accept")  # measures: nothing to accept
    assert [n.key for n in refused.notices] == ["Please answer with text."]
    assert refused.draft is not None and refused.draft.step == "measures"
