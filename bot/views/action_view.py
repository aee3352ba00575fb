"""The prompts of the closed loop's action conversation: after-photos (the note as their caption),
the five items of a major hidden danger (suggested from the report where it can), a reason, a
successor, a new deadline, and the summary with Submit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from bot.i18n import N_, Translator
from bot.views.labels import shorten
from bot.views.reply import Button, Say
from storage.closed_loop import ActionDraftView
from storage.permissions import Action

FIVE_ITEM_PROMPTS = {
    "responsibility": N_("Who is responsible for the rectification (person and post)?"),
    "measures": N_("What measures are taken?"),
    "funds": N_("What funds are committed, and from where?"),
    "time_limit": N_("By when will each measure be done?"),
    "plan": N_("What is the contingency plan until it is done?"),
}

# A suggested answer on its button: enough to recognise it.
SUGGESTION_IN_BUTTON = 30

FIVE_ITEM_NAMES = {
    "responsibility": N_("Responsibility"),
    "measures": N_("Measures"),
    "funds": N_("Funds"),
    "time_limit": N_("Time limit"),
    "plan": N_("Contingency plan"),
}


def action_prompt(_: Translator, draft: ActionDraftView, *, today: date) -> Say:
    """The prompt of an action draft's current step."""
    if draft.step in FIVE_ITEM_PROMPTS:
        return _five_item_prompt(_, draft, today)
    prompt = _ACTION_PROMPTS.get(draft.step)
    return prompt(_, draft, today) if prompt is not None else Say(_head(draft))


def _head(draft: ActionDraftView) -> str:
    return f"{draft.number} · "


def _cancel(_: Translator, draft: ActionDraftView) -> tuple[Button, ...]:
    return (Button(_("✖️ Cancel"), f"a:{draft.id}:cancel"),)


def _five_item_prompt(_: Translator, draft: ActionDraftView, today: date) -> Say:
    n = list(FIVE_ITEM_PROMPTS).index(draft.step) + 1
    text = _head(draft) + _(
        "Major hidden danger: five items to settle ({n}/5).\n{question}",
        n=n,
        question=_(FIVE_ITEM_PROMPTS[draft.step]),
    )
    suggested = str((draft.data.get("suggested") or {}).get(draft.step) or "")
    if not suggested:
        return Say(text, (_cancel(_, draft),))
    # From the report (who answers for it, its deadline): one tap takes it, typing replaces it.
    text += "\n" + _("Tap to take it as it stands, or type your own.")
    accept = (Button(f"✓ {shorten(suggested, SUGGESTION_IN_BUTTON)}", f"a:{draft.id}:accept"),)
    return Say(text, (accept, _cancel(_, draft)))


def _photos_prompt(_: Translator, draft: ActionDraftView, today: date) -> Say:
    note = str(draft.data.get("note") or "")
    if draft.photos and note:
        # Photos and the note (an album's caption) are in: the summary, one tap from done.
        return _summary(_, draft)
    if draft.photos:
        text = _(
            "{count} after-photos received. Write in a few words what was done, "
            "or send more photos.",
            count=draft.photos,
        )
        done = (Button(_("✅ Done"), f"a:{draft.id}:done"),)
        return Say(_head(draft) + text, (done, _cancel(_, draft)))
    text = _(
        "Send photos of the rectified site, taken from where the hidden danger was "
        "photographed (1 to 10), with what was done as the caption."
    )
    if note:
        text += "\n" + _("Note: {note}", note=shorten(note, 300))
    return Say(_head(draft) + text, (_cancel(_, draft),))


def _note_prompt(_: Translator, draft: ActionDraftView, today: date) -> Say:
    return Say(_head(draft) + _("Describe in a few words what was done."), (_cancel(_, draft),))


def _confirm_prompt(_: Translator, draft: ActionDraftView, today: date) -> Say:
    return _summary(_, draft)


def _summary(_: Translator, draft: ActionDraftView) -> Say:
    """The rectification as it will go to the verifier, with Submit: a few lines, the five
    items (of a major danger) on one."""
    data = draft.data
    lines = [_head(draft) + _("Submit this rectification for verification?")]
    lines.append(_("After-photos: {count}", count=draft.photos))
    lines.append(_("Note: {note}", note=shorten(str(data.get("note", "")), 300)))
    items = [shorten(str(data[key]), 40) for key in FIVE_ITEM_NAMES if key in data]
    if items:
        lines.append(_("Five items: {items}", items=" · ".join(items)))
    if draft.step == "photos":
        lines.append(_("More photos, or a new note, may still be sent."))
    submit = (Button(_("✅ Submit"), f"a:{draft.id}:submit"),)
    return Say("\n".join(lines), (submit, _cancel(_, draft)))


def _reason_prompt(_: Translator, draft: ActionDraftView, today: date) -> Say:
    questions = {
        Action.REJECT: _("Why is the rectification rejected? The inspector will read this."),
        Action.REFUSE: _("Why is the extension refused? The inspector will read this."),
        Action.REOPEN: _("Why is it reopened?"),
        Action.EXTEND: _("Why is more time needed?"),
    }
    question = questions.get(Action(draft.action), _("Why?"))
    return Say(_head(draft) + question, (_cancel(_, draft),))


def _person_prompt(_: Translator, draft: ActionDraftView, today: date) -> Say:
    if not draft.choices:
        text = _head(draft) + _("Nobody else in this unit or above it can take it over.")
        return Say(text, (_cancel(_, draft),))
    people = tuple(
        (Button(name, f"a:{draft.id}:person:{user_id}"),) for user_id, name in draft.choices
    )
    return Say(_head(draft) + _("Who answers for it from now on?"), (*people, _cancel(_, draft)))


def _date_prompt(_: Translator, draft: ActionDraftView, today: date) -> Say:
    later = tuple(
        Button(_("+{days} days", days=days), f"a:{draft.id}:days:{days}") for days in (7, 15, 30)
    )
    text = _head(draft) + _(
        "Until when? Choose how much later, or type the new deadline (e.g. {example}).",
        example=(today + timedelta(days=14)).isoformat(),
    )
    return Say(text, (later, _cancel(_, draft)))


# Each step of an action draft and its prompt (the five items share one, above).
_ACTION_PROMPTS: dict[str, Callable[[Translator, ActionDraftView, date], Say]] = {
    "photos": _photos_prompt,
    "note": _note_prompt,
    "confirm": _confirm_prompt,
    "reason": _reason_prompt,
    "person": _person_prompt,
    "date": _date_prompt,
}
