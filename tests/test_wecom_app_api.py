"""The WeCom application's API client against the fake WeCom server, over HTTP.

Tokens: fetched once and kept, one fetch however many sends wait, fetched again before they
run out (on the client's own injectable clock) and when WeCom refuses them, with one retry.
Errors: busy answers are WeComBusy (the caller defers), others WeComError; the secret and the
access token appear in no error and no log line. Messages are checked before the network.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from bot.sandbox.wecom.application import FakeWeComApplication, client_of
from bot.sandbox.wecom.server import FakeWeCom
from bot.wecom.api import MediaTooLarge, WeComBusy, WeComClient, WeComError
from bot.wecom.outgoing import (
    Button,
    ButtonCard,
    ButtonState,
    ImageMessage,
    TextMessage,
)

SEND = "/cgi-bin/message/send"
PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


class Ticker:
    """The client's clock for token lifetimes: seconds, moved by the test."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


@pytest.fixture
def wecom() -> Iterator[FakeWeCom]:
    with FakeWeCom() as fake:
        yield fake


@pytest.fixture
def fake(wecom: FakeWeCom) -> FakeWeComApplication:
    return wecom.application


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
async def client(wecom: FakeWeCom, ticker: Ticker) -> AsyncIterator[WeComClient]:
    async with client_of(wecom.url, wecom.application.credentials, now=ticker) as api:
        yield api


def card(buttons: int = 3, task_id: str = "report-1-task") -> ButtonCard:
    return ButtonCard(
        "选择隐患等级",
        "大连市安全生产专项整治",
        [Button(f"选项{n}", f"level:{n}") for n in range(buttons)],
        task_id,
    )


# --- the access token ----------------------------------------------------------------------


async def test_the_token_is_fetched_once_and_kept(
    client: WeComClient, fake: FakeWeComApplication
) -> None:
    await client.send("inspector01", TextMessage("第一条"))
    await client.send("inspector01", TextMessage("第二条"))
    assert fake.token_requests == 1
    assert [m.content for m in fake.messages("inspector01")] == ["第一条", "第二条"]


async def test_twenty_sends_at_once_fetch_one_token(
    client: WeComClient, fake: FakeWeComApplication
) -> None:
    users = [f"inspector{n}" for n in range(20)]
    await asyncio.gather(*(client.send(user, TextMessage("你好")) for user in users))
    assert fake.token_requests == 1
    assert sorted(m.to for m in fake.messages()) == sorted(users)


async def test_a_token_is_fetched_again_before_it_runs_out(
    client: WeComClient, fake: FakeWeComApplication, ticker: Ticker
) -> None:
    await client.send("inspector01", TextMessage("一"))
    ticker.seconds += 7200 - 300 - 1  # just inside the margin before its 7,200 s end
    await client.send("inspector01", TextMessage("二"))
    assert fake.token_requests == 1
    ticker.seconds += 2
    await client.send("inspector01", TextMessage("三"))
    assert fake.token_requests == 2


async def test_an_expired_token_is_fetched_again_and_the_send_retried_once(
    client: WeComClient, fake: FakeWeComApplication
) -> None:
    await client.send("inspector01", TextMessage("一"))
    fake.fail_next(42001, path=SEND)
    await client.send("inspector01", TextMessage("二"))
    assert fake.token_requests == 2
    assert [r.errcode for r in fake.requests(SEND)] == [0, 42001, 0]
    assert [m.content for m in fake.messages("inspector01")] == ["一", "二"]


async def test_twenty_sends_refused_an_expired_token_fetch_one_new_one(
    client: WeComClient, fake: FakeWeComApplication
) -> None:
    await client.access_token()
    fake.expire_tokens()  # every send now carries a token WeCom calls expired
    await asyncio.gather(*(client.send(f"u{n}", TextMessage("你好")) for n in range(20)))
    assert fake.token_requests == 2
    assert len(fake.messages()) == 20


async def test_a_token_refused_twice_is_an_error_not_a_loop(
    client: WeComClient, fake: FakeWeComApplication
) -> None:
    fake.fail_next(40014, times=2, path=SEND)
    with pytest.raises(WeComError) as caught:
        await client.send("inspector01", TextMessage("你好"))
    assert caught.value.errcode == 40014
    assert len(fake.requests(SEND)) == 2


async def test_a_wrong_secret_is_an_error_that_does_not_show_it(
    wecom: FakeWeCom, fake: FakeWeComApplication, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "aWrongSecretThatMustNotLeak-0123456789"
    async with client_of(wecom.url, dataclasses.replace(fake.credentials, secret=secret)) as api:
        with pytest.raises(WeComError) as caught:
            await api.send("inspector01", TextMessage("你好"))
    assert caught.value.errcode == 40001
    assert secret not in str(caught.value) and secret not in repr(api)
    assert secret not in caplog.text


async def test_neither_the_secret_nor_the_token_is_logged(
    client: WeComClient, fake: FakeWeComApplication, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = await client.access_token()
    fake.fail_next(42001, path=SEND)
    await client.send("inspector01", TextMessage("你好"))
    assert caplog.text  # the refresh was logged …
    for secret in (token, await client.access_token(), fake.credentials.secret):
        assert secret not in caplog.text  # … without what must stay secret


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(("errcode", "delay"), [(45009, 60.0), (45033, 60.0), (-1, 5.0)])
async def test_busy_answers_are_wecom_busy_with_a_delay(
    client: WeComClient, fake: FakeWeComApplication, errcode: int, delay: float
) -> None:
    fake.fail_next(errcode, path=SEND)
    with pytest.raises(WeComBusy) as caught:
        await client.send("inspector01", TextMessage("你好"))
    assert (caught.value.errcode, caught.value.retry_after) == (errcode, delay)
    assert len(fake.requests(SEND)) == 1  # deferred, not retried here


async def test_other_errcodes_are_wecom_errors(
    wecom: FakeWeCom, fake: FakeWeComApplication
) -> None:
    not_ours = dataclasses.replace(fake.credentials, agent_id=999)
    async with client_of(wecom.url, not_ours) as api:
        with pytest.raises(WeComError) as caught:
            await api.send("inspector01", TextMessage("你好"))
    assert not isinstance(caught.value, WeComBusy)
    assert caught.value.errcode == 40056


async def test_an_unreachable_wecom_is_busy_and_names_no_secret() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again once the block ends: nobody listens
    secret = "unreachableSecret-0123456789abcdef"
    async with WeComClient(
        base_url=f"http://127.0.0.1:{port}", corp_id="ww1", agent_id=1, secret=secret
    ) as api:
        with pytest.raises(WeComBusy) as caught:
            await api.access_token()
    assert caught.value.errcode is None
    assert secret not in str(caught.value)


# --- messages and media --------------------------------------------------------------------


async def test_an_uploaded_image_is_sent_by_its_media_id(
    client: WeComClient, fake: FakeWeComApplication
) -> None:
    media_id = await client.upload_image(PHOTO, filename="before.png", content_type="image/png")
    assert fake.media(media_id) == PHOTO
    await client.send("inspector01", ImageMessage(media_id))
    [sent] = fake.messages("inspector01")
    assert sent.msgtype == "image" and sent.media_id == media_id


async def test_media_get_returns_the_bytes_a_person_sent(
    client: WeComClient, fake: FakeWeComApplication
) -> None:
    media_id = fake.put_media(PHOTO)
    assert await client.download_media(media_id) == PHOTO
    with pytest.raises(MediaTooLarge):
        await client.download_media(media_id, max_bytes=1000)


async def test_media_get_of_an_unknown_media_id_is_an_error(client: WeComClient) -> None:
    with pytest.raises(WeComError) as caught:
        await client.download_media("no-such-media")
    assert caught.value.errcode == 40007


async def test_a_button_card_is_sent_and_updated_after_a_press(
    client: WeComClient, fake: FakeWeComApplication
) -> None:
    sent = await client.send("inspector01", card(buttons=6))
    assert sent.response_code
    [message] = fake.messages("inspector01")
    assert message.card["card_type"] == "button_interaction"
    assert message.card["task_id"] == "report-1-task"
    assert message.button_texts == [f"选项{n}" for n in range(6)]
    await client.update_card(
        userids=["inspector01"], response_code=sent.response_code, to=ButtonState("已选择")
    )
    await client.update_card(
        userids=["inspector01"], response_code="rc-2", to=card(buttons=2, task_id="report-1-next")
    )
    first, second = fake.card_updates()
    assert first["button"] == {"replace_name": "已选择"}
    assert first["agentid"] == fake.credentials.agent_id
    assert second["template_card"]["task_id"] == "report-1-next"


async def test_a_card_of_seven_buttons_is_refused_before_the_network(
    client: WeComClient, fake: FakeWeComApplication
) -> None:
    with pytest.raises(ValueError, match="1 to 6 buttons"):
        card(buttons=7)
    with pytest.raises(ValueError):
        ButtonCard("t", "", [], "task")
    with pytest.raises(ValueError, match="different keys"):
        ButtonCard("t", "", [Button("a", "k"), Button("b", "k")], "task")
    with pytest.raises(ValueError, match="task id"):
        ButtonCard("t", "", [Button("a", "k")], "task id with spaces")
    with pytest.raises(ValueError, match="title"):
        ButtonCard("标" * 37, "", [Button("a", "k")], "task")
    with pytest.raises(ValueError, match="text"):
        Button("按钮文字超过十个字了吧", "k")
    assert fake.requests() == []


async def test_a_text_over_2048_bytes_is_refused_before_the_network(
    client: WeComClient, fake: FakeWeComApplication
) -> None:
    with pytest.raises(ValueError, match="2048"):
        TextMessage("隐" * 683)  # 2,049 bytes of UTF-8
    await client.send("inspector01", TextMessage("隐" * 682))
    assert len(fake.messages("inspector01")) == 1
