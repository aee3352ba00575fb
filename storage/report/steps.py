"""One function per step of the report conversation, and the dispatch table that picks it.

Each step checks its answer, saves it in the draft and moves the draft on; a wrong answer
raises a `DomainError` whose key says why, and nothing of the draft changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account
from storage.campaigns import MAX_DEADLINE_DAYS
from storage.conversation import (
    Input,
    InputKind,
    Notice,
    clean,
    plain,
    set_data,
    small_int,
)
from storage.dto import CampaignInfo
from storage.errors import N_, DomainError, Invalid
from storage.models import (
    DangerLevel,
    Draft,
    Field,
    Photo,
    PhotoStage,
    RecordKind,
    Task,
    TaskStatus,
    User,
)
from storage.report.deadline import parse_deadline
from storage.report.draft import EDITABLE, Step, answered_ahead, draft_view, go_to, next_step
from storage.report.rules import ReportRules
from storage.report.submit import Submitted, submit
from storage.report.suggestions import earlier_site, last_place
from storage.units import unit_and_descendants
from storage.uploads import MAX_PHOTOS

MAX_SITE = 100
MAX_DESCRIPTION = 800
MAX_ADDRESS = 200


QUICK_DEADLINES = (3, 7, 15, 30)


@dataclass(frozen=True, slots=True)
class StepExtra:
    notices: list[Notice] = field(default_factory=list)
    submitted: Submitted | None = None
    prompt: bool = True


def _wrong_kind(given: Input, expected: str) -> DomainError:
    if given.kind == InputKind.TEXT and len(given.text) > 4000:
        return Invalid(N_("That text is too long."))
    hints = {
        "text": N_("Please answer with text."),
        "button": N_("Please choose with the buttons below."),
        "photo": N_("Please send a photo (or an image file), or tap Done."),
        "location": N_("Please share your location, type the address, or tap Skip."),
        "date": N_("Please choose a deadline below or type a date like 2026-12-05."),
    }
    return Invalid(hints[expected])


async def _step_task(
    session: AsyncSession,
    draft: Draft,
    user: User,
    account: Account,
    campaign: CampaignInfo,
    given: Input,
    rules: ReportRules,
    now: datetime,
) -> StepExtra | None:
    if given.kind == InputKind.TEXT:
        query = clean(given.text)
        if len(query) > 60:
            raise Invalid(N_("Type a few words of the task's code or title to search."))
        set_data(draft, task_query=query, task_page=0)
        return None  # the prompt lists what matches, or says nothing does
    if given.kind != InputKind.BUTTON:
        raise _wrong_kind(given, "button")
    action, _, arg = given.button.partition(":")
    if action == "page" and (page := small_int(arg)) is not None:
        set_data(draft, task_page=max(0, page))
        return None
    if action == "all":
        set_data(draft, task_query=None, task_page=0)
        return None
    task_id = small_int(arg)
    if action != "task" or task_id is None:
        raise _wrong_kind(given, "button")
    task = await session.get(Task, task_id)
    assert user.unit_id is not None
    allowed = await unit_and_descendants(session, user.unit_id)
    if (
        task is None
        or task.campaign_id != campaign.id
        or task.unit_id not in allowed
        or task.status != TaskStatus.OPEN
    ):
        raise Invalid(N_("That task is not open for your unit. Choose another."))
    data = draft.data or {}
    set_data(draft, task_id=task.id, task_query=None, task_page=None)
    if not data.get("field_id") or data.get("field_auto"):
        # The field follows the task until the inspector picks another.
        set_data(draft, field_id=task.field_id, field_auto=True)
    if data.get("quick"):
        answered_ahead(draft, Step.FIELD)
    go_to(draft, next_step(draft, Step.TASK))
    return None


async def _step_site(
    session: AsyncSession,
    draft: Draft,
    user: User,
    account: Account,
    campaign: CampaignInfo,
    given: Input,
    rules: ReportRules,
    now: datetime,
) -> StepExtra | None:
    if given.kind == InputKind.BUTTON:
        # A site of the inspector's earlier reports, named by that report.
        action, _, arg = given.button.partition(":")
        danger_id = small_int(arg)
        earlier = None
        if action == "site" and danger_id is not None:
            earlier = await earlier_site(session, user_id=user.id, danger_id=danger_id)
        if earlier is None:
            raise _wrong_kind(given, "text")
        set_data(draft, site=earlier)
        go_to(draft, next_step(draft, Step.SITE))
        return None
    if given.kind != InputKind.TEXT:
        raise _wrong_kind(given, "text")
    site = clean(given.text)
    if len(site) < 2:
        raise Invalid(N_("Type the enterprise's or the place's name."))
    if len(site) > MAX_SITE:
        raise Invalid(N_("That name is longer than {max} characters. Shorten it."), max=MAX_SITE)
    set_data(draft, site=site)
    go_to(draft, next_step(draft, Step.SITE))
    return None


async def _step_field(
    session: AsyncSession,
    draft: Draft,
    user: User,
    account: Account,
    campaign: CampaignInfo,
    given: Input,
    rules: ReportRules,
    now: datetime,
) -> StepExtra | None:
    if given.kind != InputKind.BUTTON:
        raise _wrong_kind(given, "button")
    action, _, code = given.button.partition(":")
    row = (await session.scalars(select(Field).where(Field.code == code))).first()
    if action != "field" or row is None:
        raise _wrong_kind(given, "button")
    set_data(draft, field_id=row.id, field_auto=None)
    go_to(draft, next_step(draft, Step.FIELD))
    return None


async def _step_description(
    session: AsyncSession,
    draft: Draft,
    user: User,
    account: Account,
    campaign: CampaignInfo,
    given: Input,
    rules: ReportRules,
    now: datetime,
) -> StepExtra | None:
    set_data(draft, description=description_of(given))
    go_to(draft, next_step(draft, Step.DESCRIPTION))
    return None


def description_of(given: Input) -> str:
    """The description a text gives, or why it cannot be one."""
    if given.kind != InputKind.TEXT:
        raise _wrong_kind(given, "text")
    text = plain(given.text).strip()
    if len(text) < 4:
        raise Invalid(N_("Describe the hidden danger in a sentence or two."))
    if len(text) > MAX_DESCRIPTION:
        raise Invalid(
            N_("The description is {length} characters long; keep it within {max}."),
            length=len(text),
            max=MAX_DESCRIPTION,
        )
    return text


async def _step_photos(
    session: AsyncSession,
    draft: Draft,
    user: User,
    account: Account,
    campaign: CampaignInfo,
    given: Input,
    rules: ReportRules,
    now: datetime,
) -> StepExtra | None:
    count = await session.scalar(
        select(func.count())
        .select_from(Photo)
        .where(Photo.draft_id == draft.id, Photo.stage == PhotoStage.BEFORE)
    )
    count = count or 0
    if given.kind == InputKind.BUTTON and given.button == "done":
        # Photos are evidence a hidden danger must have; a problem or a risk may go without.
        if count == 0 and draft.kind == RecordKind.HIDDEN_DANGER:
            raise Invalid(N_("Send at least one photo of the hidden danger first."))
        go_to(draft, next_step(draft, Step.PHOTOS))
        return None
    if given.kind == InputKind.BUTTON and given.button == "clear":
        await session.execute(
            update(Photo)
            .where(Photo.draft_id == draft.id, Photo.stage == PhotoStage.BEFORE)
            .values(draft_id=None)
        )
        return StepExtra([Notice(N_("Photos removed. Send new ones."))])
    if given.kind != InputKind.PHOTO or given.photo is None:
        raise _wrong_kind(given, "photo")
    new = given.photo
    same = await session.scalar(
        select(func.count())
        .select_from(Photo)
        .where(
            Photo.draft_id == draft.id,
            Photo.stage == PhotoStage.BEFORE,
            Photo.sha256 == new.sha256,
        )
    )
    if same:
        return StepExtra([Notice(N_("You already sent this photo."))], prompt=False)
    if count >= MAX_PHOTOS:
        raise Invalid(N_("That is {max} photos already, the most a report holds."), max=MAX_PHOTOS)
    session.add(new.as_row(draft_id=draft.id, stage=PhotoStage.BEFORE, user_id=draft.user_id))
    await session.flush()
    draft.updated_at = now
    return None


async def _step_location(
    session: AsyncSession,
    draft: Draft,
    user: User,
    account: Account,
    campaign: CampaignInfo,
    given: Input,
    rules: ReportRules,
    now: datetime,
) -> StepExtra | None:
    lat = lon = None
    address = None
    source = ""
    if given.kind == InputKind.BUTTON and given.button == "skip":
        set_data(draft, latitude=None, longitude=None, address=None, location_source="skipped")
        set_data(draft, location_far=None)
        go_to(draft, next_step(draft, Step.LOCATION))
        return None
    if given.kind == InputKind.BUTTON and given.button == "photo":
        view = await draft_view(session, draft)
        if view.photo_gps is None:
            raise Invalid(N_("None of the photos carries a location."))
        lat, lon = view.photo_gps
        source = "photo"
    elif given.kind == InputKind.BUTTON and given.button == "last":
        last = await last_place(session, user_id=user.id, now=now)
        if last is None:
            raise Invalid(N_("Your last report is over an hour old: send your location."))
        lat, lon, address = last.latitude, last.longitude, last.address
        source = "last"
    elif given.kind == InputKind.LOCATION and given.latitude is not None:
        lat, lon = given.latitude, given.longitude
        address = (given.address or "").strip()[:MAX_ADDRESS] or None
        source = "venue" if address else "shared"
    elif given.kind == InputKind.TEXT:
        address = clean(given.text)
        if len(address) < 3:
            raise Invalid(N_("Type the address, share your location, or tap Skip."))
        if len(address) > MAX_ADDRESS:
            raise Invalid(N_("The address is longer than {max} characters."), max=MAX_ADDRESS)
        source = "typed"
    else:
        raise _wrong_kind(given, "location")
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise Invalid(N_("That location is not on Earth."))
    far = bool(
        lat is not None
        and lon is not None
        and rules.area is not None
        and not rules.area.contains(lat, lon)
    )
    set_data(
        draft,
        latitude=lat,
        longitude=lon,
        address=address,
        location_source=source,
        location_far=far or None,
    )
    go_to(draft, next_step(draft, Step.LOCATION))
    if far:
        return StepExtra([Notice(N_("Note: this location lies outside the campaign's area."))])
    return None


async def _step_level(
    session: AsyncSession,
    draft: Draft,
    user: User,
    account: Account,
    campaign: CampaignInfo,
    given: Input,
    rules: ReportRules,
    now: datetime,
) -> StepExtra | None:
    if given.kind != InputKind.BUTTON:
        raise _wrong_kind(given, "button")
    action, _, level = given.button.partition(":")
    allowed = (
        {DangerLevel.RED, DangerLevel.ORANGE, DangerLevel.YELLOW, DangerLevel.BLUE}
        if draft.kind == RecordKind.RISK
        else {DangerLevel.GENERAL, DangerLevel.MAJOR}
    )
    if action != "level" or level not in allowed:
        raise _wrong_kind(given, "button")
    set_level(draft, level, campaign, now)
    go_to(draft, next_step(draft, Step.LEVEL))
    return None


def set_level(draft: Draft, level: str, campaign: CampaignInfo, now: datetime) -> None:
    """Give the draft its level; a default deadline follows the level's default."""
    set_data(draft, level=level)
    if (draft.data or {}).get("deadline_auto"):
        set_default_deadline(draft, campaign, now)


def set_default_deadline(draft: Draft, campaign: CampaignInfo, now: datetime) -> None:
    """The campaign's default deadline for the draft's level, counted from today."""
    today = now.astimezone(ZoneInfo(campaign.timezone)).date()
    days = campaign.default_deadline_days((draft.data or {}).get("level") or DangerLevel.GENERAL)
    set_data(draft, deadline=(today + timedelta(days=days)).isoformat(), deadline_auto=True)


async def _step_deadline(
    session: AsyncSession,
    draft: Draft,
    user: User,
    account: Account,
    campaign: CampaignInfo,
    given: Input,
    rules: ReportRules,
    now: datetime,
) -> StepExtra | None:
    today = now.astimezone(ZoneInfo(campaign.timezone)).date()
    if given.kind == InputKind.BUTTON:
        action, _, days = given.button.partition(":")
        quick = small_int(days)
        if action != "days" or quick not in QUICK_DEADLINES:
            raise _wrong_kind(given, "date")
        deadline = today + timedelta(days=quick)
    elif given.kind == InputKind.TEXT:
        parsed = parse_deadline(given.text, today=today)
        if parsed is None:
            raise Invalid(
                N_("“{text}” is not a date I can read. Type it like 2026-12-05 or 12月5日."),
                text=given.text.strip()[:40],
            )
        deadline = parsed
    else:
        raise _wrong_kind(given, "date")
    if deadline < today:
        raise Invalid(N_("{date} has passed. Choose a date from today on."), date=deadline)
    if deadline > today + timedelta(days=MAX_DEADLINE_DAYS):
        raise Invalid(
            N_("{date} is too far ahead. Choose a date within three years."), date=deadline
        )
    set_data(draft, deadline=deadline.isoformat(), deadline_auto=None)
    go_to(draft, next_step(draft, Step.DEADLINE))
    if deadline > campaign.closing_date:
        return StepExtra(
            [
                Notice(
                    N_("Note: {date} is after the campaign closes on {closing}."),
                    {"date": deadline, "closing": campaign.closing_date},
                )
            ]
        )
    return None


async def _step_confirm(
    session: AsyncSession,
    draft: Draft,
    user: User,
    account: Account,
    campaign: CampaignInfo,
    given: Input,
    rules: ReportRules,
    now: datetime,
) -> StepExtra | None:
    if given.kind == InputKind.TEXT and not (draft.data or {}).get("description"):
        # The card is the form: a report begun by an uncaptioned photo takes its description
        # typed right there.
        set_data(draft, description=description_of(given))
        return None
    if given.kind != InputKind.BUTTON:
        raise _wrong_kind(given, "button")
    action, _, arg = given.button.partition(":")
    if action == "edit":
        if arg not in {s.value for s in EDITABLE}:
            raise _wrong_kind(given, "button")
        set_data(draft, editing=True)
        draft.step = arg
        return None
    if action == "flip" and draft.kind != RecordKind.RISK:
        # One tap between a general and a major hidden danger (its default deadline follows).
        level = (draft.data or {}).get("level")
        flipped = DangerLevel.GENERAL if level == DangerLevel.MAJOR else DangerLevel.MAJOR
        set_level(draft, flipped, campaign, now)
        return None
    if action != "submit":
        raise _wrong_kind(given, "button")
    submitted = await submit(session, draft, user, account, campaign, rules, now)
    return StepExtra(submitted=submitted, prompt=False)


STEPS = {
    Step.TASK: _step_task,
    Step.SITE: _step_site,
    Step.FIELD: _step_field,
    Step.DESCRIPTION: _step_description,
    Step.PHOTOS: _step_photos,
    Step.LOCATION: _step_location,
    Step.LEVEL: _step_level,
    Step.DEADLINE: _step_deadline,
    Step.CONFIRM: _step_confirm,
}
