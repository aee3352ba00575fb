"""Pushes to WeCom: markdown to a group robot's webhook key, plain text to one person through
the WeCom application (and, for a push about one hidden danger, a card whose button opens it),
and what WeCom's refusals mean for either."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import Translator
from bot.push.delivery import NotSent, fail, language_of, record_sent, retry
from bot.push.pacing import SenderState, Slot
from bot.views.cards import report_card
from bot.views.labels import shorten
from bot.views.push_view import push_buttons, telegram_text, wecom_markdown, wecom_report_markdown
from bot.wecom.api import WeComBusy, WeComError
from bot.wecom.outgoing import (
    BUTTON_TEXT_LIMIT,
    CARD_TITLE_LIMIT,
    ButtonCard,
    TextMessage,
    text_pieces,
)
from bot.wecom.outgoing import Button as CardButton
from storage.accounts import Account
from storage.clock import utcnow
from storage.dangers import danger_card
from storage.db import Sessions
from storage.push_payloads import ReportCardPush, payload_of
from storage.pushes import (
    OutboxItem,
    deactivate_target,
    defer,
    mark_failed,
    wecom_target,
)

logger = logging.getLogger(__name__)

# WeCom answers 200 with an errcode; these mean "slow down" and "this key is dead".
WECOM_RATE_LIMITED = {45009, 45033}
WECOM_DEAD_KEY = {93000, 93004, 40013}
WECOM_BUSY_DELAY = 60.0
# The application's "no such person" answers: invalid user id list, user not found, every
# recipient invalid or outside the application's visible range.
WECOM_UNKNOWN_USER = {40031, 60111, 81013}


async def deliver_wecom_robot(
    sessions: Sessions, settings: Settings, state: SenderState, item: OutboxItem, slot: Slot
) -> int:
    """POST the push to a WeCom group robot as markdown."""
    async with sessions() as session:
        target = await wecom_target(session, int(item.target)) if item.target.isdigit() else None
    if target is None:
        await fail(sessions, item, "WeCom target is switched off")
        return 0
    payload = payload_of(item)
    _ = Translator(settings.language)
    if isinstance(payload, ReportCardPush):
        async with sessions() as session:
            card = await danger_card(session, payload.danger_id)
        content = wecom_report_markdown(_, card)
    else:
        content = wecom_markdown(_, payload)
    url = f"{settings.wecom_base_url.rstrip('/')}/cgi-bin/webhook/send"
    assert state.http is not None
    try:
        response = await state.http.post(
            url,
            params={"key": target.key},
            json={"msgtype": "markdown", "markdown": {"content": content}},
        )
        response.raise_for_status()
        answer = response.json()
    except (httpx.HTTPError, ValueError) as err:
        # Never the error's text: httpx names the URL, and the URL holds the robot's secret key.
        detail = (
            f"HTTP {err.response.status_code}"
            if isinstance(err, httpx.HTTPStatusError)
            else type(err).__name__
        )
        await retry(sessions, item, f"WeCom: {detail}", give_up=False)
        return 0
    code = int(answer.get("errcode", -1)) if isinstance(answer, dict) else -1
    message = str(answer.get("errmsg", "")) if isinstance(answer, dict) else str(answer)
    if code == 0:
        return await record_sent(sessions, item, slot)
    error = f"WeCom errcode {code}: {message}"

    async def switch_off(session: AsyncSession) -> None:
        await deactivate_target(session, target_id=target.id, error=error)

    await _refused_by_wecom(
        sessions,
        item,
        error,
        busy_for=WECOM_BUSY_DELAY if code in WECOM_RATE_LIMITED else None,
        dead=code in WECOM_DEAD_KEY,
        on_dead=switch_off,
    )
    return 0


async def deliver_wecom_app(
    sessions: Sessions, settings: Settings, state: SenderState, item: OutboxItem, slot: Slot
) -> int:
    """Send the push to one person through the WeCom application, as plain text (and a card)."""
    if state.wecom is None:
        # Without a configured application nobody will ever deliver it.
        await fail(sessions, item, "no WeCom application configured")
        return 0
    try:
        messages = await _wecom_app_messages(sessions, settings, item)
        # A text over WeCom's 2,048 bytes goes in parts; a retry after a busy answer in the
        # middle sends the parts before it again, which beats sending a push cut short.
        for message in messages:
            answer = await state.wecom.send(item.target, message)
            if item.target in answer.invalid_users:
                raise WeComError(60111, "WeCom does not know this user id")
    except NotSent as err:
        await fail(sessions, item, str(err))
        return 0
    except WeComBusy as err:
        await _refused_by_wecom(sessions, item, str(err), busy_for=err.retry_after, dead=False)
        return 0
    except WeComError as err:
        logger.warning("push %s refused by WeCom: %s", item.key, err)
        dead = err.errcode in WECOM_UNKNOWN_USER
        await _refused_by_wecom(sessions, item, str(err), busy_for=None, dead=dead)
        return 0
    except Exception as err:
        logger.exception("push %s failed", item.key)
        await retry(sessions, item, repr(err))
        return 0
    return await record_sent(sessions, item, slot, len(messages))


async def _wecom_app_messages(
    sessions: Sessions, settings: Settings, item: OutboxItem
) -> list[TextMessage | ButtonCard]:
    """The push worded for its person, in messages within WeCom's text limit; a push about
    one hidden danger ends with a card whose button opens it, as on Telegram."""
    _ = Translator(await language_of(sessions, settings, Account.wecom(item.target)))
    payload = payload_of(item)
    if isinstance(payload, ReportCardPush):
        async with sessions() as session:
            card = await danger_card(session, payload.danger_id)
        return [TextMessage(t) for t in text_pieces(report_card(_, card))]
    text = telegram_text(_, payload)
    messages: list[TextMessage | ButtonCard] = [TextMessage(t) for t in text_pieces(text)]
    rows = push_buttons(_, payload)
    if len(rows) == 1:  # a reminder of several names them in its text; /mine opens them
        [button] = rows[0]
        title = shorten(text.split("\n")[0], CARD_TITLE_LIMIT)
        messages.append(
            ButtonCard(
                title=title,
                description="",
                buttons=[CardButton(shorten(button.label, BUTTON_TEXT_LIMIT), button.action)],
                task_id="hd" + secrets.token_hex(16),
            )
        )
    return messages


async def _refused_by_wecom(
    sessions: Sessions,
    item: OutboxItem,
    error: str,
    *,
    busy_for: float | None,
    dead: bool,
    on_dead: Callable[[AsyncSession], Awaitable[None]] | None = None,
) -> None:
    """What WeCom's refusal of a push means, for its robots and its application alike.

    Busy: wait `busy_for` seconds without spending an attempt. A dead address (a robot's key,
    a person WeCom does not know): failed for good, and `on_dead` switches it off. Anything
    else: retried with backoff, and given up after the last attempt.
    """
    if busy_for is not None:
        async with sessions() as session:
            until = utcnow() + timedelta(seconds=busy_for)
            await defer(session, item_id=item.id, until=until, note=error)
    elif dead:
        # One transaction: the push fails and its address is switched off together.
        async with sessions() as session:
            await mark_failed(session, item_id=item.id, error=error)
            if on_dead is not None:
                await on_dead(session)
    else:
        await retry(sessions, item, error)
