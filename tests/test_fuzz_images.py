"""Fuzz: a few thousand damaged and odd images; each is refused or renders everywhere.

Hypothesis mutates real JPEG, PNG and WebP files — flipped bits, cut short, EXIF entries of
any tag, type and count, absurd dimensions in the header, bytes inserted — and hands each to
the photo store as an inspector's upload would be. The store may refuse it (the person is told
why); if it takes it, the picture must render where hdbot shows it: the summary card and the
group card (display_jpeg) and the before/after comparison. Nothing else may happen: any other
exception fails the test.
"""

from __future__ import annotations

import io
import random
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from bot.sandbox.botapi import jpeg_with_odd_exif, make_jpeg
from bot.views.cards import display_jpeg
from bot.views.pictures.before_after import before_after
from storage.errors import Invalid
from storage.photos import PhotoStore

ROOT = Path(tempfile.mkdtemp(prefix="hdbot-image-fuzz-"))
STORE = PhotoStore(ROOT)


def _picture(mode: str, size: tuple[int, int]) -> Image.Image:
    image = Image.new(mode, size, (30, 120, 200, 160) if mode == "RGBA" else (30, 120, 200))
    ImageDraw.Draw(image).ellipse((4, 4, size[0] // 2, size[1] // 2), fill=(250, 200, 0))
    return image


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


BASES = {
    "jpeg+gps": make_jpeg(96, 64, exif_gps=(38.9, 121.6)),
    "jpeg odd exif": jpeg_with_odd_exif(80, 60),
    "png alpha": _encode(_picture("RGBA", (90, 70)), "PNG"),
    "webp": _encode(_picture("RGB", (100, 60)), "WEBP", quality=80),
    "jpeg progressive": _encode(_picture("RGB", (120, 90)), "JPEG", progressive=True),
}


def _flip_bits(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 12)):
        where = rng.randrange(len(out))
        out[where] ^= 1 << rng.randrange(8)
    return bytes(out)


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(1, len(data))]


def _exif_junk(data: bytes, rng: random.Random) -> bytes:
    """An EXIF block of random entries (any tag, type and count) put in front of the image."""
    entries = []
    for _ in range(rng.randint(1, 6)):
        tag = rng.choice([0x0112, 0x0132, 0x8769, 0x8825, 0x9003, 0x011A, rng.randrange(65536)])
        entries.append(
            struct.pack("<HHI", tag, rng.randrange(0, 20), rng.choice([0, 1, 2, 4, 99, 2**31]))
            + rng.randbytes(4)
        )
    ifd = struct.pack("<H", len(entries)) + b"".join(entries) + struct.pack("<I", 0)
    app1 = b"Exif\x00\x00II*\x00" + struct.pack("<I", 8) + ifd + rng.randbytes(rng.randint(0, 64))
    if data[:2] == b"\xff\xd8":  # JPEG: as its APP1 segment
        return data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:]
    if data[:8] == b"\x89PNG\r\n\x1a\n":  # PNG: as an eXIf chunk (CRC left wrong on purpose)
        chunk = struct.pack(">I", len(app1) - 6) + b"eXIf" + app1[6:] + b"\0\0\0\0"
        return data[:33] + chunk + data[33:]
    return data + app1


def _huge(data: bytes, rng: random.Random) -> bytes:
    """Claim absurd dimensions in the header, keeping the rest."""
    out = bytearray(data)
    width, height = rng.choice([(65535, 65535), (1, 65535), (0, 0), (40000, 30000)])
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        out[16:24] = struct.pack(">II", width, height)
        return bytes(out)
    marker = data.find(b"\xff\xc0")
    if marker < 0:
        marker = data.find(b"\xff\xc2")
    if marker > 0:
        out[marker + 5 : marker + 9] = struct.pack(">HH", height, width)
    return bytes(out)


def _insert(data: bytes, rng: random.Random) -> bytes:
    where = rng.randrange(len(data))
    return data[:where] + rng.randbytes(rng.randint(1, 200)) + data[where:]


MUTATIONS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "flip bits": _flip_bits,
    "truncate": _truncate,
    "exif junk": _exif_junk,
    "huge": _huge,
    "insert": _insert,
    "exif junk + flip": lambda d, r: _flip_bits(_exif_junk(d, r), r),
}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow says "corrupt EXIF": we know
@settings(
    max_examples=2000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    base=st.sampled_from(sorted(BASES)),
    mutation=st.sampled_from(sorted(MUTATIONS)),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_damaged_image_is_refused_or_renders_everywhere(
    base: str, mutation: str, seed: int
) -> None:
    data = MUTATIONS[mutation](BASES[base], random.Random(seed))
    try:
        stored = STORE.save(data)
    except Invalid:
        return  # refused at the door, with a reason the person reads
    photo = ROOT / stored.path
    shown = Image.open(io.BytesIO(display_jpeg(photo)))
    assert shown.width > 0 and shown.height > 0
    assert stored.thumb_path is not None and (ROOT / stored.thumb_path).is_file()
    pair = Image.open(io.BytesIO(before_after(photo, photo, ("前", "后"))))
    assert pair.width > 0
