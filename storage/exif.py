"""What a photo's EXIF says: its orientation, when it was taken, where.

Every value here comes from the sender, so each reader returns a neutral answer (upright, None)
rather than fail: a malformed EXIF never refuses a photo the store can decode.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from PIL import ExifTags, Image

_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4
_EXIF_TIME = re.compile(r"(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")


def read_exif(image: Image.Image) -> Image.Exif:
    """Return the image's EXIF, or an empty one when it is missing or unreadable."""
    try:
        return image.getexif()
    except Exception:
        return Image.Exif()


def _ifd(exif: Image.Exif, tag: int) -> Mapping[int, Any]:
    try:
        return exif.get_ifd(tag)
    except Exception:
        return {}


def orientation_of(exif: Image.Exif) -> int:
    """Return the EXIF orientation (1 to 8), 1 (upright) when absent or malformed."""
    try:
        value = exif.get(ExifTags.Base.Orientation, 1)
        return value if isinstance(value, int) else 1
    except Exception:
        return 1


def _text(value: Any) -> str | None:
    """Return an EXIF ASCII value as str without padding, or None if it is not text."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        return None
    return value.strip("\x00 ")


def taken_at(exif: Image.Exif, local_tz: tzinfo) -> datetime | None:
    """Return when the photo was taken, in UTC, from DateTimeOriginal and its offset."""
    sub = _ifd(exif, ExifTags.IFD.Exif)
    stamp = _text(sub.get(ExifTags.Base.DateTimeOriginal))
    match = _EXIF_TIME.fullmatch(stamp) if stamp else None
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        taken = datetime(year, month, day, hour, minute, second)
    except ValueError:  # "0000:00:00 00:00:00" and other impossible dates
        return None
    zone = _offset(_text(sub.get(ExifTags.Base.OffsetTimeOriginal))) or local_tz
    try:
        return taken.replace(tzinfo=zone).astimezone(UTC)
    except (OverflowError, ValueError):  # a year-1 stamp east of UTC
        return None


def _offset(text: str | None) -> timezone | None:
    """Parse an EXIF offset such as "+08:00"; None when absent or malformed."""
    match = _EXIF_OFFSET.fullmatch(text) if text else None
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    if int(hours) > 14 or int(minutes) >= 60:
        return None
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-delta if sign == "-" else delta)


def place(exif: Image.Exif) -> tuple[float | None, float | None]:
    """Return the photo's latitude and longitude in decimal degrees, or (None, None)."""
    gps = _ifd(exif, ExifTags.IFD.GPSInfo)
    lat = _coordinate(gps.get(_GPS_LAT), gps.get(_GPS_LAT_REF), "N", "S", 90)
    lon = _coordinate(gps.get(_GPS_LON), gps.get(_GPS_LON_REF), "E", "W", 180)
    # 0/0 is what a camera writes when it has no fix, not a place in the Gulf of Guinea.
    if lat is None or lon is None or (lat == 0 and lon == 0):
        return None, None
    return lat, lon


def _coordinate(value: Any, ref: Any, positive: str, negative: str, limit: float) -> float | None:
    """Turn EXIF degrees/minutes/seconds and a hemisphere letter into signed degrees."""
    hemisphere = _text(ref)
    if hemisphere is None or hemisphere.upper() not in (positive, negative):
        return None
    # A well-formed value is three rationals; some writers give one (decimal degrees) or two.
    parts = value if isinstance(value, tuple | list) else (value,)
    if not 1 <= len(parts) <= 3:
        return None
    try:
        numbers = [float(part) for part in parts]
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    if not all(math.isfinite(n) and n >= 0 for n in numbers):
        return None
    if any(n > 60 for n in numbers[1:]):
        return None
    degrees = sum(n / 60**i for i, n in enumerate(numbers))
    if degrees > limit:
        return None
    return -degrees if hemisphere.upper() == negative else degrees
