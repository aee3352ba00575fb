"""The report conversation as domain operations: a draft saved with every step it answers.

Fronts (Telegram now, WeCom later) turn a person's message into a `Input`, call
`answer_report`, and render the `ReportReply`. Every rule of every step lives here, so a
second front only parses and renders. Each call is one transaction that also records the
front's message id, so a message delivered twice is acted on once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account
from storage.audit import record_event
from storage.campaigns import require_campaign
from storage.clock import utcnow
from storage.conversation import (
    Input,
    InputKind,
    Notice,
    claim_update,
    clean,
    plain,
    set_data,
    small_int,
)
from storage.dto import CampaignInfo, FieldInfo, PhotoRef
from storage.errors import N_, DomainError, Invalid, NotFound
from storage.models import (
    Channel,
    DangerLevel,
    DangerStatus,
    Draft,
    DraftFlow,
    DraftStatus,
    Field,
    GroupChat,
    HiddenDanger,
    NumberSequence,
    Photo,
    PhotoStage,
    PushTarget,
    RecordKind,
    Subscription,
    SubscriptionKind,
    Task,
    TaskStatus,
    Unit,
    User,
)
from storage.outbox import enqueue
from storage.overdue import OPEN_STATUSES
from storage.people import user_row
from storage.push_payloads import ReportCardPush
from storage.units import unit_and_ancestors, unit_and_descendants
from storage.uploads import MAX_PHOTOS

MAX_SITE = 100
MAX_DESCRIPTION = 800
MAX_ADDRESS = 200
TASKS_PER_PAGE = 6
QUICK_DEADLINES = (3, 7, 15, 30)


class Step(StrEnum):
    TASK = "task"
    SITE = "site"
    FIELD = "field"
    DESCRIPTION = "description"
    PHOTOS = "photos"
    LOCATION = "location"
    LEVEL = "level"
    DEADLINE = "deadline"
    CONFIRM = "confirm"


ORDER = list(Step)
EDITABLE = (
    Step.TASK,
    Step.SITE,
    Step.FIELD,
    Step.DESCRIPTION,
    Step.PHOTOS,
    Step.LOCATION,
    Step.LEVEL,
    Step.DEADLINE,
)


@dataclass(frozen=True, slots=True)
class TaskChoice:
    id: int
    code: str
    title: str
    due_date: date


@dataclass(frozen=True, slots=True)
class TaskPage:
    items: list[TaskChoice]
    page: int
    pages: int
    query: str
    total: int


@dataclass(frozen=True, slots=True)
class PhotoView:
    id: int
    ref: PhotoRef
    sha256: str
    exif_lat: float | None
    exif_lon: float | None


@dataclass(frozen=True, slots=True)
class DraftView:
    """What a front needs to show a draft: every answer so far, resolved to names."""

    id: int
    step: Step
    kind: str
    editing: bool
    task: TaskChoice | None
    site: str | None
    field: FieldInfo | None
    task_field: FieldInfo | None
    description: str | None
    photos: list[PhotoView]
    latitude: float | None
    longitude: float | None
    address: str | None
    location_source: str | None
    location_far: bool
    level: str | None
    deadline: date | None
    photo_gps: tuple[float, float] | None
    unit_name: str


@dataclass(frozen=True, slots=True)
class Submitted:
    danger_id: int
    number: str


@dataclass(frozen=True, slots=True)
class ReportReply:
    """What the front shows after an answer: notices, then the prompt of `draft.step`."""

    draft: DraftView | None
    notices: list[Notice] = field(default_factory=list)
    tasks: TaskPage | None = None
    fields: list[FieldInfo] = field(default_factory=list)
    possible_duplicates: list[str] = field(default_factory=list)
    submitted: Submitted | None = None
    discarded: bool = False
    resume_offer: bool = False
    duplicate_update: bool = False
    prompt: bool = True  # False when the answer needs no new prompt (an album in progress)
    today: date | None = None  # in the campaign's time zone, for quick picks of dates
    # A report begun minutes after the last one went in names it (its answer may have been lost).
    last_submitted: str | None = None


@dataclass(frozen=True, slots=True)
class Area:
    """The campaign's area as a bounding box; a location outside it is flagged, not refused."""

    lat_min: float
    lon_min: float
    lat_max: float
    lon_max: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.lat_min <= lat <= self.lat_max and self.lon_min <= lon <= self.lon_max


@dataclass(frozen=True, slots=True)
class ReportRules:
    """Deployment settings the report rules need."""

    area: Area | None
    number_prefix: str = "DL"


# --- small helpers -----------------------------------------------------------------------------


async def _user(session: AsyncSession, account: Account) -> User:
    user = await user_row(session, account, active_only=True)
    if user is None or user.unit_id is None:
        raise NotFound(N_("Only registered inspectors of a unit can report hidden dangers."))
    return user


async def _open_draft(session: AsyncSession, user_id: int) -> Draft | None:
    return (
        await session.scalars(
            select(Draft)
            .where(
                Draft.user_id == user_id,
                Draft.flow == DraftFlow.REPORT,
                Draft.status == DraftStatus.OPEN,
            )
            # Two answers of one person handled at once (two bot processes) must queue up;
            # SQLite needs no lock: BEGIN IMMEDIATE serialises every writer.
            .with_for_update()
        )
    ).first()


def _fields_of(rows: list[Field]) -> list[FieldInfo]:
    return [FieldInfo(f.id, f.code, f.name_zh, f.name_en) for f in rows]


async def _all_fields(session: AsyncSession) -> list[FieldInfo]:
    return _fields_of(list(await session.scalars(select(Field).order_by(Field.position))))


async def _view(session: AsyncSession, draft: Draft) -> DraftView:
    data = draft.data or {}
    task = await session.get(Task, data["task_id"]) if data.get("task_id") else None
    field_row = await session.get(Field, data["field_id"]) if data.get("field_id") else None
    task_field = await session.get(Field, task.field_id) if task else None
    photos = list(
        await session.scalars(select(Photo).where(Photo.draft_id == draft.id).order_by(Photo.id))
    )
    gps = next(
        ((p.exif_lat, p.exif_lon) for p in photos if p.exif_lat is not None and p.exif_lon),
        None,
    )
    user = await session.get(User, draft.user_id)
    unit = await session.get(Unit, user.unit_id) if user and user.unit_id else None
    lat, lon = data.get("latitude"), data.get("longitude")
    return DraftView(
        id=draft.id,
        step=Step(draft.step),
        kind=draft.kind,
        editing=bool(data.get("editing")),
        task=TaskChoice(task.id, task.code, task.title, task.due_date) if task else None,
        site=data.get("site"),
        field=_fields_of([field_row])[0] if field_row else None,
        task_field=_fields_of([task_field])[0] if task_field else None,
        description=data.get("description"),
        photos=[
            PhotoView(
                p.id,
                PhotoRef(p.file_id, p.source, p.path, p.thumb_path),
                p.sha256,
                p.exif_lat,
                p.exif_lon,
            )
            for p in photos
        ],
        latitude=lat,
        longitude=lon,
        address=data.get("address"),
        location_source=data.get("location_source"),
        location_far=bool(data.get("location_far")),
        level=data.get("level"),
        deadline=date.fromisoformat(data["deadline"]) if data.get("deadline") else None,
        photo_gps=(float(gps[0]), float(gps[1])) if gps and gps[0] is not None else None,
        unit_name=unit.name if unit else "",
    )


def _next_step(draft: Draft, current: Step) -> Step:
    """After answering `current`: back to the summary when editing, else the following step."""
    if (draft.data or {}).get("editing"):
        return Step.CONFIRM
    return ORDER[ORDER.index(current) + 1]


def _go(draft: Draft, step: Step) -> None:
    draft.step = step.value
    if step == Step.CONFIRM:
        set_data(draft, editing=None)


# --- the task list ------------------------------------------------------------------------------


def _task_query(unit_ids: set[int], campaign_id: int, query: str) -> Select[Any]:
    stmt = select(Task).where(
        Task.campaign_id == campaign_id,
        Task.unit_id.in_(unit_ids),
        Task.status == TaskStatus.OPEN,
    )
    query = query.strip().lower()
    if query:
        # autoescape: a typed % or _ is a character to find, not a wildcard.
        stmt = stmt.where(
            or_(
                func.lower(Task.code).contains(query, autoescape=True),
                func.lower(Task.title).contains(query, autoescape=True),
            )
        )
    return stmt


async def task_page(
    session: AsyncSession, *, unit_id: int, campaign_id: int, query: str = "", page: int = 0
) -> TaskPage:
    """Return one page of the open tasks of a unit and its sub-units, latest due date first."""
    unit_ids = await unit_and_descendants(session, unit_id)
    base = _task_query(unit_ids, campaign_id, query)
    total = await session.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max(1, -(-total // TASKS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    rows = await session.scalars(
        base.order_by(Task.due_date.desc(), Task.code)
        .offset(page * TASKS_PER_PAGE)
        .limit(TASKS_PER_PAGE)
    )
    items = [TaskChoice(t.id, t.code, t.title, t.due_date) for t in rows]
    return TaskPage(items, page, pages, query, total)


# --- the operations ----------------------------------------------------------------------------


async def begin_report(
    session: AsyncSession,
    *,
    account: Account,
    update_id: int | None,
    kind: str = RecordKind.HIDDEN_DANGER,
) -> ReportReply:
    """Start a report, or offer to resume the one already open."""
    user = await _user(session, account)
    campaign = await require_campaign(session)
    if not await claim_update(session, update_id):
        return await _replay(session, user)
    draft = await _open_draft(session, user.id)
    if draft is not None:
        await session.commit()
        return ReportReply(await _view(session, draft), resume_offer=True, prompt=False)
    # A crash can swallow the "Submitted" answer: whoever starts again a few minutes later is
    # told their last report went in, so it is not logged twice.
    last = await session.scalar(
        select(HiddenDanger.number)
        .join(Draft, Draft.danger_id == HiddenDanger.id)
        .where(
            Draft.user_id == user.id,
            Draft.status == DraftStatus.SUBMITTED,
            Draft.updated_at >= utcnow() - JUST_SUBMITTED,
        )
        .order_by(Draft.updated_at.desc())
        .limit(1)
    )
    draft = Draft(user_id=user.id, flow=DraftFlow.REPORT, kind=kind, step=Step.TASK.value, data={})
    session.add(draft)
    await session.flush()
    reply = await _reply(session, draft, user, campaign)
    await session.commit()
    return replace(reply, last_submitted=last)


async def resume_report(
    session: AsyncSession, *, account: Account, update_id: int | None, draft_id: int | None = None
) -> ReportReply:
    """Show the open draft at the step where the person stopped."""
    user = await _user(session, account)
    campaign = await require_campaign(session)
    await claim_update(session, update_id)
    draft = await _open_draft(session, user.id)
    if draft is not None and draft_id is not None and draft.id != draft_id:
        notice = await _stale_notice(session, user, draft_id)
        reply = await _reply(session, draft, user, campaign)
        await session.commit()
        return replace(reply, notices=[notice])
    if draft is None:
        await session.commit()
        return ReportReply(None, [Notice(N_("You have no report in progress. Send /report."))])
    reply = await _reply(session, draft, user, campaign)
    await session.commit()
    return reply


async def discard_report(
    session: AsyncSession, *, account: Account, update_id: int | None, draft_id: int | None = None
) -> ReportReply:
    """Throw the open draft away, saying what was in it.

    `draft_id` comes with a button: an old card's Cancel must not throw away today's draft.
    """
    row = await user_row(session, account, active_only=True)
    if row is not None and row.unit_id is None:  # an administrator of the whole campaign
        await claim_update(session, update_id)
        await session.commit()
        return ReportReply(None, [Notice(N_("There was no report in progress."))], prompt=False)
    user = await _user(session, account)
    if not await claim_update(session, update_id):
        return await _replay(session, user)
    draft = await _open_draft(session, user.id)
    if draft is not None and draft_id is not None and draft.id != draft_id:
        notice = await _stale_notice(session, user, draft_id)
        await session.commit()
        return ReportReply(await _view(session, draft), [notice], prompt=False)
    if draft is None:
        await session.commit()
        return ReportReply(None, [Notice(N_("There was no report in progress."))], prompt=False)
    view = await _view(session, draft)
    draft.status = DraftStatus.DISCARDED
    await session.execute(update(Photo).where(Photo.draft_id == draft.id).values(draft_id=None))
    await session.commit()
    return ReportReply(view, discarded=True, prompt=False)


async def current_step(session: AsyncSession, *, account: Account) -> Step | None:
    """Return the step of the person's open draft, or None (cheap: no rendering data)."""
    user = await user_row(session, account)
    if user is None:
        return None
    draft = await _open_draft(session, user.id)
    return Step(draft.step) if draft else None


async def answer_report(
    session: AsyncSession,
    *,
    account: Account,
    update_id: int | None,
    given: Input,
    rules: ReportRules,
    draft_id: int | None = None,
    now: datetime | None = None,
) -> ReportReply:
    """Apply one answer to the open draft's current step and say what comes next.

    `draft_id` comes with a button press: a button of an older draft changes nothing.
    """
    now = now or utcnow()
    user = await _user(session, account)
    campaign = await require_campaign(session)
    if not await claim_update(session, update_id):
        return await _replay(session, user)
    draft = await _open_draft(session, user.id)
    if draft_id is not None and (draft is None or draft.id != draft_id):
        # A button of an earlier draft: say what became of it and change nothing.
        notice = await _stale_notice(session, user, draft_id)
        if draft is None:
            await session.commit()
            return ReportReply(None, [notice], prompt=False)
        reply = await _reply(session, draft, user, campaign)
        await session.commit()
        return replace(reply, notices=[notice])
    if draft is None:
        await session.commit()
        return ReportReply(
            None,
            [Notice(N_("That report is no longer open. Send /report to start a new one."))],
            prompt=False,
        )
    step = Step(draft.step)
    handler = _STEPS[step]
    try:
        extra = await handler(session, draft, user, account, campaign, given, rules, now)
    except DomainError as err:
        # Wrong input: say why and stay on the step; nothing of the draft changes.
        reply = await _reply(session, draft, user, campaign)
        await session.commit()
        return replace(reply, notices=[Notice(err.key, dict(err.params))])
    reply = await _reply(session, draft, user, campaign)
    await session.commit()
    if extra is None:
        return reply
    return replace(
        reply,
        notices=extra.notices + reply.notices,
        submitted=extra.submitted or reply.submitted,
        prompt=extra.prompt and reply.prompt,
    )


async def _stale_notice(session: AsyncSession, user: User, draft_id: int) -> Notice:
    stale = await session.get(Draft, draft_id)
    if stale is not None and stale.user_id == user.id and stale.danger_id is not None:
        danger = await session.get(HiddenDanger, stale.danger_id)
        if danger is not None:
            return Notice(N_("Already submitted as {number}."), {"number": danger.number})
    return Notice(N_("That button belongs to a report that is no longer open."))


async def _replay(session: AsyncSession, user: User) -> ReportReply:
    """A redelivered update: change nothing, show where the draft stands."""
    user_id = user.id  # rollback expires the row; keep the id
    await session.rollback()
    user = await session.get(User, user_id) or user
    draft = await _open_draft(session, user_id)
    if draft is None:
        return ReportReply(None, duplicate_update=True, prompt=False)
    campaign = await require_campaign(session)
    reply = await _reply(session, draft, user, campaign)
    return replace(reply, duplicate_update=True)


async def _reply(
    session: AsyncSession, draft: Draft, user: User, campaign: CampaignInfo
) -> ReportReply:
    """Build the reply for the draft's current step, with the data its prompt needs."""
    view = await _view(session, draft)
    tasks = fields = None
    duplicates: list[str] = []
    if view.step == Step.TASK and user.unit_id is not None:
        tasks = await task_page(
            session,
            unit_id=user.unit_id,
            campaign_id=campaign.id,
            query=(draft.data or {}).get("task_query", ""),
            page=int((draft.data or {}).get("task_page", 0)),
        )
    if view.step in (Step.FIELD, Step.CONFIRM):
        fields = await _all_fields(session)
    if view.step == Step.CONFIRM and view.site and view.field and user.unit_id is not None:
        duplicates = await _possible_duplicates(session, user.unit_id, view.site, view.field.id)
    return ReportReply(
        view,
        tasks=tasks,
        fields=fields or [],
        possible_duplicates=duplicates,
        today=utcnow().astimezone(ZoneInfo(campaign.timezone)).date(),
    )


async def _possible_duplicates(
    session: AsyncSession, unit_id: int, site: str, field_id: int
) -> list[str]:
    key = clean(site).lower()
    rows = await session.scalars(
        select(HiddenDanger.number)
        .where(
            HiddenDanger.unit_id == unit_id,
            HiddenDanger.field_id == field_id,
            # Three ranges of the (unit, status, deadline) index, not the unit's whole ledger.
            HiddenDanger.status.in_(OPEN_STATUSES),
            func.lower(HiddenDanger.site) == key,
        )
        .order_by(HiddenDanger.id.desc())
        .limit(3)
    )
    return list(rows)


# --- one function per step ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Extra:
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
) -> _Extra | None:
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
    set_data(draft, task_id=task.id, task_query=None, task_page=None)
    if not (draft.data or {}).get("field_id"):
        set_data(draft, field_id=task.field_id)
    _go(draft, _next_step(draft, Step.TASK))
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
) -> _Extra | None:
    if given.kind != InputKind.TEXT:
        raise _wrong_kind(given, "text")
    site = clean(given.text)
    if len(site) < 2:
        raise Invalid(N_("Type the enterprise's or the place's name."))
    if len(site) > MAX_SITE:
        raise Invalid(N_("That name is longer than {max} characters. Shorten it."), max=MAX_SITE)
    set_data(draft, site=site)
    _go(draft, _next_step(draft, Step.SITE))
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
) -> _Extra | None:
    if given.kind != InputKind.BUTTON:
        raise _wrong_kind(given, "button")
    action, _, code = given.button.partition(":")
    row = (await session.scalars(select(Field).where(Field.code == code))).first()
    if action != "field" or row is None:
        raise _wrong_kind(given, "button")
    set_data(draft, field_id=row.id)
    _go(draft, _next_step(draft, Step.FIELD))
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
) -> _Extra | None:
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
    set_data(draft, description=text)
    _go(draft, _next_step(draft, Step.DESCRIPTION))
    return None


async def _step_photos(
    session: AsyncSession,
    draft: Draft,
    user: User,
    account: Account,
    campaign: CampaignInfo,
    given: Input,
    rules: ReportRules,
    now: datetime,
) -> _Extra | None:
    count = await session.scalar(
        select(func.count()).select_from(Photo).where(Photo.draft_id == draft.id)
    )
    count = count or 0
    if given.kind == InputKind.BUTTON and given.button == "done":
        # Photos are evidence a hidden danger must have; a problem or a risk may go without.
        if count == 0 and draft.kind == RecordKind.HIDDEN_DANGER:
            raise Invalid(N_("Send at least one photo of the hidden danger first."))
        _go(draft, _next_step(draft, Step.PHOTOS))
        return None
    if given.kind == InputKind.BUTTON and given.button == "clear":
        await session.execute(update(Photo).where(Photo.draft_id == draft.id).values(draft_id=None))
        return _Extra([Notice(N_("Photos removed. Send new ones."))])
    if given.kind != InputKind.PHOTO or given.photo is None:
        raise _wrong_kind(given, "photo")
    new = given.photo
    same = await session.scalar(
        select(func.count())
        .select_from(Photo)
        .where(Photo.draft_id == draft.id, Photo.sha256 == new.sha256)
    )
    if same:
        return _Extra([Notice(N_("You already sent this photo."))], prompt=False)
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
) -> _Extra | None:
    lat = lon = None
    address = None
    source = ""
    if given.kind == InputKind.BUTTON and given.button == "skip":
        set_data(draft, latitude=None, longitude=None, address=None, location_source="skipped")
        set_data(draft, location_far=None)
        _go(draft, _next_step(draft, Step.LOCATION))
        return None
    if given.kind == InputKind.BUTTON and given.button == "photo":
        view = await _view(session, draft)
        if view.photo_gps is None:
            raise Invalid(N_("None of the photos carries a location."))
        lat, lon = view.photo_gps
        source = "photo"
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
    _go(draft, _next_step(draft, Step.LOCATION))
    if far:
        return _Extra([Notice(N_("Note: this location lies outside the campaign's area."))])
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
) -> _Extra | None:
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
    set_data(draft, level=level)
    _go(draft, _next_step(draft, Step.LEVEL))
    return None


# Starting a report this soon after submitting one: say the last one went in.
JUST_SUBMITTED = timedelta(minutes=10)
# A deadline further ahead than this is a typing error.
DEADLINE_YEARS_AHEAD = 5


def parse_deadline(text: str, *, today: date) -> date | None:
    """Read a typed date: 2026-12-05, 2026/12/5, 12-05, 12/5, 12月5日, 2026年12月5日."""
    text = text.strip().replace("．", ".").replace("／", "/").replace("－", "-")
    match = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?", text)
    if match:
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    else:
        match = re.fullmatch(r"(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?", text)
        if not match:
            return None
        month, day = int(match[1]), int(match[2])
        year = today.year
        try:
            if date(year, month, day) < today:
                year += 1  # "12-05" typed in late December means next year's
        except ValueError:
            return None
    if not today.year - 1 <= year <= today.year + DEADLINE_YEARS_AHEAD:
        return None  # 9999-12-31 is a slip of the finger, not a deadline
    try:
        return date(year, month, day)
    except ValueError:
        return None


async def _step_deadline(
    session: AsyncSession,
    draft: Draft,
    user: User,
    account: Account,
    campaign: CampaignInfo,
    given: Input,
    rules: ReportRules,
    now: datetime,
) -> _Extra | None:
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
    if deadline > today + timedelta(days=3 * 366):
        raise Invalid(
            N_("{date} is too far ahead. Choose a date within three years."), date=deadline
        )
    set_data(draft, deadline=deadline.isoformat())
    _go(draft, _next_step(draft, Step.DEADLINE))
    if deadline > campaign.closing_date:
        return _Extra(
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
) -> _Extra | None:
    if given.kind != InputKind.BUTTON:
        raise _wrong_kind(given, "button")
    action, _, arg = given.button.partition(":")
    if action == "edit":
        if arg not in {s.value for s in EDITABLE}:
            raise _wrong_kind(given, "button")
        set_data(draft, editing=True)
        draft.step = arg
        return None
    if action != "submit":
        raise _wrong_kind(given, "button")
    submitted = await _submit(session, draft, user, account, campaign, rules, now)
    return _Extra(submitted=submitted, prompt=False)


_STEPS = {
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


# --- submitting --------------------------------------------------------------------------------


async def _next_number(session: AsyncSession, prefix: str, year: int) -> str:
    """Hand out the next number of the year; numbers are never reused, even after a rollback."""
    name = f"{prefix}-{year}"
    if await session.get(NumberSequence, name) is None:
        try:
            async with session.begin_nested():
                session.add(NumberSequence(name=name, last=0))
        except IntegrityError:
            pass  # another process created it first
    result = await session.execute(
        update(NumberSequence)
        .where(NumberSequence.name == name)
        .values(last=NumberSequence.last + 1)
        .returning(NumberSequence.last)
    )
    return f"{name}-{result.scalar_one():06d}"


async def _submit(
    session: AsyncSession,
    draft: Draft,
    user: User,
    account: Account,
    campaign: CampaignInfo,
    rules: ReportRules,
    now: datetime,
) -> Submitted:
    view = await _view(session, draft)
    missing = [
        name
        for name, value in (
            ("task", view.task),
            ("site", view.site),
            ("field", view.field),
            ("description", view.description),
            ("level", view.level),
            ("deadline", view.deadline),
        )
        if not value
    ]
    if draft.kind == RecordKind.HIDDEN_DANGER and not view.photos:
        missing.append("photos")
    if missing:
        draft.step = missing[0] if missing[0] in {s.value for s in Step} else Step.TASK.value
        set_data(draft, editing=True)
        raise Invalid(N_("Some answers are missing; please complete them first."))
    assert view.task and view.field and view.deadline and view.level and user.unit_id
    assert view.site and view.description
    # A draft resumed days later: its deadline may have passed, its task closed or moved.
    today = now.astimezone(ZoneInfo(campaign.timezone)).date()
    if view.deadline < today:
        draft.step = Step.DEADLINE.value
        set_data(draft, editing=True)
        raise Invalid(
            N_("The deadline {date} has passed meanwhile; choose a new one."),
            date=view.deadline.isoformat(),
        )
    task = await session.get(Task, view.task.id)
    allowed = await unit_and_descendants(session, user.unit_id)
    if task is None or task.status != TaskStatus.OPEN or task.unit_id not in allowed:
        draft.step = Step.TASK.value
        set_data(draft, editing=True, task_id=None)
        raise Invalid(N_("That task is not open for your unit. Choose another."))
    year = now.astimezone(ZoneInfo(campaign.timezone)).year
    number = await _next_number(session, rules.number_prefix, year)
    danger = HiddenDanger(
        number=number,
        campaign_id=campaign.id,
        kind=draft.kind,
        level=view.level,
        task_id=view.task.id,
        unit_id=user.unit_id,
        site=view.site,
        field_id=view.field.id,
        description=view.description,
        latitude=view.latitude,
        longitude=view.longitude,
        address=view.address,
        deadline=view.deadline,
        status=DangerStatus.REPORTED,
        reporter_id=user.id,
        responsible_id=user.id,
        created_at=now,
        updated_at=now,
    )
    session.add(danger)
    await session.flush()
    await session.execute(
        update(Photo).where(Photo.draft_id == draft.id).values(danger_id=danger.id, draft_id=None)
    )
    draft.status = DraftStatus.SUBMITTED
    draft.danger_id = danger.id
    record_event(
        session,
        action="danger.reported",
        actor=account.actor,
        actor_id=user.id,
        danger_id=danger.id,
        subject=number,
        detail={
            "kind": draft.kind,
            "level": view.level,
            "task": view.task.code,
            "site": view.site,
            "field": view.field.code,
            "deadline": view.deadline.isoformat(),
            "photos": len(view.photos),
            "location_source": view.location_source,
            "location_far": view.location_far,
        },
        now=now,
    )
    await _queue_report_cards(session, danger, now)
    return Submitted(danger.id, number)


async def _queue_report_cards(session: AsyncSession, danger: HiddenDanger, now: datetime) -> None:
    """Queue the new-report card for every group of the unit or a unit above it."""
    units = await unit_and_ancestors(session, danger.unit_id)
    rows = await session.execute(
        select(GroupChat.chat_id)
        .join(Subscription, Subscription.group_id == GroupChat.id)
        .where(
            GroupChat.unit_id.in_(units),
            GroupChat.active.is_(True),
            Subscription.kind == SubscriptionKind.REPORTS,
            Subscription.active.is_(True),
        )
    )
    card = ReportCardPush(danger_id=danger.id)
    for (chat_id,) in rows:
        enqueue(
            session, card, channel=Channel.TELEGRAM, target=chat_id, period=danger.number, now=now
        )
    # WeCom group robots that take the unit's reports get the same card, as markdown.
    robots = await session.execute(
        select(PushTarget.id, PushTarget.kinds).where(
            PushTarget.unit_id.in_(units), PushTarget.active.is_(True)
        )
    )
    for target_id, kinds in robots.all():
        if SubscriptionKind.REPORTS in kinds.split(","):
            enqueue(
                session,
                card,
                channel=Channel.WECOM,
                target=target_id,
                period=danger.number,
                now=now,
            )
