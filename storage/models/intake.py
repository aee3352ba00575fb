"""How updates arrive: the inbox, albums being collected, the WeCom inbox, updates handled once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.clock import utcnow
from storage.models.base import Base


class InboxUpdate(Base):
    """An update received and not yet handled: replayed after a crash (bot/intake/inbox.py)."""

    __tablename__ = "inbox_update"
    __table_args__ = (
        # Webhook processes side by side: an update waits for the earlier ones of its sender
        # and of its chat, wherever they are (bot/intake/inbox_order.py).
        Index("ix_inbox_update_sender", "sender_id", "update_id"),
        Index("ix_inbox_update_chat", "chat_id", "update_id"),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Times it was handed to another process: one that kills the process every time is
    # given up.
    replays: Mapped[int] = mapped_column(Integer, default=0)
    # The process that took it (storage/turns.py, ProcessMark): handled by another only once
    # that process is gone.
    receiver: Mapped[int] = mapped_column(Integer, default=0)
    # Whose order it belongs to: the sender's Telegram id and the chat's (either may be
    # missing, as for a poll's answer).
    sender_id: Mapped[int | None] = mapped_column(BigInteger)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)


class Album(Base):
    """A media group being received: which update brought its latest photo, and whether the
    album was answered. Its photos may reach several processes; it is answered once, when it
    has gone quiet, by the process that handled the latest (storage/albums.py)."""

    __tablename__ = "album"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    media_group_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sender_id: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(10))
    # 0 until a photo of it is kept (an album at the wrong step is only hinted at).
    last_update_id: Mapped[int] = mapped_column(BigInteger, default=0)
    # The process that handled the latest photo (storage/turns.py, ProcessMark).
    receiver: Mapped[int] = mapped_column(Integer, default=0)
    # The latest photo's update when the answer went out: answered while the two are equal.
    answered_update_id: Mapped[int | None] = mapped_column(BigInteger)
    hinted: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class WeComInbox(Base):
    """A WeCom callback received: kept before WeCom is answered, handled once (its key is the
    message id, or sender and time for events, so WeCom's retries are recognised)."""

    __tablename__ = "wecom_inbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    wecom_user_id: Mapped[str] = mapped_column(String(64), index=True)
    message: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(index=True)


class ProcessedUpdate(Base):
    """Telegram update ids already acted on, so a redelivered update changes nothing."""

    __tablename__ = "processed_update"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
