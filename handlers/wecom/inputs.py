"""A WeCom message turned into a plain `Input`: a location, a photo (downloaded only when a
step wants one, and kept in the photo store), a typed text or a typed location choice."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.views.report_words import typed_location_button
from bot.wecom.api import MediaTooLarge
from bot.wecom.incoming import MessageKind
from storage.clock import utcnow
from storage.conversation import Input, InputKind, NewPhoto
from storage.dialogue import Awaited
from storage.errors import N_, Invalid
from storage.photos import MAX_PHOTO_BYTES
from storage.uploads import check_room, upload_room

if TYPE_CHECKING:
    from handlers.wecom.turn import Turn

TOO_BIG = N_("The image is larger than {limit_mb} MB.")


async def message_input(turn: Turn, awaited: Awaited) -> Input:
    """The message as a plain input (a picture downloaded only when one is wanted)."""
    message = turn.message
    if message.kind is MessageKind.LOCATION:
        return Input(
            InputKind.LOCATION,
            latitude=message.latitude,
            longitude=message.longitude,
            address=message.label or None,
        )
    if message.kind is MessageKind.IMAGE and message.media_id:
        if not awaited.wants_photo:
            return Input(InputKind.PHOTO)
        photo = await download_photo(turn, message.media_id, held=awaited.photo_held)
        return Input(InputKind.PHOTO, photo=photo)
    if message.kind is MessageKind.TEXT:
        text = message.content or ""
        # WeCom has no reply keyboard: the location step's choices are words to type.
        pressed = typed_location_button(text.strip()) if awaited.wants_location else None
        if pressed is not None:
            return Input(InputKind.BUTTON, button=pressed)
        return Input(InputKind.TEXT, text=text)
    return Input(InputKind.OTHER, what=message.msg_type)


async def download_photo(turn: Turn, media_id: str, *, held: bool = False) -> NewPhoto:
    """Fetch a person's photo from WeCom and keep it in the photo store."""
    front = turn.front
    # Before the download: a photo that will not fit costs neither bandwidth nor disk.
    async with front.sessions() as session:
        room = await upload_room(session, account=turn.account, now=utcnow())
    check_room(room, size=None, bytes_a_day=front.settings.photo_mb_per_day << 20, held=held)
    try:
        data = await front.client.download_media(media_id, max_bytes=MAX_PHOTO_BYTES)
    except MediaTooLarge as err:
        raise Invalid(TOO_BIG, limit_mb=MAX_PHOTO_BYTES >> 20) from err
    # The media id finds WeCom's copy again (for three days); the bytes' digest, ours.
    return await front.photos.keep(
        data,
        local_tz=front.settings.tz,
        file_id=f"wecom:{media_id}",
        file_unique_id=f"wecom:{media_id}",
        source="photo",
    )
