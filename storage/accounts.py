"""Who is writing: a person as one front knows them — a Telegram user id or a WeCom user id.

Every domain operation takes an `Account`, so the same rules serve every front; one person may
hold a Telegram and a WeCom account and sees the same records through either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from sqlalchemy import ColumnElement

from storage.errors import N_, Invalid
from storage.models import Channel, User


class Front(StrEnum):
    TELEGRAM = "telegram"
    WECOM = "wecom"


# WeCom's user ids (账号): 1–64 letters, digits and "_-.@" (the admin console's rule).
_WECOM_USER_ID = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_LARGEST_TELEGRAM_ID = 2**52  # Telegram's ids fit 52 bits


@dataclass(frozen=True, slots=True)
class Account:
    """A person's address on one front."""

    front: Front
    key: str

    @classmethod
    def telegram(cls, telegram_id: int) -> Account:
        """The account of a Telegram user id."""
        if not 0 < telegram_id < _LARGEST_TELEGRAM_ID:
            raise Invalid(
                N_("A Telegram user id is a positive number, not {value}."), value=telegram_id
            )
        return cls(Front.TELEGRAM, str(telegram_id))

    @classmethod
    def wecom(cls, user_id: str) -> Account:
        """The account of a WeCom user id (the 账号 of the corp's address book)."""
        if not _WECOM_USER_ID.fullmatch(user_id):
            raise Invalid(
                N_("A WeCom user id is 1–64 letters, digits or _-.@, not {value}."),
                value=user_id[:80],
            )
        return cls(Front.WECOM, user_id)

    @property
    def telegram_id(self) -> int | None:
        return int(self.key) if self.front == Front.TELEGRAM else None

    @property
    def wecom_user_id(self) -> str | None:
        return self.key if self.front == Front.WECOM else None

    def of_user(self) -> ColumnElement[bool]:
        """The condition that picks this account's person from the users."""
        if self.front == Front.TELEGRAM:
            return User.telegram_id == int(self.key)
        return User.wecom_user_id == self.key

    @property
    def actor(self) -> str:
        """How the audit trail names whoever acted through this account."""
        # Telegram ids stand alone, as in every event written before WeCom came.
        return self.key if self.front == Front.TELEGRAM else f"wecom:{self.key}"

    def __str__(self) -> str:
        return self.actor


class Reachable(Protocol):
    """Whatever names a person's accounts: a user row, a `UserInfo`, a selected row."""

    @property
    def telegram_id(self) -> int | None: ...

    @property
    def wecom_user_id(self) -> str | None: ...


def accounts_of(user: Reachable) -> list[Account]:
    """Every account a person can be reached at, Telegram first."""
    found = []
    if user.telegram_id is not None:
        found.append(Account(Front.TELEGRAM, str(user.telegram_id)))
    if user.wecom_user_id is not None:
        found.append(Account(Front.WECOM, user.wecom_user_id))
    return found


@dataclass(frozen=True, slots=True)
class PushAddress:
    """Where a push to one person goes: a channel and the target on it."""

    channel: Channel
    target: int | str


def push_address(person: Reachable) -> PushAddress:
    """Where pushes to this person go: Telegram when they have it, else the WeCom application."""
    # Telegram first: the pushes queued before WeCom came are keyed `tg:ID:…`, and a person's
    # reminder or notice must keep its key across the upgrade so that none goes out twice.
    if person.telegram_id is not None:
        return PushAddress(Channel.TELEGRAM, person.telegram_id)
    if person.wecom_user_id is not None:
        return PushAddress(Channel.WECOM_APP, person.wecom_user_id)
    # The has_account check of app_user rules this out for every stored person.
    raise ValueError("a person without any account cannot be reached")
