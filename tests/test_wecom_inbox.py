"""WeCom's callbacks kept before they are answered: once each, and handled after a crash."""

from __future__ import annotations

from datetime import timedelta

from bot.wecom.incoming import MessageKind, WeComMessage, as_record, from_record
from storage import wecom_inbox
from storage.clock import utcnow
from storage.db import Sessions

TEXT = WeComMessage(
    MessageKind.TEXT,
    "inspector01",
    1764400000,
    "text",
    agent_id=1000002,
    msg_id="7001",
    content="厂房东侧消防通道堵塞",
)
PRESS = WeComMessage(
    MessageKind.BUTTON_PRESS,
    "inspector01",
    1764400005,
    "event",
    agent_id=1000002,
    event="template_card_event",
    event_key="r:12:level:major",
    task_id="t-12-3",
    card_type="button_interaction",
    response_code="rc-1",
)


def test_a_kept_message_reads_back_the_same() -> None:
    for message in (TEXT, PRESS):
        assert from_record(as_record(message)) == message
    # A record kept by a newer version, with a field this one does not know, still reads.
    assert from_record({**as_record(TEXT), "new_field": 1}) == TEXT


async def keep(sessions: Sessions, message: WeComMessage) -> int | None:
    async with sessions() as session:
        return await wecom_inbox.keep(
            session,
            key=message.dedupe_key,
            wecom_user_id=message.from_user,
            message=as_record(message),
            now=utcnow(),
        )


async def test_a_retried_callback_is_kept_once_and_handled_once(sessions: Sessions) -> None:
    first = await keep(sessions, TEXT)
    press = await keep(sessions, PRESS)
    assert first is not None and press is not None and first < press
    # WeCom's retries of both: nothing new kept.
    assert await keep(sessions, TEXT) is None
    assert await keep(sessions, PRESS) is None
    async with sessions() as session:
        assert await wecom_inbox.inbox_id(session, TEXT.dedupe_key) == first
        kept = await wecom_inbox.unhandled(session)
        assert [(i, from_record(m)) for i, m in kept] == [(first, TEXT), (press, PRESS)]
        await wecom_inbox.mark_handled(session, first, now=utcnow())
        # What a restarted front finds to do: only the press.
        assert [i for i, _ in await wecom_inbox.unhandled(session)] == [press]
    # Handled long ago: forgotten; a retry that late is a new message to WeCom too.
    async with sessions() as session:
        later = utcnow() + wecom_inbox.KEEP_HANDLED + timedelta(minutes=1)
        assert await wecom_inbox.forget_handled(session, now=later) == 1
        assert [i for i, _ in await wecom_inbox.unhandled(session)] == [press]
