"""A report draft and its view: the step it waits at, and every answer so far resolved to names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account
from storage.conversation import (
    open_draft_of,
    set_data,
)
from storage.dto import FieldInfo, PhotoRef
from storage.errors import N_, NotFound
from storage.models import (
    Draft,
    DraftFlow,
    Field,
    Photo,
    PhotoStage,
    Task,
    Unit,
    User,
)
from storage.people import user_row


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
# A report begun by its photos (photo first) asks what only the inspector knows, place first
# (it brings the sites nearby), then the site (it brings the site's tasks), then the task (it
# brings the field); the level and deadline take defaults and the description the caption, all
# shown on the summary card, where one tap changes any of them.
QUICK_ORDER = [
    Step.PHOTOS,
    Step.DESCRIPTION,
    Step.LOCATION,
    Step.SITE,
    Step.TASK,
    Step.FIELD,
    Step.LEVEL,
    Step.DEADLINE,
    Step.CONFIRM,
]
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
    # Begun by sending photos (photo first): asked in QUICK_ORDER, the card is the form.
    quick: bool = False
    # More photos join it without asking (the rest of the album that began it).
    album_open: bool = False
    # Photos sent while it was open, waiting for "add to it" or "start a new one".
    held: int = 0
    # The deadline is the campaign's default for the level, and follows a change of level.
    deadline_auto: bool = False

    @property
    def takes_photos(self) -> bool:
        """Whether photos sent now were taken (or held), so the album's answer is the prompt."""
        return self.step == Step.PHOTOS or self.album_open or self.held > 0


# --- small helpers -----------------------------------------------------------------------------


async def reporter(session: AsyncSession, account: Account) -> User:
    user = await user_row(session, account, active_only=True)
    if user is None or user.unit_id is None:
        raise NotFound(N_("Only registered inspectors of a unit can report hidden dangers."))
    return user


async def open_draft(session: AsyncSession, user_id: int) -> Draft | None:
    return await open_draft_of(session, user_id, DraftFlow.REPORT)


def fields_of(rows: list[Field]) -> list[FieldInfo]:
    return [FieldInfo(f.id, f.code, f.name_zh, f.name_en) for f in rows]


async def all_fields(session: AsyncSession) -> list[FieldInfo]:
    return fields_of(list(await session.scalars(select(Field).order_by(Field.position))))


async def draft_view(session: AsyncSession, draft: Draft) -> DraftView:
    data = draft.data or {}
    task = await session.get(Task, data["task_id"]) if data.get("task_id") else None
    field_row = await session.get(Field, data["field_id"]) if data.get("field_id") else None
    task_field = await session.get(Field, task.field_id) if task else None
    rows = list(
        await session.scalars(select(Photo).where(Photo.draft_id == draft.id).order_by(Photo.id))
    )
    photos = [p for p in rows if p.stage != PhotoStage.HELD]
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
        field=fields_of([field_row])[0] if field_row else None,
        task_field=fields_of([task_field])[0] if task_field else None,
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
        quick=bool(data.get("quick")),
        album_open=bool(data.get("album_open")),
        held=len(rows) - len(photos),
        deadline_auto=bool(data.get("deadline_auto")),
    )


# How the order is decided: the steps are asked in their order (ORDER, or QUICK_ORDER for a
# report begun by its photos), one after another, except those answered ahead of their turn,
# listed in the draft's data under "ahead" (a report begun by its photos holds its photos and
# its caption before any step was asked, and takes defaults for its level and deadline); while
# editing, every answer leads back to the summary.


def order_of(draft: Draft) -> list[Step]:
    """The order the draft's steps are asked in."""
    return QUICK_ORDER if (draft.data or {}).get("quick") else ORDER


def next_step(draft: Draft, current: Step) -> Step:
    """After answering `current`: back to the summary when editing, else the following step
    not answered ahead of its turn."""
    if (draft.data or {}).get("editing"):
        return Step.CONFIRM
    return first_unanswered(draft, after=current)


def first_unanswered(draft: Draft, *, after: Step | None = None) -> Step:
    """The first step after `after` (from the start without it) not answered ahead."""
    ahead = set((draft.data or {}).get("ahead", ()))
    order = order_of(draft)
    start = 0 if after is None else order.index(after) + 1
    # The summary is never answered ahead, so the search always ends.
    return next(step for step in order[start:] if step.value not in ahead)


def answered_ahead(draft: Draft, step: Step) -> None:
    """Note that `step` is answered before its turn, so it will not be asked."""
    ahead = list((draft.data or {}).get("ahead", ()))
    if step.value not in ahead:
        set_data(draft, ahead=[*ahead, step.value])


def joins_photos(draft: Draft, album: str | None) -> bool:
    """Whether a photo sent now (in `album`, if the front says) joins the draft's photos: at
    its photos step, or while the batch that began it is still coming in — the rest of its
    album, or, begun by a photo outside any album, more such photos — until another answer.
    Any other photo waits for "add to it or start a new one"."""
    data = draft.data or {}
    if draft.step == Step.PHOTOS:
        return True
    batch = data.get("album_open")
    if not batch or data.get("editing"):
        return False
    return album is None if batch is True else album == batch


def go_to(draft: Draft, step: Step) -> None:
    draft.step = step.value
    if step == Step.CONFIRM:
        set_data(draft, editing=None)
