"""Image work the fake does the way Telegram does: re-encoding compressed photos, thumbnails.

Also makes real JPEG test images, optionally with EXIF GPS and time, so tests can check
that a *compressed* photo loses its EXIF while a photo sent as a file keeps it.
"""

from __future__ import annotations

import datetime as dtm
import io
import struct
from dataclasses import dataclass
from fractions import Fraction

from PIL import Image, ImageDraw, ImageOps, TiffImagePlugin

# Telegram's photo size classes (s, m, x, y): the long side of each re-encoded copy.
PHOTO_SIDES = (90, 320, 800, 1280)
THUMBNAIL_SIDE = 320

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_DATETIME = 0x0132
_DATETIME_ORIGINAL = 0x9003


@dataclass(frozen=True)
class Encoded:
    """One re-encoded JPEG and its pixel size."""

    data: bytes
    width: int
    height: int


def make_jpeg(
    width: int = 640,
    height: int = 480,
    color: tuple[int, int, int] = (200, 80, 40),
    *,
    exif_gps: tuple[float, float] | None = None,
    exif_time: dtm.datetime | None = None,
    quality: int = 90,
) -> bytes:
    """Make real JPEG bytes, with a GPS IFD and capture time in EXIF when asked."""
    image = Image.new("RGB", (width, height), color)
    # A stripe makes the picture non-uniform, so resized copies differ from each other.
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, max(width // 4, 1), max(height // 4, 1)), fill=(255, 255, 255))
    exif = Image.Exif()
    if exif_time is not None:
        stamp = exif_time.strftime("%Y:%m:%d %H:%M:%S")
        exif[_DATETIME] = stamp
        exif.get_ifd(_EXIF_IFD)[_DATETIME_ORIGINAL] = stamp
    if exif_gps is not None:
        lat, lon = exif_gps
        gps = exif.get_ifd(_GPS_IFD)
        gps[0] = b"\x02\x03\x00\x00"  # GPSVersionID 2.3.0.0
        gps[1] = "N" if lat >= 0 else "S"
        gps[2] = _dms(abs(lat))
        gps[3] = "E" if lon >= 0 else "W"
        gps[4] = _dms(abs(lon))
    out = io.BytesIO()
    # len(exif) counts only the top-level tags; a GPS-only EXIF lives in a sub-IFD.
    if exif_gps is not None or exif_time is not None:
        image.save(out, "JPEG", quality=quality, exif=exif.tobytes())
    else:
        image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def jpeg_with_odd_exif(width: int = 64, height: int = 48) -> bytes:
    """A JPEG turned sideways by EXIF (orientation 6) whose DateTime tag is a FLOAT, not text:
    valid enough for cameras and Pillow to open, but Pillow's exif_transpose fails on it."""
    entries = [(0x0112, 3, 1, struct.pack("<HH", 6, 0)), (0x0132, 11, 1, struct.pack("<f", 1.5))]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHI", tag, kind, count) + value
    app1 = b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0)
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 10)).save(out, "JPEG")
    data = out.getvalue()
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:]


def _dms(value: float) -> tuple[TiffImagePlugin.IFDRational, ...]:
    """Split decimal degrees into EXIF degrees/minutes/seconds rationals."""
    degrees = int(value)
    minutes_float = (value - degrees) * 60
    minutes = int(minutes_float)
    seconds = Fraction((minutes_float - minutes) * 60).limit_denominator(10000)
    return (
        TiffImagePlugin.IFDRational(degrees, 1),
        TiffImagePlugin.IFDRational(minutes, 1),
        TiffImagePlugin.IFDRational(seconds.numerator, seconds.denominator),
    )


def _open(data: bytes) -> Image.Image:
    """Decode an image, turned upright by its EXIF orientation as Telegram shows it."""
    decoded = Image.open(io.BytesIO(data))
    decoded.load()
    try:
        return ImageOps.exif_transpose(decoded).convert("RGB")
    except (TypeError, ValueError, AttributeError, SyntaxError):  # odd EXIF: shown as it is
        return decoded.convert("RGB")


def _encode(image: Image.Image) -> Encoded:
    out = io.BytesIO()
    # No exif= argument: the copy carries no EXIF, like Telegram's compressed photos.
    image.save(out, "JPEG", quality=85)
    return Encoded(out.getvalue(), image.width, image.height)


def _scaled(image: Image.Image, long_side: int) -> Image.Image:
    ratio = long_side / max(image.size)
    size = (max(1, round(image.width * ratio)), max(1, round(image.height * ratio)))
    return image.resize(size, Image.Resampling.LANCZOS)


def compress_photo(data: bytes) -> list[Encoded]:
    """Re-encode an image as Telegram does for a photo: a few sizes, smallest first, no EXIF.

    Raises ValueError when the bytes are not an image Pillow can read.
    """
    try:
        image = _open(data)
    except Exception as exc:
        raise ValueError("not an image") from exc
    long_side = max(image.size)
    largest = min(long_side, PHOTO_SIDES[-1])
    sides = sorted({side for side in PHOTO_SIDES if side < long_side} | {largest})
    return [_encode(_scaled(image, side) if side != long_side else image) for side in sides]


def thumbnail(data: bytes) -> Encoded | None:
    """Make the small preview Telegram attaches to an image sent as a file; None if no image."""
    try:
        image = _open(data)
    except Exception:
        return None
    if max(image.size) > THUMBNAIL_SIDE:
        image = _scaled(image, THUMBNAIL_SIDE)
    return _encode(image)
