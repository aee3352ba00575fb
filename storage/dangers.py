"""Hidden dangers as the people who follow them see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dto import FieldInfo, PhotoRef
from storage.errors import N_, NotFound
from storage.models import Field, HiddenDanger, Photo, PhotoStage, Task, Unit, User


@dataclass(frozen=True, slots=True)
class DangerCard:
    """Everything a card about one hidden danger shows."""

    id: int
    number: str
    kind: str
    level: str
    status: str
    task_code: str | None
    task_title: str | None
    unit_name: str
    site: str
    field: FieldInfo
    description: str
    latitude: float | None
    longitude: float | None
    address: str | None
    deadline: date
    reporter_name: str
    created_at: datetime
    before_photos: list[PhotoRef]
    after_photos: list[PhotoRef]


def _ref(photo: Photo) -> PhotoRef:
    return PhotoRef(photo.file_id, photo.source, photo.path, photo.thumb_path)


async def danger_card(session: AsyncSession, danger_id: int) -> DangerCard:
    """Return the card of one hidden danger."""
    danger = await session.get(HiddenDanger, danger_id)
    if danger is None:
        raise NotFound(N_("No hidden danger {number}."), number=danger_id)
    task = await session.get(Task, danger.task_id) if danger.task_id else None
    unit = await session.get(Unit, danger.unit_id)
    field = await session.get(Field, danger.field_id)
    reporter = await session.get(User, danger.reporter_id)
    photos = list(
        await session.scalars(select(Photo).where(Photo.danger_id == danger.id).order_by(Photo.id))
    )
    assert field is not None
    return DangerCard(
        id=danger.id,
        number=danger.number,
        kind=danger.kind,
        level=danger.level,
        status=danger.status,
        task_code=task.code if task else None,
        task_title=task.title if task else None,
        unit_name=unit.name if unit else "",
        site=danger.site,
        field=FieldInfo(field.id, field.code, field.name_zh, field.name_en),
        description=danger.description,
        latitude=danger.latitude,
        longitude=danger.longitude,
        address=danger.address,
        deadline=danger.deadline,
        reporter_name=reporter.name if reporter else "",
        created_at=danger.created_at,
        before_photos=[_ref(p) for p in photos if p.stage == PhotoStage.BEFORE],
        after_photos=[_ref(p) for p in photos if p.stage == PhotoStage.AFTER],
    )
