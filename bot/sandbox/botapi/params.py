"""Request parameters read the way the Bot API reads them: typed on access, any encoding.

A parameter can arrive in the query string, a JSON body, a urlencoded form or a multipart
form. In forms every value is a string, and clients such as python-telegram-bot JSON-encode
the non-string ones (``reply_markup``, ``media``, booleans, numbers), so a value is only
given a type when a method asks for it — just as Telegram's server does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .state import bad_request


@dataclass(frozen=True)
class Upload:
    """A file uploaded as a multipart part."""

    data: bytes
    filename: str | None
    content_type: str | None


class Params:
    """The parameters of one call, with typed accessors that answer 400 on bad values."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload]) -> None:
        self._values = {k: v for k, v in values.items() if v is not None}
        self._uploads = uploads

    def __contains__(self, name: str) -> bool:
        return name in self._values or name in self._uploads

    def __repr__(self) -> str:
        return f"Params({self._values!r}, uploads={sorted(self._uploads)})"

    def text(self, name: str) -> str | None:
        value = self._values.get(name)
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value) if isinstance(value, dict | list) else str(value)

    def integer(self, name: str) -> int | None:
        value = self._values.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be of type Integer') from None

    def number(self, name: str) -> float | None:
        value = self._values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be of type Float') from None

    def flag(self, name: str) -> bool:
        value = self._values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def json(self, name: str, what: str | None = None) -> Any:
        """A JSON-valued parameter (object or array), decoded if it came as a string."""
        value = self._values.get(name)
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what or name} JSON object") from None

    def chat_id(self, name: str = "chat_id") -> int | str | None:
        """A chat id (integer) or "@username", without checking that the chat exists."""
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str) and value.startswith("@"):
            return value
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None

    def upload(self, name: str) -> Upload | None:
        return self._uploads.get(name)

    def require(self, name: str) -> None:
        """Refuse the call when a required parameter is missing, in Telegram's words."""
        if name not in self or self._values.get(name) == "":
            raise bad_request(f'parameter "{name}" is required')
