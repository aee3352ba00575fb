"""What a report's buttons and typed words mean: the actions its buttons carry, the kinds
`/report WORD` names, and the reply-keyboard labels that come back as typed text."""

from __future__ import annotations

from bot.i18n import N_, Translator
from storage.conversation import small_int
from storage.languages import LANGUAGES
from storage.models import RecordKind

CALLBACK_PREFIX = "r"

# Reply-keyboard buttons come back as plain text; these labels are matched in both languages.
LABEL_SEND_LOCATION = N_("📍 Send my location")
LABEL_PHOTO_LOCATION = N_("📷 Use the photo's location")
LABEL_SKIP = N_("Skip")
LABEL_SAME_PLACE = N_("📌 Same place as my last report")

# /report [kind]: the four lists' record kinds that are reported from the field.
REPORT_KINDS = {
    "": RecordKind.HIDDEN_DANGER,
    "danger": RecordKind.HIDDEN_DANGER,
    "隐患": RecordKind.HIDDEN_DANGER,
    "problem": RecordKind.PROBLEM,
    "问题": RecordKind.PROBLEM,
    "risk": RecordKind.RISK,
    "风险": RecordKind.RISK,
}


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


def report_kind(word: str) -> RecordKind | None:
    """The record kind `/report WORD` asks for; None for a word that names none."""
    return REPORT_KINDS.get(word.lower())


def report_usage(_: Translator) -> str:
    """What /report takes, for a word it does not know."""
    return _(
        "/report logs a hidden danger; /report problem an outstanding problem; /report risk a risk."
    )


def label_is(text: str, label: str) -> bool:
    """Reply-keyboard labels come back as text in whichever language the keyboard was sent."""
    return text in {Translator(language)(label) for language in LANGUAGES}


def typed_location_button(text: str) -> str | None:
    """The location step's button a typed text stands for ("skip", "photo", "last"), or None: where
    the buttons are words on a keyboard (or, on WeCom, words to type), typing one presses it."""
    if label_is(text, LABEL_SKIP):
        return "skip"
    if label_is(text, LABEL_PHOTO_LOCATION):
        return "photo"
    if label_is(text, LABEL_SAME_PLACE):
        return "last"
    return None
