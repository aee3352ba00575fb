"""One way to queue a push: every kind has its payload type, goes into an outbox row through
`enqueue` and comes back out through `payload_of` as it went in, under the keys rows always had."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TypeVar

import pytest
from sqlalchemy import select

from bot.i18n import Translator
from bot.views.push_view import countdown_lines
from storage.clock import utcnow
from storage.db import Sessions
from storage.models import Channel, Outbox
from storage.push_payloads import (
    PAYLOAD_TYPES,
    CountdownPush,
    DigestPush,
    EscalationPush,
    LateDanger,
    LateTask,
    NoticePush,
    OverdueList,
    OverduePush,
    Payload,
    PushKind,
    RankedUnit,
    ReminderItem,
    ReminderPush,
    ReportCardPush,
    kind_of,
    payload_json,
    payload_of,
)
from storage.pushes import enqueue, outbox_key
from tests.factories import countdown_push
from tests.timeline import today

L = TypeVar("L", bound=OverdueList)


def late(kind: type[L], **extra: int) -> L:
    return kind(
        today=today(),
        count=31,
        dangers=(
            LateDanger(
                id=7, number="DL-2026-000007", site="化工厂", unit="甘井子区", level="major", days=9
            ),
        ),
        task_count=1,
        tasks=(LateTask(code="T-12", title="危化品专项", unit="庄河市", days=2),),
        unit="大连市",
        **extra,
    )


def examples() -> list[Payload]:
    """One payload of every kind, with every field filled (and the optional ones left out)."""
    day = today()
    return [
        countdown_push(
            32,
            today=day,
            closing=day + timedelta(days=32),
            ranking=(RankedUnit(unit="庄河市", overdue=14, open=120, rate=91, tasks_percent=80),),
        ),
        late(OverduePush),
        late(DigestPush),
        late(EscalationPush, general_days=7, major_days=3),
        ReminderPush(
            items=(
                ReminderItem(
                    danger_id=7, number="DL-2026-000007", site="化工厂", deadline=day, days=0
                ),
            ),
            count=1,
            danger_id=7,
        ),
        ReminderPush(items=(), count=0),
        ReportCardPush(danger_id=7),
        NoticePush(key="{name} no longer has access to hdbot.", params={"name": "李", "count": 2}),
        NoticePush(key="✅ {number} was verified and closed by {name}.", danger_id=7),
    ]


def test_every_kind_has_one_payload_type() -> None:
    assert set(PAYLOAD_TYPES) == set(PushKind)
    assert len(set(PAYLOAD_TYPES.values())) == len(PushKind)
    assert {kind_of(p) for p in examples()} == set(PushKind)


@pytest.mark.parametrize("payload", examples(), ids=lambda p: type(p).__name__)
async def test_a_payload_goes_through_an_outbox_row_unchanged(
    sessions: Sessions, payload: Payload
) -> None:
    now = utcnow()
    async with sessions() as s:
        key = enqueue(s, payload, channel=Channel.TELEGRAM, target=-100, period="p1", now=now)
        await s.commit()
    async with sessions() as s:
        row = (await s.scalars(select(Outbox).where(Outbox.key == key))).one()
    assert row.kind == kind_of(payload)
    assert (row.target, row.period, row.not_before, row.expires_at) == ("-100", "p1", now, None)
    assert payload_of(row) == payload
    # What the row holds is plain JSON: what a sender after a restart (or an older one) reads.
    assert row.payload == json.loads(json.dumps(payload_json(payload)))


def test_rows_queued_before_the_types_read_and_write_back_the_same() -> None:
    """The JSON of a countdown and of a notice exactly as rows already in databases hold them."""
    countdown = {
        "campaign": "三年行动",
        "closing": "2026-12-31",
        "today": "2026-11-29",
        "days_left": 32,
        "unit": None,
        "figures": {
            "tasks_total": 3,
            "tasks_done": 1,
            "tasks_percent": 33,
            "tasks_overdue": 1,
            "found": 4,
            "closed": 1,
            "open": 3,
            "overdue": 1,
            "major_open": 1,
            "rate": 25,
        },
        "ranking": [{"unit": "庄河市", "overdue": 1, "open": 3, "rate": 25, "tasks_percent": 33}],
    }
    reminder = {
        "items": [
            {
                "danger_id": 5,
                "number": "DL-2026-000005",
                "site": "码头",
                "deadline": "2026-12-06",
                "days": 3,
            }
        ],
        "count": 1,
        "danger_id": 5,
    }
    notice = {"key": "{name} left.", "params": {"name": "王"}}
    for kind, stored in (("countdown", countdown), ("reminder", reminder), ("notice", notice)):
        read = payload_of(Outbox(kind=kind, payload=stored))
        assert kind_of(read) == kind
        assert json.dumps(payload_json(read)) == json.dumps(stored)  # same keys, same order


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        payload_of(Outbox(kind="telegram_story", payload={}))


def test_keys_are_the_ones_rows_always_had() -> None:
    day = today().isoformat()
    assert outbox_key(PushKind.COUNTDOWN, channel=Channel.TELEGRAM, target=-1, period=day) == (
        f"tg:-1:countdown:{day}"
    )
    assert outbox_key(PushKind.OVERDUE, channel=Channel.WECOM, target=3, period=day) == (
        f"wecom:3:overdue:{day}"
    )
    assert outbox_key(
        PushKind.REPORT_CARD, channel=Channel.TELEGRAM, target=-100, period="DL-2026-000001"
    ) == ("tg:-100:report:DL-2026-000001")
    assert outbox_key(PushKind.NOTICE, channel=Channel.TELEGRAM, target=42, period="17") == (
        "tg:42:event:17"
    )
    tag = f"group-off:-1:{day}"
    assert outbox_key(
        PushKind.NOTICE, channel=Channel.TELEGRAM, target=7, period=day, occasion=tag
    ) == (f"tg:7:{tag}")


def test_a_unit_where_nothing_was_found_has_no_rate_on_the_countdown() -> None:
    """Not "100%" beside a unit at 22%: a unit with nothing found shows "—"; a push queued
    before `found` was kept shows its rate as it was."""
    ranking = (
        RankedUnit(unit="甘井子区", overdue=3, open=7, rate=22, tasks_percent=10, found=9),
        RankedUnit(unit="市民政局", overdue=0, open=0, rate=100, tasks_percent=0, found=0),
        RankedUnit(unit="长海县", overdue=0, open=0, rate=100, tasks_percent=0),
    )
    lines = countdown_lines(Translator("zh_CN"), countdown_push(ranking=ranking))
    ranked = [line for line in lines if line[:2] in ("1.", "2.", "3.")]
    assert ranked[0].endswith("整改率 22%")
    assert ranked[1].endswith("整改率 —")
    assert ranked[2].endswith("整改率 100%")
    stored = payload_of(
        Outbox(kind="countdown", payload=payload_json(countdown_push(ranking=ranking)))
    )
    assert isinstance(stored, CountdownPush) and stored.ranking == ranking
