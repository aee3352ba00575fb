"""The campaign and its units, fields and tasks; the deployment's settings and the audit trail."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.clock import utcnow
from storage.models.base import Base, empty_json


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


class Campaign(Base):
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    closing_date: Mapped[date] = mapped_column(Date)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # The deadline a report gets unless its reporter picks another, in days from the day it
    # is reported, by level: the summary card shows it, one tap changes it.
    deadline_days_general: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    deadline_days_major: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
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


class Setting(Base):
    """Small facts the deployment learns at run time (e.g. the bot's username)."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Event(Base):
    """The audit trail: one row per change, never edited or deleted."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    danger_id: Mapped[int | None] = mapped_column(ForeignKey("hidden_danger.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=empty_json)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
