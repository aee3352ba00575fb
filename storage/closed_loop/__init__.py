"""The closed loop: reported → rectifying → submitted → closed, and back when rejected.

Every change is checked against `storage.permissions` on the server, made with a conditional
UPDATE (so of two people acting at once only one wins), written with its audit event, and
announced through the outbox, all in one transaction. Steps that need typing (a rejection's
reason, the after-photos of a rectification, an extension's date) are kept in an action
draft, like a report's, so they survive a restart too.

Rooms: `replies` (what operations return), `detail` (one danger as a person sees it),
`actions` (one-tap actions), `drafts` (typed actions begun, shown, cancelled), `answers`
(their steps), `finish` (each action carried out at the last step), `changes` (the
conditional UPDATE, the audit event, the notice).
"""

from storage.closed_loop.actions import act
from storage.closed_loop.answers import MAX_MEASURE, MAX_NOTE, MAX_REASON, answer_action
from storage.closed_loop.detail import danger_detail
from storage.closed_loop.drafts import ACTION_STEPS, FIVE_ITEMS, cancel_action, current_action
from storage.closed_loop.replies import (
    ActionDraftView,
    DangerDetail,
    ExtensionInfo,
    HistoryEntry,
    LoopReply,
    LoopRules,
    RoundInfo,
)

__all__ = [
    "ACTION_STEPS",
    "FIVE_ITEMS",
    "MAX_MEASURE",
    "MAX_NOTE",
    "MAX_REASON",
    "ActionDraftView",
    "DangerDetail",
    "ExtensionInfo",
    "HistoryEntry",
    "LoopReply",
    "LoopRules",
    "RoundInfo",
    "act",
    "answer_action",
    "cancel_action",
    "current_action",
    "danger_detail",
]
