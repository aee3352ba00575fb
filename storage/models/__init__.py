"""SQLAlchemy models: the campaign's tables, portable between SQLite and PostgreSQL.

One module per idea; every model is exported here, so `from storage.models import X` works
wherever X lives, and `Base.metadata` holds every table once this package is imported.
"""

from storage.models.base import NAMING, Base, UTCDateTime
from storage.models.campaign import (
    Campaign,
    Event,
    Field,
    Setting,
    Task,
    TaskSource,
    TaskStatus,
    Unit,
    UnitKind,
)
from storage.models.dangers import (
    DangerLevel,
    DangerStatus,
    DangerTally,
    Draft,
    DraftFlow,
    DraftStatus,
    ExtensionRequest,
    ExtensionStatus,
    HiddenDanger,
    NumberSequence,
    Photo,
    PhotoStage,
    RecordKind,
    Rectification,
    Verdict,
)
from storage.models.intake import Album, InboxUpdate, ProcessedUpdate, WeComInbox
from storage.models.people import GroupChat, Invite, LanguageChoice, Role, User
from storage.models.pushes import (
    Channel,
    Outbox,
    OutboxStatus,
    PushTarget,
    Subscription,
    SubscriptionKind,
)

__all__ = [
    "NAMING",
    "Album",
    "Base",
    "Campaign",
    "Channel",
    "DangerLevel",
    "DangerStatus",
    "DangerTally",
    "Draft",
    "DraftFlow",
    "DraftStatus",
    "Event",
    "ExtensionRequest",
    "ExtensionStatus",
    "Field",
    "GroupChat",
    "HiddenDanger",
    "InboxUpdate",
    "Invite",
    "LanguageChoice",
    "NumberSequence",
    "Outbox",
    "OutboxStatus",
    "Photo",
    "PhotoStage",
    "ProcessedUpdate",
    "PushTarget",
    "RecordKind",
    "Rectification",
    "Role",
    "Setting",
    "Subscription",
    "SubscriptionKind",
    "Task",
    "TaskSource",
    "TaskStatus",
    "UTCDateTime",
    "Unit",
    "UnitKind",
    "User",
    "Verdict",
    "WeComInbox",
]
