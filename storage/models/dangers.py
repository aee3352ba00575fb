"""Hidden dangers and what hangs on them: numbers, tallies, drafts, photos, rectifications,
extensions."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.clock import utcnow
from storage.models.base import Base, empty_json


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


class PhotoStage(StrEnum):
    BEFORE = "before"
    AFTER = "after"
    # Sent while a report was open, kept with it until its reporter says whether the photos
    # join it or begin a new report.
    HELD = "held"


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
        # A person's latest reports, newest first: what a new report's guesses look back on.
        Index("ix_hidden_danger_reporter_created", "reporter_id", "created_at", "id"),
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
    data: Mapped[dict[str, Any]] = mapped_column(default=empty_json)
    danger_id: Mapped[int | None] = mapped_column(ForeignKey("hidden_danger.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Photo(Base):
    __tablename__ = "photo"
    __table_args__ = (
        Index("ix_photo_user_created", "user_id", "created_at"),
        # Only photos still in a draft: nearly every photo has left its draft for a hidden
        # danger, and an index of a million NULLs tells SQLite's planner (after ANALYZE) that
        # a draft's photos are a million rows, so it scans the table instead.
        Index(
            "ix_photo_draft_id",
            "draft_id",
            sqlite_where=text("draft_id IS NOT NULL"),
            postgresql_where=text("draft_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    danger_id: Mapped[int | None] = mapped_column(ForeignKey("hidden_danger.id"), index=True)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("draft.id"))
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
    measures: Mapped[dict[str, Any]] = mapped_column(default=empty_json)
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
