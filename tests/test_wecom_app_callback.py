"""The WeCom application's callback, served for real and called as WeCom calls it.

The fake WeCom (bot/sandbox/wecom/callbacks.py) seals each callback as documented and POSTs it;
the receiver must answer the URL check, parse every kind of message, refuse what WeCom did
not seal for this corp, hand each message on once however often it is retried, answer before
the handling is done, and keep one person's messages in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from bot.sandbox.wecom.application import client_of
from bot.sandbox.wecom.callbacks import WeComCallbacks, cdata
from bot.sandbox.wecom.server import FakeWeCom
from bot.wecom.callback import CallbackReceiver, Serving, callback_app, serve
from bot.wecom.incoming import MessageKind, WeComMessage
from bot.wecom.outgoing import Button, ButtonCard
from storage.clock import utcnow


class Inbox:
    """The injected claim and consumer: what was claimed, what was handed on."""

    def __init__(self) -> None:
        self.claimed: set[str] = set()
        self.handed: list[WeComMessage] = []
        self.arrived = asyncio.Event()
        self.hold: asyncio.Event | None = None  # when given, handling waits until it is set
        self.slow: str | None = None  # … only for the text with this content, if given
        self.claim_fails = False

    async def claim(self, message: WeComMessage) -> bool:
        key = message.dedupe_key
        if self.claim_fails:
            raise ConnectionError("the database is gone")
        if key in self.claimed:
            return False
        self.claimed.add(key)
        return True

    async def consume(self, message: WeComMessage) -> None:
        if self.hold is not None and self.slow in (None, message.content):
            await self.hold.wait()
        self.handed.append(message)
        self.arrived.set()


@pytest.fixture
def wecom() -> Iterator[FakeWeCom]:
    with FakeWeCom() as fake:
        yield fake


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def receiver(wecom: FakeWeCom, inbox: Inbox) -> CallbackReceiver:
    return CallbackReceiver(
        crypto=wecom.application.crypto, claim=inbox.claim, consume=inbox.consume
    )


@pytest.fixture
async def serving(receiver: CallbackReceiver) -> AsyncIterator[Serving]:
    running = await serve(callback_app(receiver), host="127.0.0.1", port=0)
    yield running
    await running.stop()


@pytest.fixture
def callbacks(wecom: FakeWeCom, serving: Serving) -> WeComCallbacks:
    wecom.application.callbacks.url = serving.url
    return wecom.application.callbacks


async def handed_on(receiver: CallbackReceiver, inbox: Inbox) -> list[WeComMessage]:
    await receiver.drain()
    return inbox.handed


# --- the URL check -------------------------------------------------------------------------


async def test_the_url_check_is_answered_with_the_echo(callbacks: WeComCallbacks) -> None:
    assert await callbacks.check_url("5927408431905726481") == (200, "5927408431905726481")


async def test_a_forged_url_check_is_refused(callbacks: WeComCallbacks) -> None:
    status, body = await callbacks.check_url("5927408431905726481", forged=True)
    assert status == 403 and "5927408431905726481" not in body


# --- each kind of message ------------------------------------------------------------------


async def test_a_text_is_parsed(
    callbacks: WeComCallbacks, receiver: CallbackReceiver, inbox: Inbox
) -> None:
    now = int(utcnow().timestamp())
    xml = callbacks.text("inspector01", " /start ABCD1234 ", msg_id="7001", at=now)
    assert await callbacks.post(xml) == 200
    [message] = await handed_on(receiver, inbox)
    assert message.kind is MessageKind.TEXT
    assert (message.from_user, message.create_time) == ("inspector01", now)
    assert message.content == " /start ABCD1234 "
    assert message.msg_id == "7001"
    assert message.agent_id == callbacks.credentials.agent_id
    assert message.dedupe_key == "wecom:msg:7001"


async def test_an_image_is_parsed_and_its_bytes_can_be_fetched(
    wecom: FakeWeCom, callbacks: WeComCallbacks, receiver: CallbackReceiver, inbox: Inbox
) -> None:
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8
    assert await callbacks.send_image("inspector02", photo) == 200
    [message] = await handed_on(receiver, inbox)
    assert message.kind is MessageKind.IMAGE
    assert message.media_id and message.pic_url and message.msg_id
    async with client_of(wecom.url, wecom.application.credentials) as api:
        assert await api.download_media(message.media_id) == photo


async def test_a_location_is_parsed(
    callbacks: WeComCallbacks, receiver: CallbackReceiver, inbox: Inbox
) -> None:
    assert await callbacks.send_location("inspector02", 38.9140, 121.6147, "大连市甘井子区") == 200
    [message] = await handed_on(receiver, inbox)
    assert message.kind is MessageKind.LOCATION
    assert (message.latitude, message.longitude) == (38.9140, 121.6147)
    assert message.label == "大连市甘井子区"
    assert message.scale == 15


async def test_a_button_press_is_parsed(
    callbacks: WeComCallbacks, receiver: CallbackReceiver, inbox: Inbox
) -> None:
    xml = callbacks.button_press(
        "supervisor01", task_id="report-7-level", key="level:major", response_code="rc-77"
    )
    assert await callbacks.post(xml) == 200
    [message] = await handed_on(receiver, inbox)
    assert message.kind is MessageKind.BUTTON_PRESS
    assert message.event == "template_card_event"
    assert (message.task_id, message.event_key) == ("report-7-level", "level:major")
    assert message.response_code == "rc-77"
    assert message.card_type == "button_interaction"
    assert message.msg_id is None


async def test_a_press_on_a_sent_card_carries_its_task_and_key(
    wecom: FakeWeCom, callbacks: WeComCallbacks, receiver: CallbackReceiver, inbox: Inbox
) -> None:
    async with client_of(wecom.url, wecom.application.credentials) as api:
        levels = [Button("一般", "level:general"), Button("重大", "level:major")]
        await api.send("supervisor01", ButtonCard("隐患等级", "", levels, "report-8-level"))
    assert await wecom.application.press("supervisor01", "重大") == 200
    [message] = await handed_on(receiver, inbox)
    assert (message.task_id, message.event_key) == ("report-8-level", "level:major")


async def test_entering_the_application_is_parsed(
    callbacks: WeComCallbacks, receiver: CallbackReceiver, inbox: Inbox
) -> None:
    assert await callbacks.enter("inspector03") == 200
    [message] = await handed_on(receiver, inbox)
    assert message.kind is MessageKind.ENTER_AGENT
    assert message.from_user == "inspector03" and message.msg_id is None


async def test_a_kind_the_front_cannot_use_is_handed_on_as_other(
    callbacks: WeComCallbacks, receiver: CallbackReceiver, inbox: Inbox
) -> None:
    xml = callbacks.text("inspector03", "x").replace(cdata("text"), cdata("voice"))
    assert await callbacks.post(xml) == 200
    [message] = await handed_on(receiver, inbox)
    assert message.kind is MessageKind.OTHER and message.msg_type == "voice"


# --- retries -------------------------------------------------------------------------------


async def test_a_retried_message_is_handed_on_once(
    callbacks: WeComCallbacks, receiver: CallbackReceiver, inbox: Inbox
) -> None:
    xml = callbacks.text("inspector01", "同一条消息")
    assert [await callbacks.post(xml) for _ in range(4)] == [200] * 4  # WeCom retries 3 times
    assert [m.content for m in await handed_on(receiver, inbox)] == ["同一条消息"]


async def test_a_retried_event_is_handed_on_once(
    callbacks: WeComCallbacks, receiver: CallbackReceiver, inbox: Inbox
) -> None:
    now = int(utcnow().timestamp())
    press = callbacks.button_press(
        "supervisor01", task_id="t-1", key="ok", response_code="rc", at=now
    )
    assert await callbacks.post(press) == 200
    assert await callbacks.post(press) == 200
    # The same person a second later is another event, and so is another button.
    later = callbacks.button_press("supervisor01", task_id="t-1", key="ok", at=now + 1)
    other = callbacks.button_press("supervisor01", task_id="t-1", key="no", at=now)
    assert await callbacks.post(later) == 200
    assert await callbacks.post(other) == 200
    handed = await handed_on(receiver, inbox)
    assert [(m.create_time, m.event_key) for m in handed] == [
        (now, "ok"),
        (now + 1, "ok"),
        (now, "no"),
    ]


async def test_a_failed_claim_asks_wecom_to_retry(
    callbacks: WeComCallbacks, receiver: CallbackReceiver, inbox: Inbox
) -> None:
    xml = callbacks.text("inspector01", "数据库断开时")
    inbox.claim_fails = True
    assert await callbacks.post(xml) == 503
    assert await handed_on(receiver, inbox) == []
    inbox.claim_fails = False
    assert await callbacks.post(xml) == 200  # WeCom's retry
    assert [m.content for m in await handed_on(receiver, inbox)] == ["数据库断开时"]


# --- answering at once, in order -----------------------------------------------------------


async def test_wecom_is_answered_before_a_slow_handling_finishes(
    callbacks: WeComCallbacks, receiver: CallbackReceiver, inbox: Inbox
) -> None:
    inbox.hold = asyncio.Event()  # the handling waits until the test lets it go
    assert await callbacks.send_text("inspector01", "慢") == 200
    assert inbox.handed == [] and receiver.pending == 1
    inbox.hold.set()
    assert [m.content for m in await handed_on(receiver, inbox)] == ["慢"]


async def test_one_persons_messages_are_handed_on_in_order(
    callbacks: WeComCallbacks, receiver: CallbackReceiver, inbox: Inbox
) -> None:
    inbox.hold, inbox.slow = asyncio.Event(), "一"  # the first takes long, the others not
    for text in ("一", "二", "三"):
        assert await callbacks.send_text("inspector01", text) == 200
    assert await callbacks.send_text("inspector02", "别人的") == 200
    await asyncio.wait_for(inbox.arrived.wait(), 5)
    assert [m.content for m in inbox.handed] == ["别人的"]  # another person does not wait
    inbox.hold.set()
    assert [m.content for m in await handed_on(receiver, inbox)] == ["别人的", "一", "二", "三"]


# --- refusals ------------------------------------------------------------------------------


async def test_a_forged_signature_is_refused_and_nothing_recorded(
    callbacks: WeComCallbacks, receiver: CallbackReceiver, inbox: Inbox
) -> None:
    query, body = callbacks.seal(callbacks.text("inspector01", "伪造"))
    query["msg_signature"] = "f" * 40
    assert await callbacks.post_sealed(query, body) == 403
    assert inbox.claimed == set() and await handed_on(receiver, inbox) == []


async def test_a_message_for_another_corp_is_refused(
    callbacks: WeComCallbacks, receiver: CallbackReceiver, inbox: Inbox
) -> None:
    xml = callbacks.text("inspector01", "别的企业")
    assert await callbacks.post(xml, receive_id="wwAnotherCorp0001") == 403
    assert inbox.claimed == set() and await handed_on(receiver, inbox) == []


@pytest.mark.parametrize(
    "damage",
    ["outer-not-xml", "no-encrypt", "not-base64", "inner-not-xml", "inner-entities", "no-query"],
)
async def test_malformed_callbacks_are_refused(
    callbacks: WeComCallbacks, receiver: CallbackReceiver, inbox: Inbox, damage: str
) -> None:
    crypto = callbacks.crypto
    query, body = callbacks.seal(callbacks.text("inspector01", "x"))

    def signed(encrypted: str) -> tuple[dict[str, str], str]:
        ts, nonce = query["timestamp"], query["nonce"]
        again = {**query, "msg_signature": crypto.sign(ts, nonce, encrypted)}
        return again, f"<xml><Encrypt>{cdata(encrypted)}</Encrypt></xml>"

    if damage == "outer-not-xml":
        body = "<xml><Encrypt>"
    elif damage == "no-encrypt":
        body = "<xml><ToUserName>x</ToUserName></xml>"
    elif damage == "not-base64":
        query, body = signed("this is not base64!")
    elif damage == "inner-not-xml":
        query, body = signed(crypto.encrypt("<xml><FromUserName>"))
    elif damage == "inner-entities":
        bomb = '<!DOCTYPE xml [<!ENTITY a "aaaaaaaa">]><xml><MsgType>&a;</MsgType></xml>'
        query, body = signed(crypto.encrypt(bomb))
    else:
        query = {}
    assert await callbacks.post_sealed(query, body) == 400
    assert inbox.claimed == set() and await handed_on(receiver, inbox) == []
