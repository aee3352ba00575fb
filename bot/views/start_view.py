"""The first things a person reads: the welcome, the help, and the hint for strangers.

Every front says the same; where a front differs (WeCom has no invite link to open and no
command menu), the wording names what the person can do there.
"""

from __future__ import annotations

from bot.i18n import Translator
from bot.views.labels import role_name
from storage.accounts import Front
from storage.dto import CampaignInfo, UserInfo


def welcome_text(
    _: Translator,
    *,
    user: UserInfo | None,
    name: str,
    campaign: CampaignInfo | None,
    front: Front = Front.TELEGRAM,
) -> str:
    """Greet a registered person with who they are; tell anybody else how to get in."""
    title = campaign.name if campaign else _("the safety rectification campaign")
    if user is not None and user.active:
        return _(
            "Hello, {name}. You are registered as {role} of {unit} in {campaign}.\n"
            "Send /help to see what you can do.",
            name=name,
            role=role_name(_, user.role),
            unit=user.unit_name or _("the whole campaign"),
            campaign=title,
        )
    if front == Front.WECOM:
        return _(
            "Welcome to hdbot, the hidden-danger reporting bot of {campaign}.\n\n"
            "To use it you need an invite code from your unit's administrator. "
            "Send the code here as a message: it registers you with your role and unit.",
            campaign=title,
        )
    return _(
        "Welcome to hdbot, the hidden-danger reporting bot of {campaign}.\n\n"
        "To use it you need an invite link from your unit's administrator. "
        "Ask them for one and open it on this phone: it registers you with your role "
        "and unit.",
        campaign=title,
    )


def stranger_hint(_: Translator, *, front: Front = Front.TELEGRAM) -> str:
    """What someone not registered is told when they write anything but a way in."""
    if front == Front.WECOM:
        return _(
            "You are not registered yet. Send the invite code your unit's administrator "
            "gave you, or send /help."
        )
    return _(
        "You are not registered yet. Open the invite link your unit's administrator gave you, "
        "or send /help."
    )


def help_text(
    _: Translator, *, registered: bool, in_group: bool = False, front: Front = Front.TELEGRAM
) -> str:
    """Explain what this person can do here, by who they are, where they write and on which
    front (WeCom people send their invite code as text)."""
    if in_group:
        return _(
            "In a group, hdbot posts new hidden-danger reports, the daily countdown to the "
            "campaign's close and overdue digests for the unit the group is bound to.\n"
            "Write to me privately to report a hidden danger."
        )
    if front == Front.WECOM and not registered:
        return _(
            "hdbot logs hidden dangers found in the production-safety rectification "
            "campaign and follows each one until it is rectified, verified and closed.\n\n"
            "Send the invite code from your unit's administrator to register.\n"
            "/lang — 中文 / English\n"
            "/help — this message"
        )
    if not registered:
        return _(
            "hdbot logs hidden dangers found in the production-safety rectification campaign "
            "and follows each one until it is rectified, verified and closed.\n\n"
            "/start — register with the invite link from your unit's administrator\n"
            "/lang — 中文 / English\n"
            "/help — this message"
        )
    what = _(
        "hdbot logs hidden dangers and follows each one until it is rectified, verified "
        "and closed.\n\n"
        "/report — log a hidden danger: task, site, field, description, photos, "
        "location, level, deadline\n"
        "/mine — what you reported or answer for (supervisors: your units)\n"
        "/overdue — what is past its deadline\n"
        "/find TEXT — find by number, site or words\n"
        "/cancel — drop what you are writing\n"
        "Open a hidden danger to rectify it, verify it, or ask for more time."
    )
    if front == Front.WECOM:
        # WeCom shows no command menu: the figures and the ledger are named here.
        more = _("/stats — figures and charts of your units\n/export — the ledger as a workbook")
        what += "\n" + more
    return (
        what
        + "\n\n"
        + _("/start — who you are registered as\n/lang — 中文 / English\n/help — this message")
    )
