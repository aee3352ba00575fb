"""Translations: gettext catalogues in locales/, one per language, chosen per person."""

from __future__ import annotations

import gettext
import io
import logging
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from storage.errors import N_, DomainError
from storage.languages import CHINESE, DEFAULT_LANGUAGE, ENGLISH, LANGUAGES

__all__ = ["N_", "Translator", "language_for", "translations"]

logger = logging.getLogger(__name__)

DOMAIN = "hdbot"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


def language_for(
    *, chosen: str | None, telegram_code: str | None, default: str = DEFAULT_LANGUAGE
) -> str:
    """Pick a person's language: their choice, else Telegram's code (zh* → zh_CN), else default."""
    if chosen is not None and chosen in LANGUAGES:
        return chosen
    if telegram_code:
        return CHINESE if telegram_code.lower().startswith("zh") else ENGLISH
    return default


@cache
def translations(language: str) -> gettext.NullTranslations:
    """Load the compiled catalogue, compiling the .po in memory when the .mo is missing or stale."""
    base = LOCALES_DIR / language / "LC_MESSAGES"
    po, mo = base / f"{DOMAIN}.po", base / f"{DOMAIN}.mo"
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fh:
            return gettext.GNUTranslations(fh)
    if po.is_file():
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=language)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return gettext.GNUTranslations(buffer)
    logger.warning("no catalogue for %s under %s; showing message ids", language, base)
    return gettext.NullTranslations()


class Translator:
    """The gettext functions of one language, with str.format placeholders."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._t = translations(language)

    def __call__(self, message: str, /, **params: Any) -> str:
        text = self._t.gettext(message)
        return text.format(**params) if params else text

    def plural(self, singular: str, plural: str, n: int, /, **params: Any) -> str:
        return self._t.ngettext(singular, plural, n).format(n=n, **params)

    def error(self, err: DomainError) -> str:
        """Word a domain error in this language."""
        return self(err.key, **err.params)
