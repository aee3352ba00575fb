"""What a person sent the application, as plain data: the decrypted callback XML, parsed.

WeCom's callback XML names the sender (`FromUserName`, a corp user id), the moment
(`CreateTime`, seconds since the epoch), the kind (`MsgType`) and, by kind: `Content` for
text; `PicUrl` and `MediaId` for an image; `Location_X` (latitude), `Location_Y` (longitude),
`Scale` and `Label` for a location; `Event` with `EventKey`, `TaskId`, `CardType` and
`ResponseCode` for a press on a template card's button (`template_card_event`), and the
event `enter_agent` when someone opens the application. Messages carry a `MsgId`, events do
not, which is why the key that recognises a retried callback is built two ways.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

EVENT = "event"
# A dedupe key longer than this (an event key may be 1,024 bytes) is kept as its digest.
_KEY_LIMIT = 160


class MalformedCallback(ValueError):
    """XML that is not a WeCom callback: unparsable, or without the fields every one has."""


class MessageKind(StrEnum):
    """What the conversation core can do something with; anything else is OTHER."""

    TEXT = "text"
    IMAGE = "image"
    LOCATION = "location"
    BUTTON_PRESS = "template_card_event"
    ENTER_AGENT = "enter_agent"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class WeComMessage:
    """One message or event a person sent the application."""

    kind: MessageKind
    from_user: str  # the sender's corp user id
    create_time: int  # seconds since the epoch, as WeCom stamped it
    msg_type: str  # WeCom's MsgType as sent (voice, video, file, link… arrive as OTHER)
    agent_id: int | None = None
    msg_id: str | None = None  # messages only; events have none
    content: str | None = None  # text
    pic_url: str | None = None  # image
    media_id: str | None = None  # image (and voice, video, file): for media/get
    latitude: float | None = None  # location: Location_X
    longitude: float | None = None  # location: Location_Y
    scale: int | None = None  # location: the map's zoom
    label: str | None = None  # location: the place's name or address
    event: str | None = None  # events: the event's name as sent
    event_key: str | None = None  # a pressed button's key
    task_id: str | None = None  # the pressed card's task id
    card_type: str | None = None  # the pressed card's kind (button_interaction)
    response_code: str | None = None  # for one update_template_card of the pressed card

    @property
    def dedupe_key(self) -> str:
        """The key that is the same for a callback and every retry of it, and only for them."""
        if self.msg_id:
            return f"wecom:msg:{self.msg_id}"
        parts = (
            self.from_user,
            str(self.create_time),
            self.event or self.msg_type,
            self.event_key or "",
            self.task_id or "",
        )
        key = "wecom:event:" + ":".join(parts)
        if len(key) <= _KEY_LIMIT:
            return key
        digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()
        return f"wecom:event:{digest}"


def as_record(message: WeComMessage) -> dict[str, Any]:
    """The message as plain JSON, to keep in the inbox until it is handled."""
    return {k: v for k, v in asdict(message).items() if v is not None}


def from_record(record: dict[str, Any]) -> WeComMessage:
    """A kept message back; keys this version does not know are left out."""
    known = {f.name for f in fields(WeComMessage)}
    values = {k: v for k, v in record.items() if k in known}
    values["kind"] = MessageKind(values["kind"])
    return WeComMessage(**values)


def parse_message(xml: str) -> WeComMessage:
    """Parse a decrypted callback into a WeComMessage, refusing what is not one."""
    root = parse_xml(xml)
    from_user = _text(root, "FromUserName")
    msg_type = _text(root, "MsgType")
    if not from_user or not msg_type:
        raise MalformedCallback("no FromUserName or MsgType")
    event = _text(root, "Event") if msg_type == EVENT else None
    kind = _kind(msg_type, event)
    message = WeComMessage(
        kind=kind,
        from_user=from_user,
        create_time=_created(root),
        msg_type=msg_type,
        agent_id=_int(root, "AgentID"),
        msg_id=_text(root, "MsgId") if msg_type != EVENT else None,
        content=_text(root, "Content", strip=False),
        pic_url=_text(root, "PicUrl"),
        media_id=_text(root, "MediaId"),
        label=_text(root, "Label"),
        event=event,
        event_key=_text(root, "EventKey"),
        task_id=_text(root, "TaskId"),
        card_type=_text(root, "CardType"),
        response_code=_text(root, "ResponseCode"),
    )
    if kind is MessageKind.TEXT and message.content is None:
        raise MalformedCallback("a text message without Content")
    if kind is MessageKind.IMAGE and not message.media_id:
        raise MalformedCallback("an image without MediaId")
    if kind is MessageKind.LOCATION:
        return _located(message, root)
    return message


def parse_xml(xml: str) -> Element:
    """Parse XML safely (no entities, no external references), or raise MalformedCallback."""
    try:
        root = fromstring(xml)
    except (ParseError, DefusedXmlException) as exc:
        raise MalformedCallback(f"not XML: {type(exc).__name__}") from exc
    if not isinstance(root, Element):
        raise MalformedCallback("not an XML element")
    return root


def _kind(msg_type: str, event: str | None) -> MessageKind:
    if msg_type == EVENT:
        if event == MessageKind.BUTTON_PRESS:
            return MessageKind.BUTTON_PRESS
        if event == MessageKind.ENTER_AGENT:
            return MessageKind.ENTER_AGENT
        return MessageKind.OTHER
    if msg_type in (MessageKind.TEXT, MessageKind.IMAGE, MessageKind.LOCATION):
        return MessageKind(msg_type)
    return MessageKind.OTHER


def _located(message: WeComMessage, root: Element) -> WeComMessage:
    try:
        latitude = float(_text(root, "Location_X") or "")
        longitude = float(_text(root, "Location_Y") or "")
    except ValueError as exc:
        raise MalformedCallback("a location without Location_X and Location_Y") from exc
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise MalformedCallback("a location off the Earth")
    return replace(message, latitude=latitude, longitude=longitude, scale=_int(root, "Scale"))


def _text(root: Element, tag: str, *, strip: bool = True) -> str | None:
    node = root.find(tag)
    if node is None:
        return None
    # What a person typed keeps its spaces; ids and names lose the XML's indentation.
    return (node.text or "").strip() if strip else node.text or ""


def _int(root: Element, tag: str) -> int | None:
    value = _text(root, tag)
    if not value:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise MalformedCallback(f"{tag} is not a number") from exc


def _created(root: Element) -> int:
    created = _int(root, "CreateTime")
    if created is None:
        raise MalformedCallback("no CreateTime")
    return created
