"""Secrets never reach a log line, a traceback or a repr: they are cut out where text is made.

python-telegram-bot logs the Bot API URL (which holds the token) at DEBUG, httpx and aiohttp
name URLs in their errors, a WeCom robot's key is part of its URL. Rather than hope every
caller is careful, the log formatter replaces anything shaped like a secret, and the secrets
this process knows, wherever they appear.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# A Telegram bot token: the bot's id, a colon, 35 characters of base64url.
TOKEN = re.compile(r"\b\d{5,16}:[A-Za-z0-9_-]{30,}")
# A WeCom robot's key in a webhook URL, and a WeCom application's access token.
WECOM_KEY = re.compile(r"(?i)\b(key|access_token|corpsecret)=[A-Za-z0-9_\-]{8,}")
HIDDEN = "«hidden»"


def redact(text: str, known: Iterable[str] = ()) -> str:
    """The text with every token, key and known secret replaced."""
    for secret in known:
        if secret and len(secret) >= 8:
            text = text.replace(secret, HIDDEN)
    text = TOKEN.sub(HIDDEN, text)
    return WECOM_KEY.sub(lambda m: f"{m.group(1)}={HIDDEN}", text)


class RedactingFormatter(logging.Formatter):
    """A formatter whose every line (message and traceback alike) has its secrets removed."""

    def __init__(self, fmt: str, known: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self.known = [k for k in known if k]

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.known)


def install(known: Iterable[str], *, level: int) -> None:
    """Log to stderr through the redacting formatter (replacing any earlier set-up)."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", known)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
