"""Cards about hidden dangers, as groups and people see them."""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path

from PIL import Image

from bot.i18n import Translator
from bot.views.labels import field_name, kind_name, level_name, shorten, telegram_length
from storage.dangers import DangerCard
from storage.dto import PhotoRef
from storage.photos import upright_rgb

logger = logging.getLogger(__name__)

CAPTION_LIMIT = 1024
DISPLAY_SIDE = 1600


async def telegram_photo(ref: PhotoRef, photo_dir: Path) -> str | bytes:
    """What to hand sendPhoto: the photo's file id, or a JPEG made from the stored file.

    Telegram will not show a document's file id as a photo, and refuses big, odd-shaped or
    TIFF/HEIC uploads as photos; a JPEG of at most DISPLAY_SIDE pixels always goes through.
    """
    if ref.source == "photo":
        return ref.file_id
    jpeg = await stored_jpeg(ref, photo_dir)
    return jpeg if jpeg is not None else ref.file_id


async def stored_jpeg(ref: PhotoRef, photo_dir: Path) -> bytes | None:
    """The stored photo as a display-size JPEG, else its thumbnail's; None when neither can be
    read (the photo is then only on Telegram's servers)."""
    for relative in (ref.path, ref.thumb_path):
        if relative and (photo_dir / relative).is_file():
            try:
                return await asyncio.to_thread(display_jpeg, photo_dir / relative)
            except Exception:  # a file damaged on disk since: the thumbnail, else nothing
                logger.warning("stored photo %s could not be shown", relative, exc_info=True)
                continue
    return None


def display_jpeg(path: Path) -> bytes:
    """An upright RGB JPEG of the image, its long side at most DISPLAY_SIDE pixels."""
    with Image.open(path) as image:
        image.draft("RGB", (DISPLAY_SIDE, DISPLAY_SIDE))
        upright = upright_rgb(image)
    upright.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE))
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=85)
    return out.getvalue()


def danger_fields(_: Translator, card: DangerCard) -> list[str]:
    """The lines every card of a hidden danger shows: level, unit, site, field, task, deadline."""
    lines = [
        _("Level: {level}", level=level_name(_, card.level)),
        _("Unit: {unit}", unit=card.unit_name),
        _("Site: {site}", site=card.site),
        _("Field: {field}", field=field_name(_, card.field)),
    ]
    if card.task_code:
        lines.append(
            _("Task: {code} {title}", code=card.task_code, title=shorten(card.task_title or "", 60))
        )
    lines.append(_("Deadline: {date}", date=card.deadline.isoformat()))
    return lines


def report_card(_: Translator, card: DangerCard) -> str:
    """The new-report card for groups; fits a photo caption (1,024 characters)."""
    lines = [
        _("🆕 {kind} {number}", kind=kind_name(_, card.kind), number=card.number),
        *danger_fields(_, card),
    ]
    where = " ".join(
        p
        for p in (
            card.address or "",
            f"{card.latitude:.5f}, {card.longitude:.5f}"
            if card.latitude is not None and card.longitude is not None
            else "",
        )
        if p
    )
    if where:
        lines.append(_("Location: {where}", where=where))
    lines.append(_("Reported by: {name}", name=card.reporter_name or "—"))
    head = "\n".join(lines)
    room = CAPTION_LIMIT - telegram_length(head) - 2
    if room <= 20:
        return shorten(head, CAPTION_LIMIT)
    return head + "\n\n" + shorten(card.description, room)
