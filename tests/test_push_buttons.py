"""A push's buttons lead to the card of the hidden danger it is about."""

from __future__ import annotations

from datetime import date

from bot.i18n import Translator
from bot.views.push_view import REMINDER_BUTTONS, push_buttons
from storage.push_payloads import NoticePush, ReminderItem, ReminderPush


def item(n: int) -> ReminderItem:
    return ReminderItem(
        danger_id=n,
        number=f"DL-2026-{n:06d}",
        site=f"某化工厂{n}号罐区",
        deadline=date(2026, 12, 8),
        days=3,
    )


def test_one_button_a_hidden_danger_of_a_reminder() -> None:
    _ = Translator("en")
    many = ReminderPush(items=tuple(item(n) for n in range(1, 9)), count=12)
    rows = push_buttons(_, many)
    assert len(rows) == REMINDER_BUTTONS
    assert [row[0].action for row in rows] == [f"d:{n}:open" for n in range(1, 6)]
    assert rows[0][0].label == "DL-2026-000001 · 某化工厂1号罐区"
    one = ReminderPush(items=(item(7),), count=1, danger_id=7)
    assert [[(b.label, b.action) for b in row] for row in push_buttons(_, one)] == [
        [("Open", "d:7:open")]
    ]


def test_a_notice_opens_its_card_or_has_no_button() -> None:
    _ = Translator("zh_CN")
    told = NoticePush(key="{number} is closed.", params={"number": "DL-1"}, danger_id=3)
    assert [row[0].action for row in push_buttons(_, told)] == ["d:3:open"]
    assert push_buttons(_, NoticePush(key="Hello")) == ()
