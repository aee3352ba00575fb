"""Rendering of the report conversation: each step's prompt, keyboards and the summary card."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta

from bot.i18n import N_, Translator
from bot.views.labels import field_name, level_name, shorten
from bot.views.reply import Ask, Button, Buttons, Say, grid
from bot.views.report_card import card_keyboard, summary
from bot.views.report_words import (
    LABEL_PHOTO_LOCATION,
    LABEL_SAME_PLACE,
    LABEL_SEND_LOCATION,
    LABEL_SKIP,
    button,
)
from storage.dto import FieldInfo
from storage.models import DangerLevel, RecordKind
from storage.report import (
    ADD_HELD,
    NEW_FROM_HELD,
    QUICK_DEADLINES,
    DraftView,
    LastPlace,
    ReportReply,
    SiteChoice,
    Step,
    TaskChoice,
    TaskPage,
)

TITLE_IN_BUTTON = 36
SITE_IN_BUTTON = 30
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


def _header(_: Translator, draft: DraftView) -> str:
    step = draft.step
    if draft.editing:
        return _("✏️ Change: {title}", title=_(STEP_TITLES[step]))
    if draft.quick:
        # A report begun by its photos asks two or three things: no "step 6 of 9" to count.
        return _.plural(
            "📷 {n} photo · {title}",
            "📷 {n} photos · {title}",
            len(draft.photos),
            title=_(STEP_TITLES[step]),
        )
    return _(
        "Step {n}/{total} · {title}",
        n=list(Step).index(step) + 1,
        total=TOTAL_STEPS,
        title=_(STEP_TITLES[step]),
    )


def task_keyboard(
    _: Translator, draft_id: int, page: TaskPage, likely: Sequence[TaskChoice] = ()
) -> Buttons:
    """The likely tasks (⭐), then the open tasks of one page, with ◀ ▶ to move between pages
    (no rows: nothing to press)."""

    def task_button(t: TaskChoice, mark: str = "·") -> tuple[Button, ...]:
        # The code leads every label: people (and their habits) find a task by its code.
        label = f"{t.code} {mark} {shorten(t.title, TITLE_IN_BUTTON)}"
        return (Button(label, button(draft_id, f"task:{t.id}")),)

    shown = {t.id for t in likely}
    rows = [task_button(t, "⭐") for t in likely]
    rows += [task_button(t) for t in page.items if t.id not in shown]
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


def location_ask(_: Translator, draft: DraftView, last: LastPlace | None = None) -> Ask:
    """Ask for the location: share it, the last report's place (within the hour), the photo's
    GPS (when a photo has it), or skip."""
    replies = [_(LABEL_SAME_PLACE)] if last is not None else []
    if draft.photo_gps is not None:
        replies.append(_(LABEL_PHOTO_LOCATION))
    return Ask(_(LABEL_SEND_LOCATION), (*replies, _(LABEL_SKIP)))


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
    if draft.held:
        return held_question(_, draft)
    prompt = _PROMPTS.get(draft.step, _confirm_prompt)
    return prompt(_, _header(_, draft), draft, reply, today)


def held_question(_: Translator, draft: DraftView) -> Say:
    """Photos came while a report is open: do they join it, or begin another?"""
    text = _.plural(
        "You sent {n} photo while a report is open",
        "You sent {n} photos while a report is open",
        draft.held,
    )
    what = ", ".join(_what_it_holds(_, draft))
    if what:
        text += f" ({what})"
    text += ".\n" + _(
        "Add them to it, or start a new report with them (the open one is then discarded)?"
    )
    rows = (
        (Button(_("➕ Add to the open report"), button(draft.id, ADD_HELD)),),
        (Button(_("🆕 Start a new one"), button(draft.id, NEW_FROM_HELD)),),
    )
    return Say(text, rows)


def _what_it_holds(_: Translator, draft: DraftView) -> list[str]:
    kept = []
    if draft.task:
        kept.append(draft.task.code)
    if draft.site:
        kept.append(draft.site)
    if draft.photos:
        kept.append(_.plural("{n} photo", "{n} photos", len(draft.photos)))
    return kept


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
    if reply.likely_tasks:
        text = _(
            "{head}\nChoose the task (⭐ likely ones first), or type words of its code or "
            "title to search. {count} open tasks.",
            head=head,
            count=page.total,
        )
    else:
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
    return Say(text, task_keyboard(_, draft.id, page, reply.likely_tasks))


def _site_prompt(
    _: Translator, head: str, draft: DraftView, reply: ReportReply, _today: date
) -> Say:
    if not reply.sites:
        return Say(_("{head}\nType the name of the enterprise or place.", head=head))
    rows = tuple(
        (Button(_site_label(_, site), button(draft.id, f"site:{site.danger_id}")),)
        for site in reply.sites
    )
    return Say(_("{head}\nTap the enterprise or place, or type its name.", head=head), rows)


def _site_label(_: Translator, site: SiteChoice) -> str:
    name = shorten(site.site, SITE_IN_BUTTON)
    if site.metres is None:
        return f"🏭 {name}"
    return _("🏭 {site} · {metres} m", site=name, metres=site.metres)


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
    if reply.last_place is not None:
        text += "\n" + _(
            "Or “Same place as my last report” ({number}).", number=reply.last_place.number
        )
    if draft.photo_gps is not None:
        text += "\n" + _("A photo carries a location: tap “Use the photo's location”.")
    return Say(text, ask=location_ask(_, draft, reply.last_place))


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
    _: Translator, head: str, draft: DraftView, reply: ReportReply, today: date
) -> Say:
    return Say(
        summary(_, draft, reply.possible_duplicates, today=today, closing=reply.closing_date),
        card_keyboard(_, draft),
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
    kept = _what_it_holds(_, draft)
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
        if reply.last_submitted:
            text += "\n" + _("(Your last report went in as {number}.)", number=reply.last_submitted)
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
