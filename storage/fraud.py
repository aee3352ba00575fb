"""What a verifier is warned of before approving a rectification: after-photos that are the
very file or nearly the picture of a before-photo or of another record's photo, taken far from
the reported place, or taken before the hidden danger was reported.

At a province's million and a half photos nothing here reads them all: the very file is looked
up by its sha256 index, and a near duplicate by the hash bands of migration 0008. The 64-bit
perceptual hash is cut into three bands; two hashes at most NEAR_DUPLICATE_BITS (6) bits apart
differ in at most 2 bits of at least one band (pigeonhole), so the candidates are the photos
whose band equals one of the few hundred values within 2 bits of the after-photo's band — a
few index look-ups — and only those are compared bit by bit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.conversation import Notice
from storage.errors import N_
from storage.models import HiddenDanger, Photo
from storage.photos import hamming

NEAR_DUPLICATE_BITS = 6
FAR_FROM_SITE_KM = 1.0
# (first bit, width) of each band; the indexes of migration 0008 are built on exactly these.
BANDS = ((0, 21), (21, 21), (42, 22))
BAND_RADIUS = NEAR_DUPLICATE_BITS // len(BANDS)


def band(column: ColumnElement[int], start: int, width: int) -> ColumnElement[int]:
    """A band of the hash as the index reads it: `((phash >> start) & mask)`, constants inline
    (an expression index is only used for the very same expression)."""
    mask = (1 << width) - 1
    shifted: ColumnElement[int] = column.op(">>")(literal_column(str(start)))
    return shifted.op("&")(literal_column(str(mask)))


def near_values(value: int, width: int, radius: int = BAND_RADIUS) -> list[int]:
    """Every band value at most `radius` bits from `value`."""
    out = [value]
    for flips in range(1, radius + 1):
        for bits in itertools.combinations(range(width), flips):
            flipped = value
            for bit in bits:
                flipped ^= 1 << bit
            out.append(flipped)
    return out


def band_condition(hashes: Iterable[int]) -> ColumnElement[bool]:
    """Photos whose hash may be within NEAR_DUPLICATE_BITS of one of `hashes`."""
    terms = []
    for start, width in BANDS:
        mask = (1 << width) - 1
        values = sorted({v for h in hashes for v in near_values((h >> start) & mask, width)})
        terms.append(band(Photo.__table__.c.phash, start, width).in_(values))
    return or_(*terms)


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, a)))


async def _others(
    session: AsyncSession, danger_id: int, after: list[Photo]
) -> list[tuple[str, int | None, str]]:
    """(sha256, phash, number) of other records' photos that may match an after-photo."""
    shas = {p.sha256 for p in after}
    hashes = [p.phash for p in after if p.phash is not None]
    candidates: ColumnElement[bool] = Photo.sha256.in_(shas)
    if hashes:
        candidates = or_(candidates, band_condition(hashes))
    rows = await session.execute(
        select(Photo.sha256, Photo.phash, HiddenDanger.number)
        .join(HiddenDanger, HiddenDanger.id == Photo.danger_id)
        .where(candidates, Photo.danger_id != danger_id)
        .order_by(Photo.id)
    )
    return [(sha, phash, number) for sha, phash, number in rows.all()]


async def fraud_checks(
    session: AsyncSession,
    danger: HiddenDanger,
    before: list[Photo],
    after: list[Photo],
    *,
    far_km: float = FAR_FROM_SITE_KM,
) -> list[Notice]:
    """Warn the verifier about after-photos that look reused, far away or too early."""
    if not after:
        return []
    evidence = _Evidence(danger, before, await _others(session, danger.id, after), far_km)
    flags: list[Notice] = []
    for n, photo in enumerate(after, start=1):
        for check in _CHECKS:
            flag = check(n, photo, evidence)
            if flag is not None:
                flags.append(flag)
    return flags


@dataclass(frozen=True)
class _Evidence:
    """What an after-photo is compared with."""

    danger: HiddenDanger
    before: list[Photo]
    others: list[tuple[str, int | None, str]]
    far_km: float


def _near(phash: int | None, other: int | None) -> bool:
    return phash is not None and other is not None and hamming(phash, other) <= NEAR_DUPLICATE_BITS


def _reuses_before(n: int, photo: Photo, evidence: _Evidence) -> Notice | None:
    if photo.sha256 in {p.sha256 for p in evidence.before}:
        return Notice(N_("After-photo {n} is the very file of a before-photo."), {"n": n})
    if any(_near(photo.phash, b.phash) for b in evidence.before):
        return Notice(N_("After-photo {n} looks nearly identical to a before-photo."), {"n": n})
    return None


def _reuses_other_record(n: int, photo: Photo, evidence: _Evidence) -> Notice | None:
    same = next((num for sha, _, num in evidence.others if sha == photo.sha256), None)
    if same is not None:
        return Notice(
            N_("After-photo {n} is the very file of a photo of {number}."),
            {"n": n, "number": same},
        )
    near = next((num for _, ph, num in evidence.others if _near(photo.phash, ph)), None)
    if near is not None:
        return Notice(
            N_("After-photo {n} looks nearly identical to a photo of {number}."),
            {"n": n, "number": near},
        )
    return None


def _far_from_site(n: int, photo: Photo, evidence: _Evidence) -> Notice | None:
    danger = evidence.danger
    if (
        photo.exif_lat is None
        or photo.exif_lon is None
        or danger.latitude is None
        or danger.longitude is None
    ):
        return None
    km = _km(photo.exif_lat, photo.exif_lon, danger.latitude, danger.longitude)
    if km <= evidence.far_km:
        return None
    return Notice(
        N_("After-photo {n} was taken {km} km from the reported location."),
        {"n": n, "km": f"{km:.1f}"},
    )


def _taken_before_report(n: int, photo: Photo, evidence: _Evidence) -> Notice | None:
    if photo.exif_time is None or photo.exif_time >= evidence.danger.created_at:
        return None
    return Notice(N_("After-photo {n} was taken before the hidden danger was reported."), {"n": n})


# Each after-photo is put to every check, in the order the verifier reads the flags.
_CHECKS: tuple[Callable[[int, Photo, _Evidence], Notice | None], ...] = (
    _reuses_before,
    _reuses_other_record,
    _far_from_site,
    _taken_before_report,
)
