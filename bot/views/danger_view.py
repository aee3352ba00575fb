"""Rendering of hidden dangers in chat: lists, the card with its history, and action prompts."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.i18n import N_, Translator
from bot.views.action_view import FIVE_ITEM_NAMES, action_prompt
from bot.views.cards import danger_fields
from bot.views.labels import kind_name, shorten, status_name
from bot.views.pictures.before_after import before_after
from bot.views.reply import Button, Buttons, Say
from storage.closed_loop import DangerDetail, LoopReply
from storage.conversation import small_int
from storage.dialogue import card_press
from storage.lists import DangerLine, DangerPage
from storage.permissions import Action

logger = logging.getLogger(__name__)

MESSAGE_LIMIT = 4096
SITE_IN_BUTTON = 18

STATUS_MARKS = {"reported": "🆕", "rectifying": "🔧", "submitted": "🔍", "closed": "✅"}

ACTION_LABELS = {
    Action.START: N_("🔧 Start rectifying"),
    Action.RECTIFY: N_("📷 Rectify"),
    Action.APPROVE: N_("✅ Approve and close"),
    Action.REJECT: N_("↩️ Reject"),
    Action.EXTEND: N_("⏳ Ask for more time"),
    Action.GRANT: N_("✅ Grant extension"),
    Action.REFUSE: N_("✖️ Refuse extension"),
    Action.REOPEN: N_("🔁 Reopen"),
    Action.REASSIGN: N_("👤 Hand over to someone else"),
}

EVENT_NAMES = {
    "danger.reported": N_("reported"),
    "danger.rectifying": N_("rectification started"),
    "danger.reassigned": N_("handed over"),
    "danger.rectification_submitted": N_("rectification submitted"),
    "danger.rejected": N_("rejected"),
    "danger.closed": N_("verified and closed"),
    "danger.reopened": N_("reopened"),
    "danger.extension_requested": N_("extension requested"),
    "danger.extension_granted": N_("extension granted"),
    "danger.extension_refused": N_("extension refused"),
}


def days_text(_: Translator, days_left: int, status: str) -> str:
    """ "3 days left", "due today", "2 days overdue" — or nothing once closed."""
    if status == "closed":
        return _("closed")
    if days_left > 0:
        return _.plural("{n} day left", "{n} days left", days_left)
    if days_left == 0:
        return _("due today")
    return _.plural("{n} day overdue", "{n} days overdue", -days_left)


def line_label(_: Translator, line: DangerLine) -> str:
    """One button of a list: status mark, number, site, time left."""
    return (
        f"{STATUS_MARKS.get(line.status, '•')} {line.number} · "
        f"{shorten(line.site, SITE_IN_BUTTON)} · {days_text(_, line.days_left, line.status)}"
    )


def list_callback(scope: str, page: int, query: str) -> str:
    """Callback data for a list page; a long search is cut to keep within 64 bytes."""
    base = f"l:{scope}:{page}:"
    room = 64 - len(base.encode())
    encoded = query.encode()[:room]
    return base + encoded.decode(errors="ignore")


def parse_list_callback(data: str) -> tuple[str, int, str] | None:
    parts = data.split(":", 3)
    page = small_int(parts[2]) if len(parts) == 4 else None
    if page is None or page < 0 or parts[0] != "l" or parts[1] not in ("mine", "overdue", "find"):
        return None
    return parts[1], page, parts[3]


def parse_card_button(data: str) -> tuple[int, str] | None:
    """Split a card's button (`d:ID:WHAT`) into (hidden danger id, what); None when malformed."""
    parts = data.split(":")
    danger_id = small_int(parts[1]) if len(parts) == 3 and parts[0] == "d" else None
    if danger_id is None or danger_id < 0:
        return None
    return danger_id, parts[2]


def pressed_card(data: str) -> tuple[int, Action | str] | None:
    """A card's button as (hidden danger id, what it asks), or None when it is not valid."""
    parsed = parse_card_button(data)
    what = card_press(parsed[1]) if parsed is not None else None
    return None if parsed is None or what is None else (parsed[0], what)


def parse_action_button(data: str) -> tuple[int, str] | None:
    """Split an action prompt's button (`a:DRAFT:BUTTON`) into (draft id, button)."""
    parts = data.split(":", 2)
    draft_id = small_int(parts[1]) if len(parts) == 3 and parts[0] == "a" else None
    if draft_id is None or draft_id < 0 or not parts[2]:
        return None
    return draft_id, parts[2]


def list_message(_: Translator, page: DangerPage) -> Say:
    """The text and buttons of one page of a list."""
    titles = {
        "mine": _("My hidden dangers"),
        "overdue": _("Overdue hidden dangers"),
        "find": _("Found for “{query}”", query=page.query),
    }
    if page.total == 0:
        empty = {
            "mine": _("Nothing here yet. Send /report to log a hidden danger."),
            "overdue": _("Nothing is overdue. 👍"),
            "find": _("Nothing found for “{query}”.", query=page.query),
        }
        return Say(empty[page.scope])
    text = _(
        "{title}: {total} (page {page}/{pages}). Tap one to open it.",
        title=titles[page.scope],
        total=page.total,
        page=page.page + 1,
        pages=page.pages,
    )
    rows: list[tuple[Button, ...]] = [
        (Button(line_label(_, line), f"d:{line.id}:open"),) for line in page.items
    ]
    nav = []
    if page.page > 0:
        nav.append(Button("◀", list_callback(page.scope, page.page - 1, page.query)))
    if page.page + 1 < page.pages:
        nav.append(Button("▶", list_callback(page.scope, page.page + 1, page.query)))
    if nav:
        rows.append(tuple(nav))
    return Say(text, tuple(rows))


def card_text(_: Translator, detail: DangerDetail, *, tz_name: str) -> str:
    """The full card: fields, status and time left, verifier's warnings, extension, history."""
    tz = ZoneInfo(tz_name)
    card = detail.card
    lines = [
        f"{STATUS_MARKS.get(card.status, '•')} {kind_name(_, card.kind)} {card.number}",
        # Closed says it all: "closed · closed" said it twice.
        _("Status: {status}", status=status_name(_, card.status))
        if card.status == "closed"
        else _(
            "Status: {status} · {when}",
            status=status_name(_, card.status),
            when=days_text(_, detail.days_left, card.status),
        ),
        *danger_fields(_, card),
    ]
    lines.append(_("Reported by: {name}", name=card.reporter_name or "—"))
    lines.append(_("Description: {text}", text=shorten(card.description, 600)))
    round_ = detail.latest_round
    if round_ is not None:
        lines.append("")
        lines.append(
            _(
                "Latest rectification by {name}: {note}",
                name=round_.submitted_by,
                note=shorten(round_.note, 300),
            )
        )
        for key, value in round_.measures.items():
            if key in FIVE_ITEM_NAMES:
                lines.append(f"  · {_(FIVE_ITEM_NAMES[key])}: {shorten(value, 120)}")
        if round_.verdict == "rejected" and round_.reason:
            lines.append(_("Rejected: {reason}", reason=shorten(round_.reason, 200)))
    if detail.extension is not None:
        ext = detail.extension
        lines.append("")
        lines.append(
            _(
                "⏳ {name} asks to move the deadline from {old} to {new}: {reason}",
                name=ext.requested_by,
                old=ext.old_deadline.isoformat(),
                new=ext.new_deadline.isoformat(),
                reason=shorten(ext.reason, 200),
            )
        )
    if detail.flags:
        lines.append("")
        lines.append(_("⚠️ Check before approving:"))
        lines.extend(f"  · {_(flag.key, **flag.params)}" for flag in detail.flags)
    if detail.history:
        lines.append("")
        lines.append(_("History:"))
        for entry in detail.history[-12:]:
            stamp = entry.at.astimezone(tz).strftime("%m-%d %H:%M")
            what = _(EVENT_NAMES[entry.action]) if entry.action in EVENT_NAMES else entry.action
            extra = entry.detail.get("reason") or ""
            lines.append(
                f"  {stamp} {what} · {entry.actor}"
                + (f" — {shorten(str(extra), 80)}" if extra else "")
            )
    return shorten("\n".join(lines), MESSAGE_LIMIT)


def card_keyboard(_: Translator, detail: DangerDetail) -> Buttons:
    """The actions this person may take now, and the photos."""
    danger_id = detail.card.id
    # Rectify starts the rectification too: one button for the one thing to do on site.
    shown = [
        a for a in detail.actions if not (a == Action.START and Action.RECTIFY in detail.actions)
    ]
    rows: list[tuple[Button, ...]] = [
        (Button(_(ACTION_LABELS[a]), f"d:{danger_id}:{a.value}"),) for a in shown
    ]
    rows.append(
        (
            Button(_("🖼 Photos"), f"d:{danger_id}:photos"),
            Button(_("🔄 Refresh"), f"d:{danger_id}:open"),
        )
    )
    return tuple(rows)


def loop_reply(
    _: Translator,
    reply: LoopReply,
    *,
    today: date,
    tz_name: str,
    before_after: Say | None = None,
) -> list[Say]:
    """What to answer after a step of the closed loop: notices, the outcome, then the next
    prompt, or the card (after the before/after picture, when one was drawn for it)."""
    says = [Say(_(notice.key, **notice.params)) for notice in reply.notices]
    if reply.done is not None:
        says.append(Say(_(reply.done.key, **reply.done.params)))
    if reply.draft is not None and (reply.prompt or reply.duplicate_update):
        return [*says, action_prompt(_, reply.draft, today=today)]
    detail = reply.detail
    if detail is None:
        return says
    if before_after is not None:
        says.append(before_after)
    says.append(Say(card_text(_, detail, tz_name=tz_name), card_keyboard(_, detail)))
    return says


def photo_pair(detail: DangerDetail) -> tuple[str, str] | None:
    """The first before- and after-photo, to set side by side (None: one side is missing)."""
    if not detail.before_paths or not detail.after_paths:
        return None
    return detail.before_paths[0], detail.after_paths[0]


def verifier_pair(reply: LoopReply) -> tuple[str, str] | None:
    """The photo pair to show above the card when it goes to someone who may approve the
    rectification: they judge it by comparing the two."""
    detail = reply.detail
    if detail is None or Action.APPROVE not in detail.actions:
        return None
    if reply.draft is not None and (reply.prompt or reply.duplicate_update):
        return None  # a prompt is shown, not the card
    return photo_pair(detail)


async def before_after_say(_: Translator, photo_dir: Path, pair: tuple[str, str]) -> Say | None:
    """The before/after picture with its caption; None when it cannot be drawn."""
    before, after = pair
    try:
        picture = await asyncio.to_thread(
            before_after, photo_dir / before, photo_dir / after, (_("Before"), _("After"))
        )
    except Exception:  # the card matters more than the picture: go on without it
        logger.warning(
            "before/after image could not be made from %s, %s", before, after, exc_info=True
        )
        return None
    return Say(_("Before and after rectification"), photo=picture)


def photo_albums(_: Translator, detail: DangerDetail) -> list[Say]:
    """A hidden danger's before-photos and latest after-photos, an album each (at most 10)."""
    card = detail.card
    return [
        Say(label, photos=tuple(refs[:10]))
        for refs, label in (
            (card.before_photos, _("Before: {number}", number=card.number)),
            (card.after_photos, _("After: {number}", number=card.number)),
        )
        if refs
    ]


async def loop_answer(
    _: Translator,
    reply: LoopReply,
    *,
    photo_dir: Path,
    today: date,
    tz_name: str,
    verifier_image: bool = True,
) -> list[Say]:
    """Everything to say after a step of the closed loop, with the before/after picture drawn
    for whoever may approve the rectification."""
    pair = verifier_pair(reply) if verifier_image else None
    picture = await before_after_say(_, photo_dir, pair) if pair else None
    return loop_reply(_, reply, today=today, tz_name=tz_name, before_after=picture)


async def photos_answer(_: Translator, detail: DangerDetail, *, photo_dir: Path) -> list[Say]:
    """A hidden danger's before- and after-photos, then the two side by side."""
    pair = photo_pair(detail)
    picture = await before_after_say(_, photo_dir, pair) if pair else None
    return [*photo_albums(_, detail), *([picture] if picture else [])]
