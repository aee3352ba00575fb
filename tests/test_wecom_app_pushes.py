"""Pushes to people who have only WeCom, through the application, against the fake WeCom server.

Delivered as text in the person's language; "busy" defers the push without spending an
attempt; any other refusal is retried with backoff and given up at the last attempt, as the
robots' pushes are; a user id WeCom does not know fails at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from telegram import Bot

from bot.config import Settings
from bot.push.sender import drain
from bot.sandbox.wecom.server import FakeWeCom
from storage.accounts import Account
from storage.clock import utcnow
from storage.db import Sessions
from storage.models import Channel, Outbox, OutboxStatus
from storage.push_payloads import NoticePush
from storage.pushes import MAX_ATTEMPTS, enqueue
from tests.world import register_wecom, world

pytestmark = pytest.mark.e2e

SEND = "/cgi-bin/message/send"
PERSON = "inspector01"
NOTICE = NoticePush(key="Report {number} was closed.", params={"number": "DL-2026-000123"})


@pytest.fixture
def wecom() -> Iterator[FakeWeCom]:
    with FakeWeCom() as fake:
        yield fake


@pytest.fixture
def settings(wecom: FakeWeCom, tmp_path: Path) -> Settings:
    app = wecom.application.credentials
    return Settings(
        token="1:x",
        data_dir=tmp_path,
        language="en",
        wecom_base_url=wecom.url,
        wecom_corp_id=app.corp_id,
        wecom_agent_id=app.agent_id,
        wecom_secret=app.secret,
        wecom_token=app.token,
        wecom_aes_key=app.aes_key,
    )


@pytest.fixture
async def queued(sessions: Sessions) -> None:
    await world(sessions)
    await register_wecom(sessions, Account.wecom(PERSON), "inspector", "甘井子区")
    async with sessions() as s:
        enqueue(s, NOTICE, channel=Channel.WECOM_APP, target=PERSON, period="1", now=utcnow())
        await s.commit()


async def the_push(sessions: Sessions) -> Outbox:
    async with sessions() as s:
        return (await s.scalars(select(Outbox))).one()


async def send_now(sessions: Sessions, settings: Settings) -> int:
    """Drain once, with the push due at once (whatever it was deferred to)."""
    async with sessions() as s:
        await s.execute(update(Outbox).values(not_before=utcnow()))
        await s.commit()
    return await drain(Bot("1:x"), sessions, settings)  # Telegram is never asked


@pytest.mark.usefixtures("queued")
async def test_a_push_reaches_a_wecom_only_person_as_text(
    sessions: Sessions, settings: Settings, wecom: FakeWeCom
) -> None:
    assert await send_now(sessions, settings) == 1
    [message] = wecom.application.messages(PERSON)
    assert (message.msgtype, message.content) == ("text", "Report DL-2026-000123 was closed.")
    assert (await the_push(sessions)).status == OutboxStatus.SENT
    assert await send_now(sessions, settings) == 0  # once
    assert len(wecom.application.messages(PERSON)) == 1


@pytest.mark.usefixtures("queued")
async def test_busy_defers_the_push_without_spending_an_attempt(
    sessions: Sessions, settings: Settings, wecom: FakeWeCom
) -> None:
    wecom.application.fail_next(45009, path=SEND)
    assert await send_now(sessions, settings) == 0
    row = await the_push(sessions)
    assert (row.status, row.attempts) == (OutboxStatus.QUEUED, 0)
    assert "45009" in (row.last_error or "")
    assert row.not_before >= utcnow() + timedelta(seconds=50)  # WeCom's minute, not at once
    assert await send_now(sessions, settings) == 1
    assert [m.content for m in wecom.application.messages(PERSON)] == [
        "Report DL-2026-000123 was closed."
    ]


@pytest.mark.usefixtures("queued")
async def test_a_refusal_is_retried_with_backoff_and_given_up_at_the_last_attempt(
    sessions: Sessions, settings: Settings, wecom: FakeWeCom
) -> None:
    wecom.application.fail_next(40058, path=SEND)
    assert await send_now(sessions, settings) == 0
    row = await the_push(sessions)
    assert (row.status, row.attempts) == (OutboxStatus.QUEUED, 1)
    assert row.not_before > utcnow()
    async with sessions() as s:
        await s.execute(update(Outbox).values(attempts=MAX_ATTEMPTS - 1))
        await s.commit()
    wecom.application.fail_next(40058, path=SEND)
    assert await send_now(sessions, settings) == 0
    row = await the_push(sessions)
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, MAX_ATTEMPTS)
    assert wecom.application.messages(PERSON) == []


@pytest.mark.usefixtures("queued")
async def test_a_person_wecom_does_not_know_fails_at_once(
    sessions: Sessions, settings: Settings, wecom: FakeWeCom
) -> None:
    wecom.application.fail_next(81013, path=SEND)
    assert await send_now(sessions, settings) == 0
    row = await the_push(sessions)
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 0)
    assert "81013" in (row.last_error or "")


async def test_a_push_about_one_hidden_danger_ends_with_a_card_that_opens_it(
    sessions: Sessions, settings: Settings, wecom: FakeWeCom
) -> None:
    await world(sessions)
    await register_wecom(sessions, Account.wecom(PERSON), "inspector", "甘井子区")
    about = NoticePush(key=NOTICE.key, params=NOTICE.params, danger_id=42)
    async with sessions() as s:
        enqueue(s, about, channel=Channel.WECOM_APP, target=PERSON, period="1", now=utcnow())
        await s.commit()
    assert await send_now(sessions, settings) == 1
    text, card = wecom.application.messages(PERSON)
    assert text.content == "Report DL-2026-000123 was closed."
    assert card.msgtype == "template_card" and card.button_texts == ["Open"]
    assert [b["key"] for b in card.card["button_list"]] == ["d:42:open"]
    assert card.card["main_title"]["title"] == "Report DL-2026-000123 was closed."
