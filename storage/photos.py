"""The photo store: check untrusted image bytes, keep them content-addressed, make thumbnails.

Synchronous on purpose: Pillow's work is CPU-bound, so callers run it with asyncio.to_thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import re
import tempfile
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

from PIL import Image

from storage.conversation import NewPhoto
from storage.errors import N_, Invalid
from storage.exif import orientation_of, place, read_exif, taken_at

logger = logging.getLogger(__name__)

# Telegram's cloud Bot API serves files up to 20 MB through getFile.
MAX_PHOTO_BYTES = 20 * 1024 * 1024
# Below Pillow's own bomb limit (about 89 MP), and above any phone camera's photo.
MAX_PIXELS = 80_000_000
# Only JPEG decodes at reduced scale (draft); any other format is decoded whole, and an
# 80 MP PNG takes well over a gigabyte on its way to a thumbnail. Phones' other formats
# (HEIC, PNG screenshots) stay far below this.
MAX_PIXELS_FULL_DECODE = 24_000_000
THUMB_SIDE = 320
THUMB_QUALITY = 80
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")

# Pillow format name → file extension. Photos from phones and cameras, and the common screenshots;
# HEIF is only recognised when the pillow-heif plugin is installed (see _register_heif).
ACCEPTED_FORMATS: Mapping[str, str] = {
    "JPEG": "jpg",
    "MPO": "jpg",  # Pillow's name for the JPEGs many phones write (with a depth or preview frame)
    "PNG": "png",
    "WEBP": "webp",
    "HEIF": "heic",
    "AVIF": "avif",
    "GIF": "gif",
    "BMP": "bmp",
    "TIFF": "tif",
}

EMPTY = N_("The file is empty.")
TOO_BIG = N_("The image is larger than {limit_mb} MB.")
UNREADABLE = N_("This is not an image I can read.")
DAMAGED = N_("The image file is damaged.")
TOO_MANY_PIXELS = N_("The image is too large in pixels ({pixels} megapixels).")
NOT_ACCEPTED = N_("Images of type {format} are not accepted.")

# EXIF orientation → the transpose that turns the pixels upright (as ImageOps.exif_transpose does,
# without its rewriting of the EXIF block, which can fail on malformed data).
_UPRIGHT: Mapping[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")
_MASK64 = (1 << 64) - 1

# warnings.catch_warnings swaps process-wide state; serialise our own uses across threads.
_OPEN_LOCK = threading.Lock()


def _register_heif() -> None:
    """Let Pillow read HEIC photos when the optional pillow-heif plugin is installed."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return
    register_heif_opener()


_register_heif()


@dataclass(frozen=True)
class ImageFacts:
    """An accepted image: digest, pixel size after EXIF orientation, EXIF time and place, dHash."""

    sha256: str
    size: int
    width: int
    height: int
    format: str
    exif_time: datetime | None
    exif_lat: float | None
    exif_lon: float | None
    phash: int


@dataclass(frozen=True)
class StoredPhoto(ImageFacts):
    """An image kept in the store; paths are relative to the store's root."""

    path: str
    thumb_path: str


@dataclass(frozen=True)
class _Decoded:
    facts: ImageFacts
    upright: Image.Image  # decoded, EXIF orientation applied, flattened to RGB


def inspect_image(data: bytes, *, local_tz: tzinfo = DEFAULT_TZ) -> ImageFacts:
    """Check untrusted image bytes and describe them; raise Invalid when they are refused."""
    return _decode(data, local_tz).facts


def perceptual_hash(data_or_path: bytes | str | os.PathLike[str]) -> int:
    """Return the 64-bit difference hash of an image, as a signed int that fits a BIGINT."""
    data = data_or_path if isinstance(data_or_path, bytes) else Path(data_or_path).read_bytes()
    return _decode(data, DEFAULT_TZ).facts.phash


def hamming(a: int, b: int) -> int:
    """Count the bits in which two 64-bit hashes differ (signed or unsigned alike)."""
    return ((a ^ b) & _MASK64).bit_count()


class PhotoStore:
    """Image files under one root: originals by sha256, JPEG thumbnails beside them."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def save(self, data: bytes, *, local_tz: tzinfo = DEFAULT_TZ) -> StoredPhoto:
        """Check an image and keep it with a thumbnail; the same bytes twice are kept once."""
        decoded = _decode(data, local_tz)
        facts = decoded.facts
        sha = facts.sha256
        path = f"{sha[:2]}/{sha[2:4]}/{sha}.{ACCEPTED_FORMATS[facts.format]}"
        thumb_path = f"thumbs/{sha[:2]}/{sha}.jpg"
        original = self.root / path
        if not original.exists():
            _write_atomic(original, data)
        thumb = self.root / thumb_path
        if not thumb.exists():
            _write_atomic(thumb, _thumbnail_jpeg(decoded.upright))
        logger.debug("stored photo %s (%d bytes)", sha, facts.size)
        return StoredPhoto(**vars(facts), path=path, thumb_path=thumb_path)

    async def keep(
        self,
        data: bytes,
        *,
        local_tz: tzinfo,
        file_id: str,
        file_unique_id: str,
        source: str = "photo",
    ) -> NewPhoto:
        """Keep a photo a person sent (off the event loop: decoding takes a while) and return
        it as the input a draft takes; `file_id` is how the front finds its own copy."""
        stored = await asyncio.to_thread(self.save, data, local_tz=local_tz)
        return NewPhoto(
            file_id=file_id,
            file_unique_id=file_unique_id,
            sha256=stored.sha256,
            path=stored.path,
            thumb_path=stored.thumb_path,
            size=stored.size,
            width=stored.width,
            height=stored.height,
            exif_time=stored.exif_time,
            exif_lat=stored.exif_lat,
            exif_lon=stored.exif_lon,
            phash=stored.phash,
            source=source,
        )

    def open_path(self, relative: str) -> Path:
        """Turn a stored relative path into a path under root; ValueError if it would leave root."""
        rel = PurePosixPath(relative)
        if (
            not relative
            or "\\" in relative
            or "\x00" in relative
            or rel.is_absolute()
            or ".." in rel.parts
            or not rel.parts
        ):
            raise ValueError(f"not a path inside the photo store: {relative!r}")
        path = self.root / rel
        # A symlink inside root could still point outside it.
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise ValueError(f"not a path inside the photo store: {relative!r}")
        return path


def _decode(data: bytes, local_tz: tzinfo) -> _Decoded:
    """Validate image bytes step by step, cheapest refusals first, and decode them once."""
    if not data:
        raise Invalid(EMPTY)
    if len(data) > MAX_PHOTO_BYTES:
        raise Invalid(TOO_BIG, limit_mb=MAX_PHOTO_BYTES // (1024 * 1024))

    # First pass: header only, then verify(); Pillow needs a fresh open after verify().
    with _open(data) as probe:
        image_format = _accepted_format(probe)
        width, height = probe.size
        if width <= 0 or height <= 0:
            raise Invalid(DAMAGED)
        limit = MAX_PIXELS if probe.format in ("JPEG", "MPO") else MAX_PIXELS_FULL_DECODE
        if width * height > limit:
            raise Invalid(TOO_MANY_PIXELS, pixels=round(width * height / 1_000_000, 1))
        try:
            probe.verify()
        except Exception as exc:
            raise Invalid(DAMAGED) from exc

    with _open(data) as image:
        if image.size != (width, height) or image.format != image_format:
            raise Invalid(DAMAGED)
        # JPEG can decode at 1/2–1/8 scale: still every byte is read (so damage shows), with far
        # less memory; twice the thumbnail side keeps the thumbnail sharp.
        scale = 2 * THUMB_SIDE / max(width, height)
        if scale < 1:
            image.draft(None, (max(1, int(width * scale)), max(1, int(height * scale))))
        try:
            image.load()
        except Image.DecompressionBombError as exc:
            # A GIF frame or TIFF tile bigger than the header said.
            raise _too_many_pixels(exc) from exc
        except Exception as exc:
            raise Invalid(DAMAGED) from exc
        exif = read_exif(image)
        orientation = orientation_of(exif)
        upright = upright_rgb(image)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    lat, lon = place(exif)
    facts = ImageFacts(
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        width=width,
        height=height,
        format=image_format,
        exif_time=taken_at(exif, local_tz),
        exif_lat=lat,
        exif_lon=lon,
        phash=_dhash(upright),
    )
    return _Decoded(facts, upright)


def _open(data: bytes) -> Image.Image:
    """Open image bytes lazily (header only), refusing decompression bombs."""
    try:
        with _OPEN_LOCK, warnings.catch_warnings():
            # Pillow only warns between its limit and twice that; a warning would not stop it.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(exc) from exc
    except Exception as exc:
        # Pillow's many parsers fail on hostile input with many exception types.
        raise Invalid(UNREADABLE) from exc


def _too_many_pixels(exc: Exception) -> Invalid:
    """Word Pillow's decompression-bomb refusal as ours, with the pixel count it found."""
    match = _BOMB_PIXELS.search(str(exc))
    pixels = int(match.group(1)) if match else 2 * (Image.MAX_IMAGE_PIXELS or MAX_PIXELS)
    return Invalid(TOO_MANY_PIXELS, pixels=round(pixels / 1_000_000, 1))


def _accepted_format(image: Image.Image) -> str:
    """Return the image's format if it is one we keep; raise Invalid otherwise."""
    image_format = image.format or ""
    if image_format not in ACCEPTED_FORMATS:
        raise Invalid(NOT_ACCEPTED, format=image_format or "?")
    return image_format


def _flatten_rgb(image: Image.Image) -> Image.Image:
    """Return the image as RGB, transparent parts laid on white (as a chat shows them)."""
    try:
        has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
            image.mode == "P" and "transparency" in image.info
        )
        if not has_alpha:
            return image.convert("RGB")
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    except Exception as exc:
        # A mode Pillow decodes but cannot convert (rare scientific TIFFs): nothing to show.
        raise Invalid(UNREADABLE) from exc


def upright_rgb(image: Image.Image) -> Image.Image:
    """The image turned upright by its EXIF orientation, as RGB on white.

    Every picture hdbot shows is made through this, the same way the store read the photo when
    it took it: an EXIF that Pillow's own exif_transpose chokes on (wrong types, truncated
    IFDs) is read as "upright", never as an error, so an image the store accepted renders
    everywhere.
    """
    orientation = orientation_of(read_exif(image))
    upright = _flatten_rgb(image)
    if orientation in _UPRIGHT:
        upright = upright.transpose(_UPRIGHT[orientation])
    return upright


def _dhash(image: Image.Image) -> int:
    """Compute a difference hash: grayscale 9×8, one bit per left-brighter-than-right pair."""
    small = image.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    pixels = small.tobytes()
    value = 0
    for row in range(8):
        for col in range(8):
            left, right = pixels[row * 9 + col], pixels[row * 9 + col + 1]
            value = (value << 1) | (left > right)
    # PostgreSQL's BIGINT is signed: store the same 64 bits in the signed range.
    return value - (1 << 64) if value >= 1 << 63 else value


def _thumbnail_jpeg(upright: Image.Image) -> bytes:
    """Encode a JPEG preview whose long side is at most THUMB_SIDE."""
    thumb = upright.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=THUMB_QUALITY, optimize=True)
    return out.getvalue()


def _write_atomic(target: Path, data: bytes) -> None:
    """Write a file so that readers see all of it or none of it, even after a crash."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    # The rename lives in the directory: sync it too, or a crash can forget the file.
    try:
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass  # some file systems refuse fsync on a directory; the data itself is synced
    finally:
        os.close(dir_fd)
