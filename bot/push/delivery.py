"""What every channel's delivery of a push shares: its pacing key, its recipient's language,
and how an attempt ends (sent, failed for good, retried with backoff)."""

from __future__ import annotations

from datetime import timedelta

from bot.config import Settings
from bot.push.pacing import Slot
from storage.accounts import Account
from storage.db import Sessions, reading
from storage.models import Channel
from storage.people import who_is
from storage.pushes import OutboxItem, mark_failed, mark_retry, mark_sent


class NotSent(Exception):
    """A push that must not go out (its person was deactivated since it was queued)."""


def chat_key(item: OutboxItem) -> str | None:
    """The chat whose per-minute limit a push counts against (groups, robots, and people on
    the WeCom application, which WeCom limits per person)."""
    if item.channel == Channel.WECOM:
        return f"wecom:{item.target}"
    if item.channel == Channel.WECOM_APP:
        return f"wecom_app:{item.target}"
    return item.target if item.target.startswith("-") else None


async def language_of(sessions: Sessions, settings: Settings, account: Account) -> str:
    """The language of a push to one person: theirs, else the deployment's.

    Raises NotSent for a person deactivated since the push was queued.
    """
    async with reading(sessions)() as session:
        visitor = await who_is(session, account)
    if visitor.user is not None and not visitor.user.active:
        raise NotSent("the person was deactivated: notices go to active people only")
    return visitor.language or settings.language


async def record_sent(sessions: Sessions, item: OutboxItem, slot: Slot, messages: int = 1) -> int:
    """Count the messages against the push's chat and mark it sent; return 1 (one push out)."""
    slot.sent(chat_key(item), messages)
    async with sessions() as session:
        await mark_sent(session, item_id=item.id)
    return 1


async def fail(sessions: Sessions, item: OutboxItem, error: str) -> None:
    """Mark the push failed for good."""
    async with sessions() as session:
        await mark_failed(session, item_id=item.id, error=error)


async def retry(sessions: Sessions, item: OutboxItem, error: str, *, give_up: bool = True) -> None:
    """Back off 2, 4, 8 … seconds, at most five minutes."""
    delay = timedelta(seconds=min(300, 2 ** min(item.attempts + 1, 9)))
    async with sessions() as session:
        await mark_retry(session, item_id=item.id, error=error, delay=delay, give_up=give_up)
