"""Rendering of the report conversation: each step's prompt, keyboards and the summary card."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.i18n import N_, Translator
from bot.views.labels import field_name, kind_name, level_name, shorten
from storage.conversation import small_int
from storage.dto import FieldInfo, PhotoRef
from storage.models import DangerLevel, RecordKind
from storage.reports import QUICK_DEADLINES, DraftView, ReportReply, Step, TaskPage

CALLBACK_PREFIX = "r"
TITLE_IN_BUTTON = 36
TOTAL_STEPS = len(Step)

# Reply-keyboard buttons come back as plain text; these labels are matched in both languages.
LABEL_SEND_LOCATION = N_("📍 Send my location")
LABEL_PHOTO_LOCATION = N_("📷 Use the photo's location")
LABEL_SKIP = N_("Skip")

STEP_TITLES = {
    Step.TASK: N_("Task"),
    Step.SITE: N_("Site"),
    Step.FIELD: N_("Field"),
    Step.DESCRIPTION: N_("Description"),
    Step.PHOTOS: N_("Photos"),
    Step.LOCATION: N_("Location"),
    Step.LEVEL: N_("Level"),
    Step.DEADLINE: N_("Deadline"),
    Step.CONFIRM: N_("Confirm"),
}


@dataclass(frozen=True, slots=True)
class Prompt:
    """One message to send: text (or a photo with caption) and its keyboard."""

    text: str
    keyboard: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None
    photo: PhotoRef | None = None


def button(draft_id: int, action: str) -> str:
    """Return callback data for a button of this draft (well within Telegram's 64 bytes)."""
    return f"{CALLBACK_PREFIX}:{draft_id}:{action}"


def parse_button(data: str) -> tuple[int, str] | None:
    """Split callback data into (draft id, action); None when it is not ours or malformed."""
    prefix, _, rest = data.partition(":")
    draft, _, action = rest.partition(":")
    draft_id = small_int(draft)
    if prefix != CALLBACK_PREFIX or draft_id is None or draft_id < 0 or not action:
        return None
    return draft_id, action


def _header(_: Translator, step: Step, editing: bool) -> str:
    if editing:
        return _("✏️ Change: {title}", title=_(STEP_TITLES[step]))
    return _(
        "Step {n}/{total} · {title}",
        n=list(Step).index(step) + 1,
        total=TOTAL_STEPS,
        title=_(STEP_TITLES[step]),
    )


def task_keyboard(_: Translator, draft_id: int, page: TaskPage) -> InlineKeyboardMarkup | None:
    """The open tasks of one page, with ◀ ▶ to move between pages (None: nothing to press;
    Telegram refuses a keyboard without buttons)."""
    rows = [
        [
            InlineKeyboardButton(
                f"{t.code} · {shorten(t.title, TITLE_IN_BUTTON)}",
                callback_data=button(draft_id, f"task:{t.id}"),
            )
        ]
        for t in page.items
    ]
    nav: list[InlineKeyboardButton] = []
    if page.page > 0:
        nav.append(
            InlineKeyboardButton("◀", callback_data=button(draft_id, f"page:{page.page - 1}"))
        )
    if page.pages > 1:
        nav.append(
            InlineKeyboardButton(
                f"{page.page + 1}/{page.pages}", callback_data=button(draft_id, f"page:{page.page}")
            )
        )
    if page.page + 1 < page.pages:
        nav.append(
            InlineKeyboardButton("▶", callback_data=button(draft_id, f"page:{page.page + 1}"))
        )
    if nav:
        rows.append(nav)
    if page.query:
        rows.append(
            [InlineKeyboardButton(_("Show all tasks"), callback_data=button(draft_id, "all"))]
        )
    return InlineKeyboardMarkup(rows) if rows else None


def _field_keyboard(
    _: Translator, draft: DraftView, fields: list[FieldInfo]
) -> InlineKeyboardMarkup:
    chosen = draft.field or draft.task_field
    buttons = [
        InlineKeyboardButton(
            ("✓ " if chosen and chosen.id == f.id else "") + field_name(_, f),
            callback_data=button(draft.id, f"field:{f.code}"),
        )
        for f in fields
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def _levels(kind: str) -> list[str]:
    if kind == RecordKind.RISK:
        return [DangerLevel.RED, DangerLevel.ORANGE, DangerLevel.YELLOW, DangerLevel.BLUE]
    return [DangerLevel.GENERAL, DangerLevel.MAJOR]


def _deadline_keyboard(_: Translator, draft_id: int, today: date) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            _(
                "{days} days ({date})",
                days=days,
                date=(today + timedelta(days=days)).strftime("%m-%d"),
            ),
            callback_data=button(draft_id, f"days:{days}"),
        )
        for days in QUICK_DEADLINES
    ]
    return InlineKeyboardMarkup([buttons[:2], buttons[2:]])


def location_keyboard(_: Translator, draft: DraftView) -> ReplyKeyboardMarkup:
    """A reply keyboard: share location, use the photo's GPS (when a photo has it), skip."""
    rows = [[KeyboardButton(_(LABEL_SEND_LOCATION), request_location=True)]]
    if draft.photo_gps is not None:
        rows.append([KeyboardButton(_(LABEL_PHOTO_LOCATION))])
    rows.append([KeyboardButton(_(LABEL_SKIP))])
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)


def summary(_: Translator, draft: DraftView, duplicates: list[str] | None = None) -> str:
    """The summary card's text (fits a 1,024-character caption)."""
    lines = [_("📋 Please check your report")]
    if draft.kind != RecordKind.HIDDEN_DANGER:
        lines.append(_("Kind: {kind}", kind=kind_name(_, draft.kind)))
    if draft.task:
        lines.append(
            _("Task: {code} {title}", code=draft.task.code, title=shorten(draft.task.title, 60))
        )
    lines.append(_("Unit: {unit}", unit=draft.unit_name))
    lines.append(_("Site: {site}", site=draft.site or "—"))
    lines.append(_("Field: {field}", field=field_name(_, draft.field) if draft.field else "—"))
    lines.append(_("Level: {level}", level=level_name(_, draft.level) if draft.level else "—"))
    lines.append(_("Deadline: {date}", date=draft.deadline.isoformat() if draft.deadline else "—"))
    lines.append(_("Location: {where}", where=location_text(_, draft)))
    lines.append(_("Photos: {count}", count=len(draft.photos)))
    lines.append(_("Description: {text}", text=shorten(draft.description or "—", 400)))
    for number in duplicates or []:
        lines.append(_("⚠️ Possibly the same as {number}", number=number))
    return shorten("\n".join(lines), 1024)


def location_text(_: Translator, draft: DraftView) -> str:
    """Describe where the hidden danger is, however it was given."""
    parts = []
    if draft.address:
        parts.append(draft.address)
    if draft.latitude is not None and draft.longitude is not None:
        parts.append(f"{draft.latitude:.5f}, {draft.longitude:.5f}")
    if draft.location_far:
        parts.append(_("(outside the campaign's area)"))
    return " ".join(parts) if parts else _("not given")


def confirm_keyboard(_: Translator, draft_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_("✅ Submit"), callback_data=button(draft_id, "submit"))],
            [
                InlineKeyboardButton(_("✏️ Edit"), callback_data=button(draft_id, "editmenu")),
                InlineKeyboardButton(_("✖️ Cancel"), callback_data=button(draft_id, "discard")),
            ],
        ]
    )


def edit_keyboard(_: Translator, draft_id: int) -> InlineKeyboardMarkup:
    """Which answer to change, from the summary card."""
    steps = [s for s in Step if s != Step.CONFIRM]
    buttons = [
        InlineKeyboardButton(_(STEP_TITLES[s]), callback_data=button(draft_id, f"edit:{s.value}"))
        for s in steps
    ]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    rows.append([InlineKeyboardButton(_("◀ Back"), callback_data=button(draft_id, "back"))])
    return InlineKeyboardMarkup(rows)


def resume_keyboard(_: Translator, draft_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_("▶️ Resume"), callback_data=button(draft_id, "resume")),
                InlineKeyboardButton(_("🗑 Discard"), callback_data=button(draft_id, "discard")),
            ]
        ]
    )


def prompt_for(_: Translator, reply: ReportReply, *, today: date) -> Prompt | None:
    """The prompt of the draft's current step."""
    draft = reply.draft
    if draft is None:
        return None
    head = _header(_, draft.step, draft.editing)
    step = draft.step
    if step == Step.TASK:
        page = reply.tasks
        if page is None or (page.total == 0 and not page.query):
            text = _(
                "{head}\nYour unit has no open campaign task yet, and a hidden danger belongs to "
                "one. Ask your administrator to import the tasks; /cancel ends this report.",
                head=head,
            )
            return Prompt(text)
        if page.total == 0:
            text = _(
                "{head}\nYour unit has no open task matching this. Type other words, or ask "
                "your administrator to import the tasks.",
                head=head,
            )
            return Prompt(text, task_keyboard(_, draft.id, page))
        text = _(
            "{head}\nChoose the campaign task this hidden danger belongs to, or type words "
            "of its code or title to search. {count} open tasks.",
            head=head,
            count=page.total,
        )
        if page.query:
            text += "\n" + _("Search: “{query}”", query=page.query)
        if reply.last_submitted:
            text += "\n" + _("(Your last report went in as {number}.)", number=reply.last_submitted)
        return Prompt(text, task_keyboard(_, draft.id, page))
    if step == Step.SITE:
        return Prompt(_("{head}\nType the name of the enterprise or place.", head=head))
    if step == Step.FIELD:
        return Prompt(
            _("{head}\nChoose the special rectification field (✓ is the task's).", head=head),
            _field_keyboard(_, draft, reply.fields),
        )
    if step == Step.DESCRIPTION:
        return Prompt(
            _("{head}\nDescribe the hidden danger: what, where exactly, how serious.", head=head)
        )
    if step == Step.PHOTOS:
        count = len(draft.photos)
        rows = [[InlineKeyboardButton(_("✅ Done"), callback_data=button(draft.id, "done"))]]
        if count:
            rows.append(
                [
                    InlineKeyboardButton(
                        _("🗑 Remove photos"), callback_data=button(draft.id, "clear")
                    )
                ]
            )
        if count:
            text = _(
                "{head}\n{count} of at most 10 photos received. Send more, or tap Done.",
                head=head,
                count=count,
            )
        elif draft.kind != RecordKind.HIDDEN_DANGER:
            text = _(
                "{head}\nSend photos if you have them (up to 10), or tap Done to go on without.",
                head=head,
            )
        else:
            text = _(
                "{head}\nSend photos of the hidden danger: 1 to 10, one by one or as an album; "
                "image files keep their GPS.",
                head=head,
            )
        return Prompt(text, InlineKeyboardMarkup(rows))
    if step == Step.LOCATION:
        text = _(
            "{head}\nWhere is it? Tap “Send my location”, send a location or a place, or type "
            "the address.",
            head=head,
        )
        if draft.photo_gps is not None:
            text += "\n" + _("A photo carries a location: tap “Use the photo's location”.")
        return Prompt(text, location_keyboard(_, draft))
    if step == Step.LEVEL:
        buttons = [
            InlineKeyboardButton(level_name(_, lv), callback_data=button(draft.id, f"level:{lv}"))
            for lv in _levels(draft.kind)
        ]
        return Prompt(_("{head}\nHow serious is it?", head=head), InlineKeyboardMarkup([buttons]))
    if step == Step.DEADLINE:
        return Prompt(
            _(
                "{head}\nBy when must it be rectified? Choose, or type a date "
                "(2026-12-05, 12-05, 12月5日).",
                head=head,
            ),
            _deadline_keyboard(_, draft.id, today),
        )
    return Prompt(
        summary(_, draft, reply.possible_duplicates),
        confirm_keyboard(_, draft.id),
        photo=draft.photos[0].ref if draft.photos else None,
    )


def discarded_text(_: Translator, draft: DraftView) -> str:
    """Say what /cancel threw away."""
    kept = []
    if draft.task:
        kept.append(draft.task.code)
    if draft.site:
        kept.append(draft.site)
    if draft.photos:
        kept.append(_.plural("{n} photo", "{n} photos", len(draft.photos)))
    if not kept:
        return _("Report discarded. Send /report to start again.")
    return _("Report discarded ({what}). Send /report to start again.", what=", ".join(kept))
