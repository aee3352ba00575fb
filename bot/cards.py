"""Cards about hidden dangers, as groups and people see them."""

from __future__ import annotations

from pathlib import Path

from bot.i18n import Translator
from bot.render import field_name, kind_name, level_name
from storage.dangers import DangerCard
from storage.dto import PhotoRef

CAPTION_LIMIT = 1024
# Telegram refuses photo uploads over 10 MB; a bigger original goes as its thumbnail.
PHOTO_UPLOAD_LIMIT = 10 * 1024 * 1024


def telegram_photo(ref: PhotoRef, photo_dir: Path) -> str | bytes:
    """What to hand sendPhoto: the photo's file id, or a file's bytes from the store."""
    if ref.source == "photo":
        return ref.file_id
    path = photo_dir / ref.path
    if path.is_file() and path.stat().st_size <= PHOTO_UPLOAD_LIMIT:
        return path.read_bytes()
    if ref.thumb_path and (photo_dir / ref.thumb_path).is_file():
        return (photo_dir / ref.thumb_path).read_bytes()
    return ref.file_id


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def report_card(_: Translator, card: DangerCard) -> str:
    """The new-report card for groups; fits a photo caption (1,024 characters)."""
    lines = [
        _("🆕 {kind} {number}", kind=kind_name(_, card.kind), number=card.number),
        _("Level: {level}", level=level_name(_, card.level)),
        _("Unit: {unit}", unit=card.unit_name),
        _("Site: {site}", site=card.site),
        _("Field: {field}", field=field_name(_, card.field)),
    ]
    if card.task_code:
        lines.append(
            _("Task: {code} {title}", code=card.task_code, title=_short(card.task_title or "", 60))
        )
    lines.append(_("Deadline: {date}", date=card.deadline.isoformat()))
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
    room = CAPTION_LIMIT - len(head) - 2
    return head + "\n\n" + _short(card.description, max(room, 0)) if room > 20 else head
