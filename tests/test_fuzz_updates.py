"""Fuzz: updates of every kind, at every state of every conversation, against the real bot.

Hypothesis picks a state (each step of a report, each step of a closed-loop action, a bound
group, nothing open) and an update (text of any Unicode and length, commands with junk
arguments, stickers, voice, contacts, polls, dice, locations anywhere, venues, photos, files of
any bytes, edited messages, forged and stale button presses, channel posts, messages from
chats the bot never met). The bot must raise nothing — an exception reaching the error
handler fails the test, even though the person would only have seen "sorry" — and a private
message from a registered person must get an answer or a hint.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from bot.sandbox.botapi import Chat, FakeBotAPI, Person, make_jpeg
from storage import invites
from storage.closed_loop import act, answer_action
from storage.conversation import Input, InputKind, NewPhoto
from storage.models import Draft, DraftStatus
from storage.permissions import Action
from storage.report import Area, ReportRules, Step, answer_report, begin_report
from tests.bot_thread import BotThread
from tests.factories import tg
from tests.harness import RunningBot, settings_for
from tests.phone import seed_campaign

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RULES = ReportRules(area=Area(38.5, 120.5, 40.5, 123.8), number_prefix="DL")
COMMANDS = [
    "start", "help", "report", "cancel", "mine", "overdue", "find", "stats", "export", "lang",
    "tasks", "countdown", "bind", "subscribe", "unsubscribe", "nonsense",
]  # fmt: skip
REPORT_STEPS = list(Step)
ACTION_STATES = ["rectify:photos", "rectify:note", "extend:date", "extend:reason"]
MANAGER_STATES = ["reassign:person"]  # a supervisor's draft: the junk comes from them
STATES = ["idle", *[f"report:{s.value}" for s in REPORT_STEPS], *ACTION_STATES, *MANAGER_STATES]


@dataclass
class World:
    server: FakeBotAPI
    bot: RunningBot
    thread: BotThread
    wang: Person  # an inspector of 甘井子区
    li: Person  # a supervisor of 甘井子区
    group: Chat  # bound to 甘井子区
    danger_id: int
    update_id: int = 5_000_000

    def next_id(self) -> int:
        self.update_id += 1
        return self.update_id

    def __repr__(self) -> str:  # hypothesis prints its examples: no tokens in test output
        return "World(Wang, Li, a bound group, a hidden danger)"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("fuzz")
    shutil.copy(sqlite_template, folder / "hdbot.sqlite3")
    with FakeBotAPI() as server:
        config = settings_for(
            server,
            db_url=f"sqlite+aiosqlite:///{folder / 'hdbot.sqlite3'}",
            data_dir=folder,
            language="en",
        )
        thread = BotThread(config)
        with thread as bot:
            # A fuzzer types faster than any person: the flood guard is not what is tried here.
            bot.application.bot_data.flood.limit = bot.application.bot_data.flood.trusted_limit = (
                1_000_000
            )
            thread.call(seed_campaign(bot))
            wang = server.user(first_name="Wang", language_code="en")
            li = server.user(first_name="Li", language_code="zh-hans")
            thread.call(_register(bot, wang.id, "inspector"))
            thread.call(_register(bot, li.id, "supervisor"))
            group = server.group("甘井子区安全群", members=[wang], admins=[li])
            li.send_text("/bind 甘井子区", chat=group)
            group.next_message_sync(within=10)
            here = World(server, bot, thread, wang, li, group, danger_id=0)
            here.danger_id = thread.call(_a_danger(here))
            yield here


async def _register(bot: RunningBot, telegram_id: int, role: str) -> None:
    async with bot.sessions() as s:
        code = (await invites.create_invite(s, role=role, unit="甘井子区", actor="t")).code
    async with bot.sessions() as s:
        await invites.redeem_invite(
            s, code=code, account=tg(telegram_id), name=f"p{telegram_id}", username=None
        )


def _photo(n: int) -> NewPhoto:
    return NewPhoto(
        file_id=f"fuzz-{n}",
        file_unique_id=f"fuzz-{n}",
        sha256=f"{n:064x}",
        path=f"00/{n:064x}.jpg",
        thumb_path=None,
        size=1000,
        width=800,
        height=600,
        exif_time=None,
        exif_lat=None,
        exif_lon=None,
    )


async def _answer(here: World, given: Input) -> None:
    async with here.bot.sessions() as s:
        await answer_report(
            s, account=tg(here.wang.id), update_id=here.next_id(), given=given, rules=RULES
        )


async def _to_report_step(here: World, step: Step) -> None:
    async with here.bot.sessions() as s:
        reply = await begin_report(s, account=tg(here.wang.id), update_id=here.next_id())
    assert reply.tasks is not None and reply.tasks.items
    script: list[Input] = [
        Input(InputKind.BUTTON, button=f"task:{reply.tasks.items[0].id}"),
        Input(InputKind.TEXT, text="大连某化工有限公司"),
        Input(InputKind.BUTTON, button="field:hazardous_chemicals"),
        Input(InputKind.TEXT, text="储罐区防火堤破损"),
        Input(InputKind.PHOTO, photo=_photo(here.next_id())),
        Input(InputKind.BUTTON, button="done"),
        Input(InputKind.LOCATION, latitude=38.95, longitude=121.55),
        Input(InputKind.BUTTON, button="level:general"),
        Input(InputKind.BUTTON, button="days:7"),
    ]
    # Answers 0-3 lead to steps 1-4; from the photos step on, a photo and Done come first.
    position = REPORT_STEPS.index(step)
    for answer in script[: position if position < 4 else position + 1]:
        await _answer(here, answer)


async def _a_danger(here: World) -> int:
    await _to_report_step(here, Step.CONFIRM)
    async with here.bot.sessions() as s:
        done = await answer_report(
            s,
            account=tg(here.wang.id),
            update_id=here.next_id(),
            given=Input(InputKind.BUTTON, button="submit"),
            rules=RULES,
        )
    assert done.submitted is not None
    return done.submitted.danger_id


async def _put_in(here: World, state: str) -> None:
    """Clear every open draft, then open the one the state names."""
    async with here.bot.sessions() as s:
        await s.execute(
            update(Draft).where(Draft.status == DraftStatus.OPEN).values(status="discarded")
        )
        await s.commit()
    kind, _, step = state.partition(":")
    if kind == "report":
        await _to_report_step(here, Step(step))
    elif kind in ("rectify", "extend"):
        async with here.bot.sessions() as s:
            await act(
                s,
                account=tg(here.wang.id),
                danger_id=here.danger_id,
                action=Action(kind),
                update_id=here.next_id(),
            )
        if state == "rectify:note":
            async with here.bot.sessions() as s:
                await answer_action(
                    s,
                    account=tg(here.wang.id),
                    update_id=here.next_id(),
                    given=Input(InputKind.PHOTO, photo=_photo(here.next_id())),
                )
            async with here.bot.sessions() as s:
                await answer_action(
                    s,
                    account=tg(here.wang.id),
                    update_id=here.next_id(),
                    given=Input(InputKind.BUTTON, button="done"),
                )
        if state == "extend:reason":
            async with here.bot.sessions() as s:
                await answer_action(
                    s,
                    account=tg(here.wang.id),
                    update_id=here.next_id(),
                    given=Input(InputKind.BUTTON, button="days:7"),
                )
    elif kind == "reassign":
        async with here.bot.sessions() as s:
            await act(
                s,
                account=tg(here.li.id),
                danger_id=here.danger_id,
                action=Action.REASSIGN,
                update_id=here.next_id(),
            )


# --- what a client can send -----------------------------------------------------------------

Sender = Callable[[World, Person], tuple[Chat | None, Any]]


def _raw(here: World, person: Person, kind: str, **fields: Any) -> None:
    message = {
        "message_id": here.next_id(),
        "date": 1_795_000_000,
        "chat": person.private_chat.to_api(),
        "from": person.to_api(),
        **fields,
    }
    here.server.state.push_update(kind, message)


text_any = st.text(min_size=1, max_size=4096)
senders: st.SearchStrategy[tuple[str, Sender]] = st.one_of(
    text_any.map(lambda t: ("text", lambda w, who: (who.private_chat, who.send_text(t)))),
    st.tuples(st.sampled_from(COMMANDS), st.text(max_size=200)).map(
        lambda c: ("command", lambda w, who: (who.private_chat, who.send_text(f"/{c[0]} {c[1]}")))
    ),
    st.just(("sticker", lambda w, who: (who.private_chat, who.send_sticker()))),
    st.just(("voice", lambda w, who: (who.private_chat, who.send_voice()))),
    st.tuples(st.floats(-90, 90), st.floats(-180, 180)).map(
        lambda p: ("location", lambda w, who: (who.private_chat, who.send_location(*p)))
    ),
    st.tuples(st.floats(-90, 90), st.floats(-180, 180), text_any, st.text(max_size=300)).map(
        lambda v: ("venue", lambda w, who: (who.private_chat, who.send_venue(*v)))
    ),
    st.tuples(st.integers(1, 400), st.integers(1, 400), st.integers(0, 255)).map(
        lambda p: (
            "photo",
            lambda w, who: (
                who.private_chat,
                who.send_photo(make_jpeg(p[0], p[1], color=(p[2], 90, 40))),
            ),
        )
    ),
    st.tuples(
        st.binary(max_size=3000),
        st.text(max_size=60),
        st.sampled_from(["image/jpeg", "application/pdf", "image/png", ""]),
    ).map(
        lambda d: (
            "document",
            lambda w, who: (who.private_chat, who.send_document(d[0], d[1] or "f", d[2] or "x")),
        )
    ),
    st.text(max_size=64)
    .filter(lambda t: len(t.encode()) <= 64)
    .map(lambda data: ("press", lambda w, who: (None, _forged_press(w, who, data)))),
    st.sampled_from(["r", "d", "a", "l", "lang"]).flatmap(
        lambda p: st.from_regex(rf"\A{p}:-?[0-9]{{1,12}}:[a-z:0-9_]{{0,20}}\Z").map(
            lambda data: ("stale press", lambda w, who: (None, _forged_press(w, who, data)))
        )
    ),
    text_any.map(lambda t: ("edit", lambda w, who: (None, _raw(w, who, "edited_message", text=t)))),
    st.just(
        (
            "contact",
            lambda w, who: (
                who.private_chat,
                _raw(w, who, "message", contact=CONTACT),
            ),
        )
    ),
    st.just(
        (
            "dice",
            lambda w, who: (
                who.private_chat,
                _raw(w, who, "message", dice={"emoji": "🎲", "value": 3}),
            ),
        )
    ),
    st.just(("poll", lambda w, who: (who.private_chat, _raw(w, who, "message", poll=_poll())))),
    text_any.map(lambda t: ("group text", lambda w, who: (None, who.send_text(t, chat=w.group)))),
    text_any.map(lambda t: ("channel post", lambda w, who: (None, _channel_post(w, t)))),
    text_any.map(lambda t: ("unknown chat", lambda w, who: (None, _stranger_chat(w, t)))),
)


CONTACT = {"phone_number": "+8613800000000", "first_name": "X"}


def _poll() -> dict[str, Any]:
    return {
        "id": "1",
        "question": "?",
        "options": [
            {"text": "a", "voter_count": 0, "persistent_id": "0"},
            {"text": "b", "voter_count": 0, "persistent_id": "1"},
        ],
        "total_voter_count": 0,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
        "allows_revoting": False,
        "members_only": False,
    }


def _forged_press(here: World, person: Person, data: str) -> None:
    chat = person.private_chat
    message = chat.last_bot_message
    if message is None:
        return
    message.reply_markup = {"inline_keyboard": [[{"text": "x", "callback_data": data}]]}
    press = person.press(message, "x")
    press.answered_sync(within=8)


def _channel_post(here: World, text: str) -> None:
    here.server.state.push_update(
        "channel_post",
        {
            "message_id": here.next_id(),
            "date": 1_795_000_000,
            "chat": {"id": -1001234567, "type": "channel", "title": "频道"},
            "text": text,
        },
    )


def _stranger_chat(here: World, text: str) -> None:
    here.server.state.push_update(
        "message",
        {
            "message_id": here.next_id(),
            "date": 1_795_000_000,
            "chat": {"id": -4009999999, "type": "group", "title": "不认识的群"},
            "from": {"id": 99_999_999, "is_bot": False, "first_name": "?"},
            "text": text,
        },
    )


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(state=st.sampled_from(STATES), sent=senders)
def test_any_update_at_any_state_raises_nothing_and_is_answered(
    world: World, state: str, sent: tuple[str, Sender]
) -> None:
    kind, send = sent
    world.thread.call(_put_in(world, state))
    person = world.li if state in MANAGER_STATES else world.wang
    chat = person.private_chat
    before = chat.messages[-1].message_id if chat.messages else 0
    errors_before = len(world.bot.errors)
    answered_in, _message = send(world, person)
    if answered_in is not None:
        # A private message from a registered person: an answer or a hint, never silence.
        answered_in.next_message_sync(lambda m: m.message_id > before, within=8)
    else:
        # Nothing to wait for in the chat: wait until the bot has confirmed the update (its
        # next getUpdates), which it does once it is handled.
        deadline = time.monotonic() + 8
        while world.server.pending_updates and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
    assert world.bot.errors[errors_before:] == [], (state, kind)
