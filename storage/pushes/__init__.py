"""Pushes: what is due when, and the outbox that sends each of them once.

`figure_payloads` computes what a push shows (the countdown, the overdue lists); `due`
decides what is due at a tick (countdowns, reminders, digests, escalations) and queues it
under a unique key, with `daily`'s pushes to people (reminders, digests, escalations);
`outbox` queues, claims, retries and forgets; `dead_targets` turns off a
chat or robot that stopped taking pushes; `targets` keeps the WeCom robots and the
operator's view of the outbox.
"""

from storage.pushes.daily import REMIND_BEFORE
from storage.pushes.dead_targets import (
    WecomTarget,
    deactivate_chat,
    deactivate_target,
    wecom_target,
)
from storage.pushes.due import (
    COMMIT_EVERY,
    YIELD_SECONDS,
    PushRules,
    Queued,
    enqueue_due,
)
from storage.pushes.figure_payloads import (
    DIGEST_ITEMS,
    countdown_data,
    countdown_now,
    overdue_data,
)
from storage.pushes.outbox import (
    CLAIM_TIMEOUT,
    KEEP_DONE,
    MAX_ATTEMPTS,
    SENDER_LOCK,
    OutboxItem,
    claim_due,
    count_waiting,
    defer,
    enqueue,
    forget_done,
    mark_failed,
    mark_retry,
    mark_sent,
    outbox_key,
    release_claims_of_the_dead,
    retarget,
    sender_lease,
)
from storage.pushes.targets import (
    OutboxSummary,
    TargetInfo,
    add_wecom_target,
    list_targets,
    outbox_summary,
    remove_target,
)

__all__ = [
    "CLAIM_TIMEOUT",
    "COMMIT_EVERY",
    "DIGEST_ITEMS",
    "KEEP_DONE",
    "MAX_ATTEMPTS",
    "REMIND_BEFORE",
    "SENDER_LOCK",
    "YIELD_SECONDS",
    "OutboxItem",
    "OutboxSummary",
    "PushRules",
    "Queued",
    "TargetInfo",
    "WecomTarget",
    "add_wecom_target",
    "claim_due",
    "count_waiting",
    "countdown_data",
    "countdown_now",
    "deactivate_chat",
    "deactivate_target",
    "defer",
    "enqueue",
    "enqueue_due",
    "forget_done",
    "list_targets",
    "mark_failed",
    "mark_retry",
    "mark_sent",
    "outbox_key",
    "outbox_summary",
    "overdue_data",
    "release_claims_of_the_dead",
    "remove_target",
    "retarget",
    "sender_lease",
    "wecom_target",
]
