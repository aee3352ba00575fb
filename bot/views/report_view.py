"""Rendering of the report conversation: each step's prompt, keyboards and the summary card."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from bot.i18n import N_, Translator
from bot.views.labels import field_name, kind_name, level_name, shorten
from bot.views.reply import Ask, Button, Buttons, Say, grid
from bot.views.report_words import LABEL_PHOTO_LOCATION, LABEL_SEND_LOCATION, LABEL_SKIP, button
from storage.dto import FieldInfo
from storage.models import DangerLevel, RecordKind
from storage.report import QUICK_DEADLINES, DraftView, ReportReply, Step, TaskPage

TITLE_IN_BUTTON = 36
TOTAL_STEPS = len(Step)

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


def _header(_: Translator, step: Step, editing: bool) -> str:
    if editing:
        return _("✏️ Change: {title}", title=_(STEP_TITLES[step]))
    return _(
        "Step {n}/{total} · {title}",
        n=list(Step).index(step) + 1,
        total=TOTAL_STEPS,
        title=_(STEP_TITLES[step]),
    )


def task_keyboard(_: Translator, draft_id: int, page: TaskPage) -> Buttons:
    """The open tasks of one page, with ◀ ▶ to move between pages (no rows: nothing to press)."""
    rows: list[tuple[Button, ...]] = [
        (
            Button(
                f"{t.code} · {shorten(t.title, TITLE_IN_BUTTON)}",
                button(draft_id, f"task:{t.id}"),
            ),
        )
        for t in page.items
    ]
    nav: list[Button] = []
    if page.page > 0:
        nav.append(Button("◀", button(draft_id, f"page:{page.page - 1}")))
    if page.pages > 1:
        nav.append(Button(f"{page.page + 1}/{page.pages}", button(draft_id, f"page:{page.page}")))
    if page.page + 1 < page.pages:
        nav.append(Button("▶", button(draft_id, f"page:{page.page + 1}")))
    if nav:
        rows.append(tuple(nav))
    if page.query:
        rows.append((Button(_("Show all tasks"), button(draft_id, "all")),))
    return tuple(rows)


def _field_keyboard(_: Translator, draft: DraftView, fields: list[FieldInfo]) -> Buttons:
    chosen = draft.field or draft.task_field
    buttons = [
        Button(
            ("✓ " if chosen and chosen.id == f.id else "") + field_name(_, f),
            button(draft.id, f"field:{f.code}"),
        )
        for f in fields
    ]
    return grid(buttons, 2)


def _levels(kind: str) -> list[str]:
    if kind == RecordKind.RISK:
        return [DangerLevel.RED, DangerLevel.ORANGE, DangerLevel.YELLOW, DangerLevel.BLUE]
    return [DangerLevel.GENERAL, DangerLevel.MAJOR]


def _deadline_keyboard(_: Translator, draft_id: int, today: date) -> Buttons:
    buttons = [
        Button(
            _(
                "{days} days ({date})",
                days=days,
                date=(today + timedelta(days=days)).strftime("%m-%d"),
            ),
            button(draft_id, f"days:{days}"),
        )
        for days in QUICK_DEADLINES
    ]
    return (tuple(buttons[:2]), tuple(buttons[2:]))


def location_ask(_: Translator, draft: DraftView) -> Ask:
    """Ask for the location: share it, use the photo's GPS (when a photo has it), or skip."""
    replies = (_(LABEL_PHOTO_LOCATION),) if draft.photo_gps is not None else ()
    return Ask(_(LABEL_SEND_LOCATION), (*replies, _(LABEL_SKIP)))


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


def confirm_keyboard(_: Translator, draft_id: int) -> Buttons:
    return (
        (Button(_("✅ Submit"), button(draft_id, "submit")),),
        (
            Button(_("✏️ Edit"), button(draft_id, "editmenu")),
            Button(_("✖️ Cancel"), button(draft_id, "discard")),
        ),
    )


def edit_keyboard(_: Translator, draft_id: int) -> Buttons:
    """Which answer to change, from the summary card."""
    steps = [s for s in Step if s != Step.CONFIRM]
    buttons = [Button(_(STEP_TITLES[s]), button(draft_id, f"edit:{s.value}")) for s in steps]
    return (*grid(buttons, 3), (Button(_("◀ Back"), button(draft_id, "back")),))


def resume_keyboard(_: Translator, draft_id: int) -> Buttons:
    return (
        (
            Button(_("▶️ Resume"), button(draft_id, "resume")),
            Button(_("🗑 Discard"), button(draft_id, "discard")),
        ),
    )


def prompt_for(_: Translator, reply: ReportReply, *, today: date) -> Say | None:
    """The prompt of the draft's current step."""
    draft = reply.draft
    if draft is None:
        return None
    prompt = _PROMPTS.get(draft.step, _confirm_prompt)
    return prompt(_, _header(_, draft.step, draft.editing), draft, reply, today)


def _task_prompt(
    _: Translator, head: str, draft: DraftView, reply: ReportReply, _today: date
) -> Say:
    page = reply.tasks
    if page is None or (page.total == 0 and not page.query):
        text = _(
            "{head}\nYour unit has no open campaign task yet, and a hidden danger belongs to "
            "one. Ask your administrator to import the tasks; /cancel ends this report.",
            head=head,
        )
        return Say(text)
    if page.total == 0:
        text = _(
            "{head}\nYour unit has no open task matching this. Type other words, or ask "
            "your administrator to import the tasks.",
            head=head,
        )
        return Say(text, task_keyboard(_, draft.id, page))
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
    return Say(text, task_keyboard(_, draft.id, page))


def _site_prompt(
    _: Translator, head: str, draft: DraftView, reply: ReportReply, _today: date
) -> Say:
    return Say(_("{head}\nType the name of the enterprise or place.", head=head))


def _field_prompt(
    _: Translator, head: str, draft: DraftView, reply: ReportReply, _today: date
) -> Say:
    return Say(
        _("{head}\nChoose the special rectification field (✓ is the task's).", head=head),
        _field_keyboard(_, draft, reply.fields),
    )


def _description_prompt(
    _: Translator, head: str, draft: DraftView, reply: ReportReply, _today: date
) -> Say:
    return Say(
        _("{head}\nDescribe the hidden danger: what, where exactly, how serious.", head=head)
    )


def _photos_prompt(
    _: Translator, head: str, draft: DraftView, reply: ReportReply, _today: date
) -> Say:
    count = len(draft.photos)
    rows: Buttons = ((Button(_("✅ Done"), button(draft.id, "done")),),)
    if count:
        rows += ((Button(_("🗑 Remove photos"), button(draft.id, "clear")),),)
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
    return Say(text, rows)


def _location_prompt(
    _: Translator, head: str, draft: DraftView, reply: ReportReply, _today: date
) -> Say:
    text = _(
        "{head}\nWhere is it? Tap “Send my location”, send a location or a place, or type "
        "the address.",
        head=head,
    )
    if draft.photo_gps is not None:
        text += "\n" + _("A photo carries a location: tap “Use the photo's location”.")
    return Say(text, ask=location_ask(_, draft))


def _level_prompt(
    _: Translator, head: str, draft: DraftView, reply: ReportReply, _today: date
) -> Say:
    levels = [
        Button(level_name(_, lv), button(draft.id, f"level:{lv}")) for lv in _levels(draft.kind)
    ]
    return Say(_("{head}\nHow serious is it?", head=head), (tuple(levels),))


def _deadline_prompt(
    _: Translator, head: str, draft: DraftView, reply: ReportReply, today: date
) -> Say:
    return Say(
        _(
            "{head}\nBy when must it be rectified? Choose, or type a date "
            "(2026-12-05, 12-05, 12月5日).",
            head=head,
        ),
        _deadline_keyboard(_, draft.id, today),
    )


def _confirm_prompt(
    _: Translator, head: str, draft: DraftView, reply: ReportReply, _today: date
) -> Say:
    return Say(
        summary(_, draft, reply.possible_duplicates),
        confirm_keyboard(_, draft.id),
        photo=draft.photos[0].ref if draft.photos else None,
    )


# Each step's prompt; the confirmation (the summary card) is the last step's.
_PROMPTS: dict[Step, Callable[[Translator, str, DraftView, ReportReply, date], Say]] = {
    Step.TASK: _task_prompt,
    Step.SITE: _site_prompt,
    Step.FIELD: _field_prompt,
    Step.DESCRIPTION: _description_prompt,
    Step.PHOTOS: _photos_prompt,
    Step.LOCATION: _location_prompt,
    Step.LEVEL: _level_prompt,
    Step.DEADLINE: _deadline_prompt,
    Step.CONFIRM: _confirm_prompt,
}


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


def report_reply(_: Translator, reply: ReportReply, *, today: date) -> list[Say]:
    """What to answer: notices, then the outcome (submitted, discarded, a resume offer) or the
    prompt of the step the report stands at."""
    says = [Say(_(notice.key, **notice.params)) for notice in reply.notices]
    if reply.submitted is not None:
        text = _(
            "✅ Submitted as {number}. The groups of your unit are told. "
            "Send /report to log another.",
            number=reply.submitted.number,
        )
        return [*says, Say(text, clear_ask=True)]
    if reply.discarded and reply.draft is not None:
        return [*says, Say(discarded_text(_, reply.draft), clear_ask=True)]
    if reply.resume_offer and reply.draft is not None:
        text = _(
            "You have a report in progress (stopped at: {step}). Resume it or discard it?",
            step=_(STEP_TITLES[reply.draft.step]),
        )
        return [*says, Say(text, resume_keyboard(_, reply.draft.id))]
    if reply.prompt or reply.duplicate_update:
        prompt = prompt_for(_, reply, today=today)
        if prompt is not None:
            says.append(prompt)
    return says


def location_noted(_: Translator, draft: DraftView) -> Say:
    """The location step is answered: say how, and take its keyboard away."""
    skipped = draft.location_source == "skipped"
    return Say(_("Location skipped.") if skipped else _("✓ Location noted."), clear_ask=True)
