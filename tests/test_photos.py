"""The photo store: refusing bad images, reading EXIF, keeping files, hashing for near-copies."""

from __future__ import annotations

import hashlib
import io
import os
import random
import shutil
import struct
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageOps, TiffImagePlugin, features

from bot.sandbox.botapi import jpeg_with_odd_exif
from bot.views.cards import display_jpeg
from bot.views.pictures.before_after import before_after
from storage.errors import Invalid
from storage.photos import (
    MAX_PHOTO_BYTES,
    ImageFacts,
    PhotoStore,
    StoredPhoto,
    hamming,
    inspect_image,
    perceptual_hash,
)

EXIF_IFD, GPS_IFD = 0x8769, 0x8825
ORIENTATION, DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL = 0x0112, 0x9003, 0x9011
DALIAN = (38.914, 121.6147)

# --- making test images -----------------------------------------------------------------------


def scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """Draw a photo-like picture: a gradient sky and random shapes, different for each seed."""
    rng = random.Random(seed)
    width, height = size
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1 = x0 + rng.randrange(width // 30, width // 2)
        y1 = y0 + rng.randrange(height // 30, height // 2)
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.rectangle((x0, y0, x1, y1), fill=color)
        else:
            draw.ellipse((x0, y0, x1, y1), fill=color)
    return image


def encode(
    image: Image.Image, fmt: str = "JPEG", exif: Image.Exif | None = None, **opts: Any
) -> bytes:
    out = io.BytesIO()
    if exif is not None:
        opts["exif"] = exif.tobytes()
    image.save(out, fmt, **opts)
    return out.getvalue()


def rational(value: float) -> TiffImagePlugin.IFDRational:
    frac = Fraction(value).limit_denominator(10000)
    return TiffImagePlugin.IFDRational(frac.numerator, frac.denominator)


def dms(value: float) -> tuple[TiffImagePlugin.IFDRational, ...]:
    """Split decimal degrees into the three rationals EXIF stores."""
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = ((value - degrees) * 60 - minutes) * 60
    return rational(degrees), rational(minutes), rational(seconds)


def exif_with(
    *,
    gps: tuple[float, float] | None = None,
    gps_raw: dict[int, Any] | None = None,
    taken: str | None = None,
    offset: str | None = None,
    orientation: int | None = None,
) -> Image.Exif:
    """Build EXIF with a real GPS IFD (keys 1–4) and Exif IFD, as a phone camera writes them."""
    exif = Image.Exif()
    if orientation is not None:
        exif[ORIENTATION] = orientation
    if taken is not None:
        sub = exif.get_ifd(EXIF_IFD)
        sub[DATETIME_ORIGINAL] = taken
        if offset is not None:
            sub[OFFSET_TIME_ORIGINAL] = offset
    if gps is not None:
        lat, lon = gps
        ifd = exif.get_ifd(GPS_IFD)
        ifd[1] = "N" if lat >= 0 else "S"
        ifd[2] = dms(abs(lat))
        ifd[3] = "E" if lon >= 0 else "W"
        ifd[4] = dms(abs(lon))
    if gps_raw is not None:
        exif.get_ifd(GPS_IFD).update(gps_raw)
    return exif


def png_header_only(width: int, height: int) -> bytes:
    """Craft a tiny PNG whose header claims a huge 1-bit image (never decodable in full)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg_claiming(width: int, height: int) -> bytes:
    """Patch a small JPEG's frame header so that it claims another size."""
    data = bytearray(encode(Image.new("RGB", (16, 16), (90, 90, 90))))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def refusal(data: bytes) -> Invalid:
    with pytest.raises(Invalid) as caught:
        inspect_image(data)
    return caught.value


@pytest.fixture
def store(tmp_path: Path) -> PhotoStore:
    return PhotoStore(tmp_path / "photos")


# --- what inspect_image reads -------------------------------------------------------------------


def test_jpeg_with_gps_and_offset_time() -> None:
    exif = exif_with(gps=DALIAN, taken="2024:05:01 10:00:00", offset="+09:00")
    data = encode(scene(1), exif=exif)

    facts = inspect_image(data)

    assert isinstance(facts, ImageFacts)
    assert facts.sha256 == hashlib.sha256(data).hexdigest()
    assert facts.size == len(data)
    assert (facts.width, facts.height, facts.format) == (640, 480, "JPEG")
    assert facts.exif_time == datetime(2024, 5, 1, 1, 0, tzinfo=UTC)
    assert facts.exif_lat == pytest.approx(DALIAN[0], abs=1e-5)
    assert facts.exif_lon == pytest.approx(DALIAN[1], abs=1e-5)


def test_time_without_offset_is_read_in_the_callers_zone() -> None:
    data = encode(scene(1), exif=exif_with(taken="2024:05:01 10:00:00"))

    assert inspect_image(data).exif_time == datetime(2024, 5, 1, 2, 0, tzinfo=UTC)  # Shanghai
    berlin = inspect_image(data, local_tz=ZoneInfo("Europe/Berlin")).exif_time
    assert berlin == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)  # summer time, +02:00


@pytest.mark.parametrize(
    ("taken", "offset", "expected"),
    [
        ("2024:01:15 23:30:00", "-05:00", datetime(2024, 1, 16, 4, 30, tzinfo=UTC)),
        ("2024:01:15 23:30:00", "+8", datetime(2024, 1, 15, 15, 30, tzinfo=UTC)),  # bad offset
        ("2024:01:15 23:30:00", "   :  ", datetime(2024, 1, 15, 15, 30, tzinfo=UTC)),  # blank
        ("0000:00:00 00:00:00", "+08:00", None),
        ("2024:13:45 99:00:00", None, None),
        ("yesterday", None, None),
        ("0001:01:01 00:00:00", "+14:00", None),  # before year 1 in UTC
    ],
)
def test_odd_exif_times(taken: str, offset: str | None, expected: datetime | None) -> None:
    data = encode(scene(1), exif=exif_with(taken=taken, offset=offset))

    assert inspect_image(data).exif_time == expected


def test_southern_and_western_hemispheres_are_negative() -> None:
    data = encode(scene(1), exif=exif_with(gps=(-33.8568, -70.6483)))

    facts = inspect_image(data)

    assert facts.exif_lat == pytest.approx(-33.8568, abs=1e-5)
    assert facts.exif_lon == pytest.approx(-70.6483, abs=1e-5)


R = TiffImagePlugin.IFDRational


@pytest.mark.parametrize(
    "gps_raw",
    [
        {1: "N", 2: (R(0), R(0), R(0)), 3: "E", 4: (R(0), R(0), R(0))},  # no fix
        {1: "N", 2: (R(100), R(0), R(0)), 3: "E", 4: (R(121), R(0), R(0))},  # lat > 90
        {1: "N", 2: (R(38), R(0), R(0)), 3: "E", 4: (R(181), R(0), R(0))},  # lon > 180
        {1: "N", 2: (R(38), R(75), R(0)), 3: "E", 4: (R(121), R(0), R(0))},  # 75 minutes
        {1: "N", 2: (R(1, 0), R(0), R(0)), 3: "E", 4: (R(121), R(0), R(0))},  # x/0
        {1: "X", 2: (R(38), R(0), R(0)), 3: "E", 4: (R(121), R(0), R(0))},  # bad ref
        {2: (R(38), R(0), R(0)), 3: "E", 4: (R(121), R(0), R(0))},  # no ref
        {1: "N", 2: (R(38), R(0), R(0)), 3: "E"},  # latitude only
    ],
)
def test_unusable_gps_gives_no_place(gps_raw: dict[int, Any]) -> None:
    data = encode(scene(1), exif=exif_with(gps_raw=gps_raw))

    facts = inspect_image(data)

    assert (facts.exif_lat, facts.exif_lon) == (None, None)


def test_gps_written_as_decimal_degrees_is_read() -> None:
    gps_raw = {1: "N", 2: (rational(38.914),), 3: "E", 4: (rational(121.6147),)}
    data = encode(scene(1), exif=exif_with(gps_raw=gps_raw))

    facts = inspect_image(data)

    assert (facts.exif_lat, facts.exif_lon) == (pytest.approx(38.914), pytest.approx(121.6147))


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")
def test_garbage_exif_is_ignored() -> None:
    out = io.BytesIO()
    scene(1).save(out, "JPEG", exif=b"Exif\x00\x00" + random.Random(7).randbytes(300))

    facts = inspect_image(out.getvalue())

    assert (facts.exif_time, facts.exif_lat, facts.exif_lon) == (None, None, None)
    assert (facts.width, facts.height) == (640, 480)


def test_png_is_accepted_without_exif() -> None:
    facts = inspect_image(encode(scene(2), "PNG"))

    assert (facts.format, facts.width, facts.height) == ("PNG", 640, 480)
    assert (facts.exif_time, facts.exif_lat, facts.exif_lon) == (None, None, None)


AVIF = pytest.mark.skipif(not features.check("avif"), reason="no AVIF in this Pillow")


@pytest.mark.parametrize(
    ("fmt", "opts"),
    [
        ("JPEG", {}),
        ("PNG", {}),
        ("WEBP", {"quality": 90}),
        # Pillow turns TIFFs upright itself; the store must not turn them a second time.
        ("TIFF", {"compression": "raw"}),
        ("TIFF", {"compression": "tiff_lzw"}),
        pytest.param("AVIF", {"quality": 90}, marks=AVIF),
    ],
)
def test_exif_orientation_6_is_applied_once(fmt: str, opts: dict[str, Any]) -> None:
    data = encode(scene(3), fmt, exif=exif_with(orientation=6), **opts)
    upright = encode(scene(3).transpose(Image.Transpose.ROTATE_270), "PNG")

    facts = inspect_image(data)

    assert (facts.width, facts.height) == (480, 640)
    assert hamming(facts.phash, perceptual_hash(upright)) <= 4


def test_large_jpeg_reports_its_full_size() -> None:
    # Decoding at a reduced scale must not shrink the reported size.
    data = encode(scene(4, (2000, 1500)))

    assert (inspect_image(data).width, inspect_image(data).height) == (2000, 1500)


# --- what inspect_image refuses ------------------------------------------------------------------


def test_empty_file_is_refused() -> None:
    error = refusal(b"")

    assert (error.key, error.params) == ("The file is empty.", {})


def test_file_over_20_mb_is_refused_before_reading_it() -> None:
    data = encode(scene(1))
    data += b"\x00" * (MAX_PHOTO_BYTES + 1 - len(data))

    error = refusal(data)

    assert (error.key, error.params) == (
        "The image is larger than {limit_mb} MB.",
        {"limit_mb": 20},
    )


def test_file_of_exactly_20_mb_is_not_refused_for_its_size() -> None:
    error = refusal(b"\x00" * MAX_PHOTO_BYTES)

    assert error.key == "This is not an image I can read."


@pytest.mark.parametrize(
    "data",
    [
        random.Random(0).randbytes(4096),
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n",
        "隐患整改照片".encode(),
    ],
    ids=["random", "pdf", "text"],
)
def test_non_images_are_refused(data: bytes) -> None:
    error = refusal(data)

    assert (error.key, error.params) == ("This is not an image I can read.", {})


def test_truncated_jpeg_is_damaged() -> None:
    data = encode(scene(5))

    error = refusal(data[: len(data) * 2 // 3])

    assert (error.key, error.params) == ("The image file is damaged.", {})


def test_png_with_a_bad_checksum_is_damaged() -> None:
    data = bytearray(encode(scene(5), "PNG"))
    data[-20] ^= 0xFF  # inside the last IDAT chunk

    error = refusal(bytes(data))

    assert error.key == "The image file is damaged."


def test_png_cut_after_its_pixels_is_damaged() -> None:
    # The pixels decode fine; only verify() walks on to the missing end chunk.
    data = encode(scene(5), "PNG")[:-12]

    error = refusal(data)

    assert error.key == "The image file is damaged."


@pytest.mark.parametrize("fmt", ["PPM", "TGA", "ICO"])
def test_formats_outside_the_allow_list_are_refused(fmt: str) -> None:
    error = refusal(encode(Image.new("RGB", (32, 32), (1, 2, 3)), fmt))

    assert (error.key, error.params) == (
        "Images of type {format} are not accepted.",
        {"format": fmt},
    )


@pytest.mark.parametrize(
    ("data", "megapixels"),
    [
        (png_header_only(10_000, 8_500), 85.0),  # over our limit, under Pillow's
        (png_header_only(12_000, 12_000), 144.0),  # Pillow warns: the warning must stop it
        (png_header_only(30_000, 30_000), 900.0),  # Pillow refuses
        (jpeg_claiming(60_000, 60_000), 3600.0),
    ],
    ids=["85MP-png", "144MP-png", "900MP-png", "3600MP-jpeg"],
)
def test_decompression_bombs_are_refused_from_the_header(
    data: bytes, megapixels: float, recwarn: pytest.WarningsRecorder
) -> None:
    started = time.perf_counter()

    error = refusal(data)

    assert error.key == "The image is too large in pixels ({pixels} megapixels)."
    assert error.params == {"pixels": megapixels}
    assert len(data) < 1000
    assert time.perf_counter() - started < 0.5  # nothing was decoded
    # Pillow's warning was turned into the refusal, not let out to the log.
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


# --- the store --------------------------------------------------------------------------------

ACCEPTED = [
    ("JPEG", "jpg", "RGB"),
    ("PNG", "png", "RGBA"),
    ("WEBP", "webp", "RGB"),
    ("GIF", "gif", "P"),
    ("BMP", "bmp", "RGB"),
    ("TIFF", "tif", "RGB"),
    pytest.param("AVIF", "avif", "RGB", marks=AVIF),
]


@pytest.mark.parametrize(("fmt", "ext", "mode"), ACCEPTED)
def test_save_keeps_the_original_and_a_small_jpeg_thumbnail(
    store: PhotoStore, fmt: str, ext: str, mode: str
) -> None:
    data = encode(scene(6, (800, 600)).convert(mode), fmt)

    stored = store.save(data)

    assert isinstance(stored, StoredPhoto)
    sha = hashlib.sha256(data).hexdigest()
    assert stored.path == f"{sha[:2]}/{sha[2:4]}/{sha}.{ext}"
    assert stored.thumb_path == f"thumbs/{sha[:2]}/{sha}.jpg"
    assert (store.root / stored.path).read_bytes() == data
    with Image.open(store.root / stored.thumb_path) as thumb:
        assert (thumb.format, thumb.mode, thumb.size) == ("JPEG", "RGB", (320, 240))
    assert stored.format == fmt
    assert stored.phash == inspect_image(data).phash


def test_phone_jpeg_with_a_second_frame_is_kept_as_jpg(store: PhotoStore) -> None:
    # Many phones write MPO: a JPEG followed by a depth map or preview; Pillow names it "MPO".
    data = encode(scene(6), "MPO", save_all=True, append_images=[Image.new("RGB", (160, 120))])

    stored = store.save(data)

    assert (stored.format, stored.width, stored.height) == ("MPO", 640, 480)
    assert stored.path.endswith(".jpg")


def test_thumbnail_of_a_transparent_png_is_laid_on_white(store: PhotoStore) -> None:
    data = encode(Image.new("RGBA", (100, 50), (255, 0, 0, 0)), "PNG")

    stored = store.save(data)

    with Image.open(store.root / stored.thumb_path) as thumb:
        assert thumb.size == (100, 50)  # small images are not enlarged
        pixel = thumb.getpixel((50, 25))
    assert isinstance(pixel, tuple)
    assert min(pixel) > 245


def test_thumbnail_is_turned_upright(store: PhotoStore) -> None:
    stored = store.save(encode(scene(3), exif=exif_with(orientation=6)))

    with Image.open(store.root / stored.thumb_path) as thumb:
        assert thumb.size == (240, 320)
    assert (stored.width, stored.height) == (480, 640)


def test_saving_the_same_bytes_twice_is_a_no_op(store: PhotoStore) -> None:
    data = encode(scene(7), exif=exif_with(gps=DALIAN))
    first = store.save(data)
    files = sorted(p for p in store.root.rglob("*") if p.is_file())
    inodes = [p.stat().st_ino for p in files]

    second = store.save(data)

    assert second == first
    assert sorted(p for p in store.root.rglob("*") if p.is_file()) == files
    assert [p.stat().st_ino for p in files] == inodes  # not even rewritten
    assert len(files) == 2  # the original and its thumbnail, no temporary files left


def test_saving_from_many_threads_at_once(store: PhotoStore) -> None:
    # Callers run save() through asyncio.to_thread: the same photo may arrive twice at once.
    images = [encode(scene(20 + i % 3)) for i in range(12)]

    with ThreadPoolExecutor(max_workers=6) as pool:
        stored = list(pool.map(store.save, images))

    assert len({s.path for s in stored}) == 3
    assert all(
        store.open_path(s.path).read_bytes() == d for s, d in zip(stored, images, strict=True)
    )
    assert len([p for p in store.root.rglob("*") if p.is_file()]) == 6


def test_a_failed_write_leaves_nothing_behind(
    store: PhotoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)

    with pytest.raises(OSError, match="No space"):
        store.save(encode(scene(8)))

    assert [p for p in store.root.rglob("*") if p.is_file()] == []


def test_refused_images_are_not_stored(store: PhotoStore) -> None:
    with pytest.raises(Invalid):
        store.save(b"not a photo")

    assert not store.root.exists() or not any(store.root.rglob("*"))


def test_paths_stay_valid_when_the_data_dir_moves(store: PhotoStore, tmp_path: Path) -> None:
    data = encode(scene(9))
    stored = store.save(data)

    moved = PhotoStore(Path(shutil.move(store.root, tmp_path / "elsewhere")))

    assert moved.open_path(stored.path).read_bytes() == data
    assert moved.open_path(stored.thumb_path).is_file()


@pytest.mark.parametrize(
    "relative",
    ["../x", "ab/../../x", "..", "/etc/passwd", "", ".", "ab\\..\\..\\x", "ab/\x00"],
)
def test_open_path_refuses_paths_outside_the_store(store: PhotoStore, relative: str) -> None:
    with pytest.raises(ValueError, match="not a path inside the photo store"):
        store.open_path(relative)


def test_open_path_refuses_a_symlink_out_of_the_store(store: PhotoStore, tmp_path: Path) -> None:
    store.root.mkdir(parents=True)
    (store.root / "ab").symlink_to(tmp_path)

    with pytest.raises(ValueError, match="not a path inside the photo store"):
        store.open_path("ab/secret.jpg")


# --- perceptual hash ----------------------------------------------------------------------------


def recompressed(data: bytes, scale: float, quality: int) -> bytes:
    """Re-encode as a messenger does: turned upright, resized, stronger JPEG, EXIF dropped."""
    with Image.open(io.BytesIO(data)) as image:
        upright = ImageOps.exif_transpose(image).convert("RGB")
    size = (round(upright.width * scale), round(upright.height * scale))
    return encode(upright.resize(size, Image.Resampling.BILINEAR), quality=quality)


def test_near_copies_hash_alike_and_different_scenes_do_not() -> None:
    before = encode(scene(10, (1024, 768)), quality=92)
    copy = recompressed(before, scale=0.6, quality=45)
    other = encode(scene(11, (1024, 768)), quality=92)

    assert hamming(perceptual_hash(before), perceptual_hash(copy)) <= 10
    assert hamming(perceptual_hash(before), perceptual_hash(other)) > 10


def test_hash_sees_the_photo_upright() -> None:
    # Telegram rotates the pixels and drops EXIF; the hash must still match the original file.
    before = encode(scene(12), exif=exif_with(orientation=6))
    copy = recompressed(before, scale=0.5, quality=60)

    assert hamming(perceptual_hash(before), perceptual_hash(copy)) <= 10


def test_hash_fits_a_signed_bigint_and_is_the_dhash() -> None:
    rising = Image.linear_gradient("L").rotate(90).resize((900, 800))  # dark left, bright right
    falling = rising.transpose(Image.Transpose.FLIP_LEFT_RIGHT)

    all_ones = perceptual_hash(encode(falling, "PNG"))
    all_zeros = perceptual_hash(encode(rising, "PNG"))

    assert all_ones == -1  # 0xFFFF_FFFF_FFFF_FFFF in the signed range
    assert all_zeros == 0
    assert hamming(all_ones, all_zeros) == 64
    assert hamming(all_ones, (1 << 64) - 1) == 0  # signed and unsigned forms agree


def test_hash_of_a_stored_path(store: PhotoStore) -> None:
    stored = store.save(encode(scene(13)))
    path = store.open_path(stored.path)

    assert perceptual_hash(path) == perceptual_hash(str(path)) == stored.phash
    assert -(1 << 63) <= stored.phash < 1 << 63


def test_hamming() -> None:
    assert hamming(0b1011, 0b0001) == 2
    assert hamming(5, 5) == 0


# --- nothing but Invalid, whatever arrives -------------------------------------------------------

MAGICS = [
    b"\xff\xd8\xff\xe0",
    b"\xff\xd8\xff\xe1\x00\x20Exif\x00\x00II*\x00",
    b"\x89PNG\r\n\x1a\n",
    b"GIF89a",
    b"RIFF\x00\x10\x00\x00WEBPVP8 ",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"\x00\x00\x00\x1cftypavif",
    b"%PDF-",
]
SEEDS = [
    encode(scene(14, (48, 32)), exif=exif_with(gps=DALIAN, taken="2024:05:01 10:00:00")),
    encode(scene(14, (48, 32)), "PNG"),
    encode(scene(14, (48, 32)), "GIF"),
    encode(scene(14, (48, 32)), "WEBP"),
    encode(scene(14, (48, 32)), "TIFF"),
    encode(scene(14, (48, 32)), "BMP"),
]
# Pillow warns (and goes on) about the broken EXIF that fuzzing makes; that is expected here.
PILLOW_COMPLAINS = pytest.mark.filterwarnings(
    "ignore:Corrupt EXIF data:UserWarning", "ignore:Truncated File Read:UserWarning"
)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def only_invalid(data: bytes) -> None:
    try:
        facts = inspect_image(data)
    except Invalid:
        return
    assert facts.size == len(data)
    assert facts.width > 0
    assert facts.height > 0


@PILLOW_COMPLAINS
@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_raise_only_invalid(data: bytes) -> None:
    only_invalid(data)


@PILLOW_COMPLAINS
@FUZZ
@given(st.sampled_from(MAGICS), st.binary(max_size=2048))
def test_bytes_behind_an_image_signature_raise_only_invalid(magic: bytes, tail: bytes) -> None:
    only_invalid(magic + tail)


@PILLOW_COMPLAINS
@FUZZ
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=8),
    st.floats(0, 1),
)
def test_damaged_real_images_raise_only_invalid(
    seed: bytes, flips: list[tuple[float, int]], keep: float
) -> None:
    data = bytearray(seed)
    for where, byte in flips:
        data[int(where * len(data))] = byte
    only_invalid(bytes(data[: max(1, int(keep * len(data)))]))


def test_a_huge_png_is_refused_before_it_is_decoded() -> None:
    """Only JPEG decodes at reduced scale; a 30 MP PNG would cost a gigabyte to read."""
    buffer = io.BytesIO()
    Image.new("1", (6000, 5000)).save(buffer, "PNG")
    with pytest.raises(Invalid) as err:
        inspect_image(buffer.getvalue())
    assert err.value.key == "The image is too large in pixels ({pixels} megapixels)."


def test_an_image_whose_exif_breaks_pillows_transpose_renders_everywhere(tmp_path: Path) -> None:
    data = jpeg_with_odd_exif(64, 48)
    with Image.open(io.BytesIO(data)) as image, pytest.raises(AttributeError):
        ImageOps.exif_transpose(image)  # what broke every display before
    stored = PhotoStore(tmp_path).save(data)
    assert (stored.width, stored.height) == (48, 64)  # read upright at the door
    shown = Image.open(io.BytesIO(display_jpeg(tmp_path / stored.path)))
    assert shown.size == (48, 64)
    path = tmp_path / stored.path
    pair = Image.open(io.BytesIO(before_after(path, path, ("前", "后"))))
    assert pair.height > 0
