"""Domain errors: a translation key and its placeholders, so every front words them itself."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule said no. `key` names the message; `params` fill it in."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key, params)
        self.key = key
        self.params = params

    def __str__(self) -> str:
        if not self.params:
            return self.key
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.key} ({args})"


class NotFound(DomainError):
    """The thing named does not exist."""


class Invalid(DomainError):
    """The input breaks a rule."""


def N_(message: str) -> str:
    """Mark a message for translation without translating it (storage knows no language)."""
    return message
