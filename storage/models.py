"""SQLAlchemy models: the campaign's tables, portable between SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.clock import utcnow


def _empty() -> dict[str, Any]:
    return {}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; hdbot stores aware UTC times")
        value = value.astimezone(UTC)
        # SQLite keeps the text; strip the zone so comparisons stay lexical and uniform.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Role(StrEnum):
    INSPECTOR = "inspector"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class UnitKind(StrEnum):
    REGION = "region"
    DEPARTMENT = "department"


class TaskSource(StrEnum):
    STATE_COUNCIL = "state_council"
    PROVINCIAL = "provincial"
    MUNICIPAL = "municipal"
    ENTERPRISE = "enterprise"
    INSTITUTIONAL = "institutional"


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


class RecordKind(StrEnum):
    HIDDEN_DANGER = "hidden_danger"
    PROBLEM = "problem"
    RISK = "risk"


class DangerLevel(StrEnum):
    GENERAL = "general"
    MAJOR = "major"
    # risk levels, for the "risks" list
    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"
    BLUE = "blue"


class DangerStatus(StrEnum):
    REPORTED = "reported"
    RECTIFYING = "rectifying"
    SUBMITTED = "submitted"
    CLOSED = "closed"


class DraftStatus(StrEnum):
    OPEN = "open"
    SUBMITTED = "submitted"
    DISCARDED = "discarded"


class SubscriptionKind(StrEnum):
    COUNTDOWN = "countdown"
    OVERDUE = "overdue"
    REPORTS = "reports"


class PhotoStage(StrEnum):
    BEFORE = "before"
    AFTER = "after"


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


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Campaign(Base):
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    closing_date: Mapped[date] = mapped_column(Date)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Unit(Base):
    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Field(Base):
    """A special rectification field (hazardous chemicals, transportation, …)."""

    __tablename__ = "field"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Task(Base):
    __tablename__ = "task"
    __table_args__ = (UniqueConstraint("campaign_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(40))
    field_id: Mapped[int] = mapped_column(ForeignKey("field.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=TaskStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class User(Base):
    """A registered person, reachable on Telegram, on WeCom, or both (storage/accounts.py)."""

    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint("telegram_id IS NOT NULL OR wecom_user_id IS NOT NULL", name="has_account"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    # The user id (账号) in the corp's WeCom address book.
    wecom_user_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LanguageChoice(Base):
    """The language a person chose with /lang; kept apart from User so visitors can choose too."""

    __tablename__ = "language_choice"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    language: Mapped[str] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Invite(Base):
    __tablename__ = "invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupChat(Base):
    __tablename__ = "group_chat"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NumberSequence(Base):
    """The last number handed out per prefix and year, so numbers are never reused."""

    __tablename__ = "number_sequence"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class HiddenDanger(Base):
    __tablename__ = "hidden_danger"
    __table_args__ = (
        Index("ix_hidden_danger_status_deadline", "status", "deadline"),
        # The lists and the figures (migration 0008): a unit's, a reporter's and a responsible
        # person's records by status and deadline; found and closed by date. Kind and campaign
        # ride along so that counts never read the rows.
        Index(
            "ix_hidden_danger_unit_status_deadline",
            *("unit_id", "status", "deadline", "kind", "campaign_id"),
        ),
        Index("ix_hidden_danger_reporter_status_deadline", "reporter_id", "status", "deadline"),
        Index(
            "ix_hidden_danger_responsible_status_deadline", "responsible_id", "status", "deadline"
        ),
        Index("ix_hidden_danger_unit_created", "unit_id", "created_at", "kind", "campaign_id"),
        Index("ix_hidden_danger_unit_closed", "unit_id", "closed_at", "kind", "campaign_id"),
        Index("ix_hidden_danger_created_at", "created_at", "kind", "campaign_id"),
        Index("ix_hidden_danger_closed_at", "closed_at", "kind", "campaign_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    kind: Mapped[str] = mapped_column(String(20), default=RecordKind.HIDDEN_DANGER)
    level: Mapped[str] = mapped_column(String(20), default=DangerLevel.GENERAL)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    site: Mapped[str] = mapped_column(String(300))
    field_id: Mapped[int] = mapped_column(ForeignKey("field.id"))
    description: Mapped[str] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(500))
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=DangerStatus.REPORTED)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None]


class DangerTally(Base):
    """How many hidden dangers each unit has of each kind, level and status, and the days they
    took to close: kept by database triggers (migration 0008) on every change of a hidden
    danger, so the countdown and the statistics read a few rows instead of the ledger."""

    __tablename__ = "danger_tally"

    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    level: Mapped[str] = mapped_column(String(20), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    closed_days: Mapped[float] = mapped_column(Float)


class DraftFlow(StrEnum):
    REPORT = "report"  # a new hidden danger, problem or risk
    ACTION = "action"  # a step of the closed loop that needs typing (rectify, reject, …)


class Draft(Base):
    """Something a person is writing: its step and answers, saved with every step answered."""

    __tablename__ = "draft"
    __table_args__ = (
        # At most one open draft per person and flow, enforced by the database itself.
        Index(
            "uq_draft_open_user",
            "user_id",
            "flow",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    flow: Mapped[str] = mapped_column(String(10), default=DraftFlow.REPORT)
    kind: Mapped[str] = mapped_column(String(20), default=RecordKind.HIDDEN_DANGER)
    status: Mapped[str] = mapped_column(String(20), default=DraftStatus.OPEN)
    step: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(default=_empty)
    danger_id: Mapped[int | None] = mapped_column(ForeignKey("hidden_danger.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


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


class Photo(Base):
    __tablename__ = "photo"
    __table_args__ = (Index("ix_photo_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    danger_id: Mapped[int | None] = mapped_column(ForeignKey("hidden_danger.id"), index=True)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("draft.id"), index=True)
    phash: Mapped[int | None] = mapped_column(BigInteger)
    # "photo" (Telegram compressed it) or "document" (sent as a file, EXIF kept); Telegram
    # will not send a document's file id as a photo, so cards upload those from the store.
    source: Mapped[str] = mapped_column(String(10), default="photo")
    rectification_id: Mapped[int | None] = mapped_column(ForeignKey("rectification.id"))
    stage: Mapped[str] = mapped_column(String(10), default=PhotoStage.BEFORE)
    file_id: Mapped[str] = mapped_column(String(255))
    file_unique_id: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    path: Mapped[str] = mapped_column(String(500))
    thumb_path: Mapped[str | None] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    exif_time: Mapped[datetime | None]
    exif_lat: Mapped[float | None] = mapped_column(Float)
    exif_lon: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who sent it (a person's uploads a day are capped; None for photos from before 0005).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class Event(Base):
    """The audit trail: one row per change, never edited or deleted."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    danger_id: Mapped[int | None] = mapped_column(ForeignKey("hidden_danger.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=_empty)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


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
    payload: Mapped[dict[str, Any]] = mapped_column(default=_empty)
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


class Verdict(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


class ExtensionStatus(StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    REFUSED = "refused"


class Rectification(Base):
    """One round of rectification: after-photos, a note, the five items for a major one."""

    __tablename__ = "rectification"

    id: Mapped[int] = mapped_column(primary_key=True)
    danger_id: Mapped[int] = mapped_column(ForeignKey("hidden_danger.id"), index=True)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    # 五落实 for a major hidden danger: responsibility, measures, funds, time limit, plan.
    measures: Mapped[dict[str, Any]] = mapped_column(default=_empty)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    verdict: Mapped[str | None] = mapped_column(String(20))
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    verified_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)


class ExtensionRequest(Base):
    """An inspector's request for a later deadline, and a supervisor's decision."""

    __tablename__ = "extension_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    danger_id: Mapped[int] = mapped_column(ForeignKey("hidden_danger.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    reason: Mapped[str] = mapped_column(Text)
    old_deadline: Mapped[date] = mapped_column(Date)
    new_deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=ExtensionStatus.PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Setting(Base):
    """Small facts the deployment learns at run time (e.g. the bot's username)."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
