"""Photo first: a report begun by sending its photos, and photos sent while a report is open.

A report begun by its photos takes the caption as its description, the general level with the
campaign's default deadline for it, and the place a photo's GPS gives; it asks only the place
(if no photo knows it), the site and the task, and its summary card is the form. Photos sent
while a report is open and not taking photos are held with it until the inspector says
whether they join it or begin a new report.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.conversation import Input, InputKind, Notice, set_data
from storage.dto import CampaignInfo
from storage.errors import N_, DomainError, Invalid
from storage.models import (
    DangerLevel,
    Draft,
    DraftFlow,
    DraftStatus,
    Photo,
    PhotoStage,
    RecordKind,
    User,
)
from storage.report.draft import Step, answered_ahead, first_unanswered
from storage.report.rules import ReportRules
from storage.report.steps import description_of, set_default_deadline
from storage.uploads import MAX_PHOTOS

# The buttons of the question a held photo asks.
ADD_HELD = "held:add"
NEW_FROM_HELD = "held:new"
HELD_ANSWERS = (ADD_HELD, NEW_FROM_HELD)


def new_quick_draft(user: User, now: datetime, *, album: str | None = None) -> Draft:
    """An empty report draft that its photos begin (`album`: theirs, if the front says)."""
    return Draft(
        user_id=user.id,
        flow=DraftFlow.REPORT,
        kind=RecordKind.HIDDEN_DANGER,
        step=Step.PHOTOS.value,
        # The batch still coming in: the rest of that album, or more photos outside any album.
        data={"quick": True, "album_open": album or True},
        created_at=now,
        updated_at=now,
    )


async def fill_quick_draft(
    session: AsyncSession,
    draft: Draft,
    campaign: CampaignInfo,
    rules: ReportRules,
    now: datetime,
    *,
    caption: str,
) -> list[Notice]:
    """Give a draft that holds its first photos what they imply: the caption as description,
    the default level and deadline, the place of a photo's GPS; move it to the first step left.
    Return what to tell (a caption that cannot be a description)."""
    set_data(draft, level=DangerLevel.GENERAL)
    set_default_deadline(draft, campaign, now)
    # The card shows the description, the level and the deadline, and changes them.
    for step in (Step.PHOTOS, Step.DESCRIPTION, Step.LEVEL, Step.DEADLINE):
        answered_ahead(draft, step)
    notices = take_caption(draft, caption)
    await place_from_photos(session, draft, rules)
    draft.step = first_unanswered(draft).value
    return notices


def take_caption(draft: Draft, caption: str) -> list[Notice]:
    """A photo's caption becomes the description of a draft that has none."""
    if not caption.strip() or (draft.data or {}).get("description"):
        return []
    try:
        set_data(draft, description=description_of(Input(InputKind.TEXT, text=caption)))
    except DomainError as err:
        # The card then asks for a description instead.
        return [Notice(err.key, dict(err.params))]
    return []


async def place_from_photos(session: AsyncSession, draft: Draft, rules: ReportRules) -> None:
    """A report begun by its photos takes its place from the first photo with GPS, unless it
    has one."""
    data = draft.data or {}
    if not data.get("quick") or data.get("location_source"):
        return
    gps = (
        await session.execute(
            select(Photo.exif_lat, Photo.exif_lon)
            .where(
                Photo.draft_id == draft.id,
                Photo.stage == PhotoStage.BEFORE,
                Photo.exif_lat.is_not(None),
                Photo.exif_lon.is_not(None),
            )
            .order_by(Photo.id)
            .limit(1)
        )
    ).first()
    if gps is None or gps[0] is None or gps[1] is None:
        return
    lat, lon = float(gps[0]), float(gps[1])
    far = rules.area is not None and not rules.area.contains(lat, lon)
    set_data(
        draft,
        latitude=lat,
        longitude=lon,
        address=None,
        location_source="photo",
        location_far=far or None,
    )
    answered_ahead(draft, Step.LOCATION)
    if draft.step == Step.LOCATION:
        draft.step = first_unanswered(draft).value


async def hold_photo(session: AsyncSession, draft: Draft, given: Input) -> None:
    """Keep a photo sent while the report does not take photos, until its reporter says where
    it goes."""
    assert given.photo is not None
    held = list(
        await session.scalars(
            select(Photo.sha256).where(Photo.draft_id == draft.id, Photo.stage == PhotoStage.HELD)
        )
    )
    if given.photo.sha256 in held:
        return
    if len(held) >= MAX_PHOTOS:
        raise Invalid(N_("That is {max} photos already, the most a report holds."), max=MAX_PHOTOS)
    session.add(given.photo.as_row(draft_id=draft.id, stage=PhotoStage.HELD, user_id=draft.user_id))
    if given.text.strip() and not (draft.data or {}).get("held_caption"):
        set_data(draft, held_caption=given.text)
    await session.flush()


async def held_count(session: AsyncSession, draft: Draft) -> int:
    """How many photos wait for "add to it or start a new one"."""
    count = await session.scalar(
        select(func.count())
        .select_from(Photo)
        .where(Photo.draft_id == draft.id, Photo.stage == PhotoStage.HELD)
    )
    return count or 0


async def add_held(session: AsyncSession, draft: Draft, rules: ReportRules) -> list[Notice]:
    """The held photos join the open report (as many as it still holds)."""
    rows = await _photos(session, draft)
    have = {p.sha256 for p in rows if p.stage == PhotoStage.BEFORE}
    room = MAX_PHOTOS - len(have)
    added = 0
    for photo in rows:
        if photo.stage != PhotoStage.HELD:
            continue
        if photo.sha256 in have or added >= room:
            photo.draft_id = None  # a repeat, or past the most a report holds: let it go
            continue
        photo.stage = PhotoStage.BEFORE
        have.add(photo.sha256)
        added += 1
    notices = take_caption(draft, (draft.data or {}).get("held_caption") or "")
    set_data(draft, held_caption=None)
    await session.flush()
    await place_from_photos(session, draft, rules)
    counts = {"added": added, "total": len(have)}
    return [Notice(N_("✓ {added} photos added ({total} in all)."), counts), *notices]


async def new_from_held(
    session: AsyncSession,
    draft: Draft,
    user: User,
    campaign: CampaignInfo,
    rules: ReportRules,
    now: datetime,
) -> tuple[Draft, list[Notice]]:
    """Discard the open report and begin a new one with the photos held; return the new draft."""
    caption = (draft.data or {}).get("held_caption") or ""
    draft.status = DraftStatus.DISCARDED
    await session.execute(
        update(Photo)
        .where(Photo.draft_id == draft.id, Photo.stage == PhotoStage.BEFORE)
        .values(draft_id=None)
    )
    await session.flush()  # one open report at a time: the old one is closed before the new
    fresh = new_quick_draft(user, now)
    session.add(fresh)
    await session.flush()
    await session.execute(
        update(Photo)
        .where(Photo.draft_id == draft.id, Photo.stage == PhotoStage.HELD)
        .values(draft_id=fresh.id, stage=PhotoStage.BEFORE)
    )
    notices = await fill_quick_draft(session, fresh, campaign, rules, now, caption=caption)
    return fresh, notices


async def _photos(session: AsyncSession, draft: Draft) -> list[Photo]:
    return list(
        await session.scalars(select(Photo).where(Photo.draft_id == draft.id).order_by(Photo.id))
    )
