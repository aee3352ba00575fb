"""The report's summary card, which is also its form: every answer in six lines, one tap to
change any of them, and Submit."""

from __future__ import annotations

from datetime import date

from bot.i18n import N_, Translator
from bot.views.labels import field_name, kind_name, level_name, shorten
from bot.views.reply import Button, Buttons
from bot.views.report_words import button
from storage.models import DangerLevel, RecordKind
from storage.report import DraftView, Step

# A phone held at arm's length shows about this much of a line before it wraps twice.
TASK_TITLE_ON_CARD = 40
DESCRIPTION_ON_CARD = 200

CHANGE_LABELS = {
    Step.DEADLINE: N_("📅 Deadline"),
    Step.TASK: N_("📋 Task"),
    Step.SITE: N_("🏭 Site"),
    Step.FIELD: N_("🗂 Field"),
    Step.LOCATION: N_("📍 Place"),
    Step.PHOTOS: N_("📷 Photos"),
    Step.DESCRIPTION: N_("📝 Describe"),
    Step.LEVEL: N_("🎚 Level"),
}


def summary(
    _: Translator,
    draft: DraftView,
    duplicates: list[str] | None = None,
    *,
    today: date,
    closing: date | None = None,
) -> str:
    """The card's text: what the report says, in six lines, and a seventh for possible
    duplicates (fits a 1,024-character caption)."""
    head = [_("📋 Please check your report"), draft.unit_name]
    if draft.kind != RecordKind.HIDDEN_DANGER:
        head.insert(1, kind_name(_, draft.kind))
    head.append(_.plural("📷 {n} photo", "📷 {n} photos", len(draft.photos)))
    task = (
        f"{draft.task.code} {shorten(draft.task.title, TASK_TITLE_ON_CARD)}" if draft.task else "—"
    )
    field = field_name(_, draft.field) if draft.field else "—"
    lines = [
        " · ".join(head),
        _("Task: {task}", task=task),
        _("Site: {site} · {field}", site=draft.site or "—", field=field),
        _("Place: {where}", where=location_text(_, draft)),
        _("{level} · deadline {when}", level=_level(_, draft), when=_deadline(_, draft, today)),
    ]
    if closing is not None and draft.deadline is not None and draft.deadline > closing:
        lines[-1] += " " + _("⚠️ after the campaign closes ({date})", date=closing.isoformat())
    if draft.description:
        lines.append(_("Description: {text}", text=shorten(draft.description, DESCRIPTION_ON_CARD)))
    else:
        lines.append(_("Description: — type it here to add it"))
    if duplicates:
        lines.append(_("⚠️ Possibly the same as {number}", number=", ".join(duplicates)))
    return shorten("\n".join(lines), 1024)


def _level(_: Translator, draft: DraftView) -> str:
    return level_name(_, draft.level) if draft.level else _("level —")


def _deadline(_: Translator, draft: DraftView, today: date) -> str:
    if draft.deadline is None:
        return "—"
    days = (draft.deadline - today).days
    return _("{date} ({days} days)", date=draft.deadline.isoformat(), days=days)


def location_text(_: Translator, draft: DraftView) -> str:
    """Describe where the hidden danger is, however it was given."""
    parts = []
    if draft.address:
        parts.append(draft.address)
    if draft.latitude is not None and draft.longitude is not None:
        parts.append(f"{draft.latitude:.5f}, {draft.longitude:.5f}")
    if draft.location_source == "photo":
        parts.append(_("(from the photo)"))
    if draft.location_far:
        parts.append(_("(outside the campaign's area)"))
    return " ".join(parts) if parts else _("not given")


def card_keyboard(_: Translator, draft: DraftView) -> Buttons:
    """Submit, one tap to change each answer, and Cancel."""

    def change(step: Step) -> Button:
        return Button(_(CHANGE_LABELS[step]), button(draft.id, f"edit:{step.value}"))

    if draft.kind == RecordKind.RISK:
        level = change(Step.LEVEL)
    elif draft.level == DangerLevel.MAJOR:
        level = Button(_("🔻 General"), button(draft.id, "flip"))
    else:
        level = Button(_("🔺 Major"), button(draft.id, "flip"))
    return (
        (Button(_("✅ Submit"), button(draft.id, "submit")),),
        (level, change(Step.DEADLINE)),
        (change(Step.TASK), change(Step.SITE), change(Step.FIELD)),
        (change(Step.LOCATION), change(Step.PHOTOS), change(Step.DESCRIPTION)),
        (Button(_("✖️ Cancel"), button(draft.id, "discard")),),
    )
