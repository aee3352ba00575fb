"""Scheduled pushes: who subscribes to what, the outbox, and the WeCom robots pushed to."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.clock import utcnow
from storage.models.base import Base, empty_json


class SubscriptionKind(StrEnum):
    COUNTDOWN = "countdown"
    OVERDUE = "overdue"
    REPORTS = "reports"


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    EXPIRED = "expired"  # a daily push whose day (and catch-up window) passed unsent


class Channel(StrEnum):
    TELEGRAM = "telegram"
    WECOM = "wecom"  # a WeCom group robot (a push target)
    # A message through the WeCom application to one person's user id: delivered by the WeCom
    # front's sender, not by the robots' webhook.
    WECOM_APP = "wecom_app"


class Subscription(Base):
    """A group's wish to receive one kind of push (reports, countdown, overdue)."""

    __tablename__ = "subscription"
    __table_args__ = (UniqueConstraint("group_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("group_chat.id"))
    kind: Mapped[str] = mapped_column(String(20))
    at_time: Mapped[str | None] = mapped_column(String(5))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Outbox(Base):
    """A push to send: written first under a unique key, then drained by a sender."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_not_before", "status", "not_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    channel: Mapped[str] = mapped_column(String(20), default=Channel.TELEGRAM)
    target: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(default=empty_json)
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    # Yesterday's countdown is not news: a daily push is dropped, not sent, after this.
    expires_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PushTarget(Base):
    """A push destination outside Telegram: a WeCom group robot (its webhook key) for a unit."""

    __tablename__ = "push_target"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), default=Channel.WECOM)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    # The robot's webhook key is a secret: whoever holds it can post to the group.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kinds: Mapped[str] = mapped_column(String(100), default="countdown,overdue")
    at_time: Mapped[str] = mapped_column(String(5), default="09:00")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
