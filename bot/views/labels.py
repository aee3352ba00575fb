"""Words for the campaign's codes (roles, fields, levels, statuses) in a person's language,
and the choice of that language."""

from __future__ import annotations

from bot.i18n import N_, Translator
from bot.views.reply import Button, Edit, Say
from storage.dto import FieldInfo
from storage.languages import CHINESE, LANGUAGES

ROLE_NAMES = {
    "inspector": N_("inspector"),
    "supervisor": N_("supervisor"),
    "admin": N_("administrator"),
}

LEVEL_NAMES = {
    "general": N_("General hidden danger"),
    "major": N_("Major hidden danger"),
    "red": N_("🔴 Red (major risk)"),
    "orange": N_("🟠 Orange (high risk)"),
    "yellow": N_("🟡 Yellow (moderate risk)"),
    "blue": N_("🔵 Blue (low risk)"),
}

STATUS_NAMES = {
    "reported": N_("reported"),
    "rectifying": N_("rectifying"),
    "submitted": N_("awaiting verification"),
    "closed": N_("closed"),
}

SOURCE_NAMES = {
    "state_council": N_("State Council: 15 measures"),
    "provincial": N_("Province: 50 measures"),
    "municipal": N_("City: 66 tasks"),
    "enterprise": N_("Enterprise main responsibility: 48 tasks"),
    "institutional": N_("Institutional measures: 13"),
}

KIND_NAMES = {
    "hidden_danger": N_("Hidden danger"),
    "problem": N_("Outstanding problem"),
    "risk": N_("Risk"),
}


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int) -> str:
    """Cut text to at most `limit` Telegram characters, marking the cut with "…"."""
    if telegram_length(text) <= limit:
        return text
    out = []
    used = 1  # the ellipsis
    for char in text:
        size = telegram_length(char)
        if used + size > limit:
            break
        out.append(char)
        used += size
    return "".join(out) + "…"


def rate_text(rate: int, found: int | None) -> str:
    """A rectification rate: "—" where nothing was found (no rate to speak of, not "100%")."""
    return "—" if found == 0 else f"{rate}%"


def role_name(_: Translator, role: str) -> str:
    """Return the role's name in the translator's language."""
    return _(ROLE_NAMES[role]) if role in ROLE_NAMES else role


def level_name(_: Translator, level: str) -> str:
    """Return a hidden danger's or risk's level in words."""
    return _(LEVEL_NAMES[level]) if level in LEVEL_NAMES else level


def status_name(_: Translator, status: str) -> str:
    """Return a hidden danger's status in words."""
    return _(STATUS_NAMES[status]) if status in STATUS_NAMES else status


def kind_name(_: Translator, kind: str) -> str:
    """Return the record kind in words."""
    return _(KIND_NAMES[kind]) if kind in KIND_NAMES else kind


def field_name(_: Translator, field: FieldInfo) -> str:
    """Return the field's name in the translator's language (stored in both)."""
    return field.name_zh if _.language == CHINESE else field.name_en


def language_choice(_: Translator) -> Say:
    """Offer every language, each named in itself."""
    names = tuple(Button(name, f"lang:{code}") for code, name in LANGUAGES.items())
    return Say(_("Choose your language:"), (names,))


def language_chosen(_: Translator) -> Edit:
    """Confirm the choice in the chosen language, in place of the offer."""
    return Edit(text=_("Language set: English."))
