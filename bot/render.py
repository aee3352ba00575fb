"""Words for the campaign's codes (roles, statuses, levels) in a person's language."""

from __future__ import annotations

from bot.i18n import N_, Translator

ROLE_NAMES = {
    "inspector": N_("inspector"),
    "supervisor": N_("supervisor"),
    "admin": N_("administrator"),
}


def role_name(_: Translator, role: str) -> str:
    """Return the role's name in the translator's language."""
    return _(ROLE_NAMES[role]) if role in ROLE_NAMES else role
