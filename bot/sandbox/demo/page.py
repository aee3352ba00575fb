"""The chat page's server: the page itself (static/), and a small JSON API through which the
browser acts as one of the cast — on Telegram through the fake Bot API's people, on WeCom
through the fake WeCom's callbacks — and reads what the bot sent them.

Every action is what a phone would do (a typed text, a photo, a press, a shared location),
so the real bot answers it; the page polls the chat it shows. "Run pushes now" queues the
countdown and the reminders as `hdbot push now … --again` does, and wakes the sender.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import web

from bot.config import Settings
from bot.context import HdApplication
from bot.i18n import language_for
from bot.push.sender import wake_sender
from bot.sandbox.botapi import FakeBotAPI, Person
from bot.sandbox.demo import shown
from bot.sandbox.demo.cast import GROUPS, PEOPLE, ROBOT_KEY, Cast, person
from bot.sandbox.wecom import FakeWeCom
from storage import pushes
from storage.accounts import Account
from storage.campaigns import get_campaign
from storage.db import Sessions
from storage.people import chosen_language

logger = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
MAX_UPLOAD = 20 * 1024 * 1024
PUSH_KINDS = ("countdown", "reminders")


@dataclass
class Sandbox:
    """Everything the page talks to, once the demo has started."""

    settings: Settings
    telegram: FakeBotAPI
    wecom: FakeWeCom
    sessions: Sessions
    application: HdApplication
    group_ids: dict[str, int]
    # What each person sent the WeCom application, for their side of the conversation.
    wecom_sent: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class DemoPage:
    """The aiohttp application of the page; `sandbox` is set once everything runs."""

    def __init__(self) -> None:
        self.sandbox: Sandbox | None = None
        self.app = web.Application(client_max_size=MAX_UPLOAD)
        get, post = self.app.router.add_get, self.app.router.add_post
        get("/", self.index)
        self.app.router.add_static("/static/", STATIC)
        get("/api/world", self.world)
        get("/api/telegram/chat/{chat}", self.telegram_chat)
        get("/api/telegram/file/{file_id}", self.telegram_file)
        post("/api/telegram/send", self.telegram_send)
        post("/api/telegram/photos", self.telegram_photos)
        post("/api/telegram/press", self.telegram_press)
        post("/api/telegram/tap", self.telegram_tap)
        post("/api/telegram/location", self.telegram_location)
        get("/api/wecom/chat/{person}", self.wecom_chat)
        get("/api/wecom/media/{media_id}", self.wecom_media)
        get("/api/wecom/robot", self.wecom_robot)
        post("/api/wecom/send", self.wecom_send)
        post("/api/wecom/photos", self.wecom_photos)
        post("/api/wecom/press", self.wecom_press)
        post("/api/wecom/location", self.wecom_location)
        post("/api/push", self.push_now)

    def _ready(self) -> Sandbox:
        if self.sandbox is None:
            raise web.HTTPServiceUnavailable(text="the demo is still starting")
        return self.sandbox

    # --- the page and the world -----------------------------------------------------------

    async def index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def world(self, request: web.Request) -> web.Response:
        """Who can be played, their chats and language now, the campaign."""
        sandbox = self._ready()
        people = []
        async with sandbox.sessions() as session:
            for member in PEOPLE:
                chosen = await chosen_language(session, Account.telegram(member.telegram_id))
                people.append(
                    {
                        "key": member.key,
                        "name": member.name,
                        "role": member.role,
                        "unit": member.unit,
                        "wecom": member.wecom_user_id,
                        "chat": member.telegram_id,
                        "language": language_for(
                            chosen=chosen,
                            telegram_code=member.language_code,
                            default=sandbox.settings.language,
                        ),
                        "groups": [g.key for g in GROUPS if member.key in g.members],
                    }
                )
            campaign = await get_campaign(session)
        return web.json_response(
            {
                "bot": {
                    "name": sandbox.telegram.bot.first_name,
                    "username": sandbox.telegram.username,
                },
                "people": people,
                "groups": [
                    {
                        "key": g.key,
                        "title": g.title,
                        "unit": g.unit,
                        "chat": sandbox.group_ids[g.key],
                    }
                    for g in GROUPS
                ],
                "campaign": None
                if campaign is None
                else {"name": campaign.name, "closing_date": campaign.closing_date.isoformat()},
            }
        )

    # --- Telegram -------------------------------------------------------------------------

    async def telegram_chat(self, request: web.Request) -> web.Response:
        sandbox = self._ready()
        chat = sandbox.telegram.chat(_integer(request.match_info["chat"]))
        with sandbox.telegram.state.lock:
            return web.json_response(shown.telegram_chat(chat))

    async def telegram_file(self, request: web.Request) -> web.Response:
        sandbox = self._ready()
        with sandbox.telegram.state.lock:
            record = sandbox.telegram.state.files.get(request.match_info["file_id"])
        if record is None:
            raise web.HTTPNotFound()
        headers = {"Cache-Control": "max-age=3600"}
        if record.kind == "document":
            # An exported ledger downloads under its own name.
            headers["Content-Disposition"] = _attachment(unquote(record.file_name or "file"))
        content_type = record.mime_type or (
            "image/jpeg" if record.kind in ("photo", "thumbnail") else "application/octet-stream"
        )
        return web.Response(body=record.data, content_type=content_type, headers=headers)

    async def telegram_send(self, request: web.Request) -> web.Response:
        body = await _json(request)
        someone, chat = self._telegram_actor(body)
        text = str(body.get("text") or "").strip()
        if not text:
            raise web.HTTPBadRequest(text="nothing to send")
        someone.send_text(text[:4096], chat=chat)
        return _done()

    async def telegram_photos(self, request: web.Request) -> web.Response:
        form = await _form(request)
        someone, chat = self._telegram_actor(form.fields)
        images, caption = form.files, str(form.fields.get("caption") or "") or None
        if not images:
            raise web.HTTPBadRequest(text="no photo")
        try:
            if len(images) == 1:
                await asyncio.to_thread(someone.send_photo, images[0], caption, chat=chat)
            else:
                await asyncio.to_thread(someone.send_album, images[:10], caption, chat=chat)
        except ValueError as err:  # not an image Telegram would take as a photo
            raise web.HTTPBadRequest(text=str(err)) from None
        return _done()

    async def telegram_press(self, request: web.Request) -> web.Response:
        body = await _json(request)
        someone, chat = self._telegram_actor(body)
        with self._ready().telegram.state.lock:
            message = chat.find_message(_integer(body.get("message")))
        if message is None:
            raise web.HTTPNotFound(text="no such message")
        try:
            someone.press(message, str(body.get("data") or ""))
        except (LookupError, ValueError) as err:
            raise web.HTTPBadRequest(text=str(err)) from None
        return _done()

    async def telegram_tap(self, request: web.Request) -> web.Response:
        body = await _json(request)
        someone, chat = self._telegram_actor(body)
        where = _coordinates(body) if "latitude" in body else None
        try:
            someone.tap(str(body.get("text") or ""), chat=chat, location=where)
        except (LookupError, ValueError) as err:
            raise web.HTTPBadRequest(text=str(err)) from None
        return _done()

    async def telegram_location(self, request: web.Request) -> web.Response:
        body = await _json(request)
        someone, chat = self._telegram_actor(body)
        someone.send_location(*_coordinates(body), chat=chat)
        return _done()

    def _telegram_actor(self, body: dict[str, Any]) -> tuple[Person, Any]:
        sandbox = self._ready()
        member = _member(body)
        with sandbox.telegram.state.lock:
            someone = sandbox.telegram.state.people[member.telegram_id]
            chat = sandbox.telegram.chat(_integer(body.get("chat", member.telegram_id)))
            if chat.status_of(someone.id) not in ("creator", "administrator", "member"):
                raise web.HTTPForbidden(text="not a member of that chat")
        return someone, chat

    # --- WeCom ----------------------------------------------------------------------------

    async def wecom_chat(self, request: web.Request) -> web.Response:
        sandbox = self._ready()
        member = _member({"person": request.match_info["person"]})
        app = sandbox.wecom.application
        conversation = shown.wecom_conversation(
            app.messages(member.wecom_user_id),
            app.card_updates(),
            sandbox.wecom_sent.get(member.key, []),
        )
        return web.json_response(conversation)

    async def wecom_media(self, request: web.Request) -> web.Response:
        try:
            data, content_type, name = self._ready().wecom.application.media_file(
                request.match_info["media_id"]
            )
        except KeyError:
            raise web.HTTPNotFound() from None
        headers = {"Content-Disposition": _attachment(name)} if name else {}
        return web.Response(body=data, content_type=content_type, headers=headers)

    async def wecom_robot(self, request: web.Request) -> web.Response:
        messages = self._ready().wecom.messages(ROBOT_KEY)
        return web.json_response(shown.robot_messages([m.content for m in messages]))

    async def wecom_send(self, request: web.Request) -> web.Response:
        body = await _json(request)
        member = _member(body)
        text = str(body.get("text") or "").strip()
        if not text:
            raise web.HTTPBadRequest(text="nothing to send")
        callbacks = self._ready().wecom.application.callbacks
        await self._wecom_post(member, callbacks.text(member.wecom_user_id, text), text=text)
        return _done()

    async def wecom_photos(self, request: web.Request) -> web.Response:
        form = await _form(request)
        member = _member(form.fields)
        callbacks = self._ready().wecom.application.callbacks
        for image in form.files[:9]:
            # Kept first, as WeCom keeps what a person sends: the page shows it from there.
            media_id = self._ready().wecom.application.put_media(image)
            xml = callbacks.image(member.wecom_user_id, media_id=media_id)
            await self._wecom_post(member, xml, photo=f"/api/wecom/media/{media_id}")
        return _done()

    async def wecom_location(self, request: web.Request) -> web.Response:
        body = await _json(request)
        member = _member(body)
        latitude, longitude = _coordinates(body)
        callbacks = self._ready().wecom.application.callbacks
        xml = callbacks.location(member.wecom_user_id, latitude, longitude)
        await self._wecom_post(member, xml, location=[latitude, longitude])
        return _done()

    async def wecom_press(self, request: web.Request) -> web.Response:
        body = await _json(request)
        member = _member(body)
        task_id, key = body.get("task_id"), body.get("key")
        if not isinstance(task_id, str) or not isinstance(key, str) or not task_id or not key:
            raise web.HTTPBadRequest(text="a card's task_id and a button's key, please")
        callbacks = self._ready().wecom.application.callbacks
        xml = callbacks.button_press(member.wecom_user_id, task_id=task_id, key=key)
        await self._wecom_post(member, xml)
        return _done()

    async def _wecom_post(self, member: Cast, xml: str, **mine: Any) -> None:
        """Post a callback as WeCom would; what the person sent joins their side of the chat."""
        sandbox = self._ready()
        if mine:
            after = len(sandbox.wecom.application.messages(member.wecom_user_id))
            sandbox.wecom_sent.setdefault(member.key, []).append(
                {"from_bot": False, "after": after, **mine}
            )
        status = await sandbox.wecom.application.callbacks.post(xml)
        if status != 200:
            raise web.HTTPBadGateway(text=f"the WeCom callback answered {status}")

    # --- pushes ---------------------------------------------------------------------------

    async def push_now(self, request: web.Request) -> web.Response:
        """Queue the countdown and the reminders now, as `hdbot push now … --again`, and
        wake the sender."""
        sandbox = self._ready()
        counts: dict[str, int] = {}
        for what in PUSH_KINDS:
            async with sandbox.sessions() as session:
                queued = await pushes.enqueue_due(
                    session, rules=sandbox.settings.push_rules, force=what, again=True
                )
            for kind, count in queued.counts.items():
                counts[kind] = counts.get(kind, 0) + count
        job_queue = sandbox.application.job_queue
        if job_queue is not None:
            job_queue.run_once(_wake, 0)
        return web.json_response({"queued": counts})


async def _wake(context: Any) -> None:
    wake_sender(context)


@dataclass
class _Form:
    fields: dict[str, Any]
    files: list[bytes]


async def _form(request: web.Request) -> _Form:
    """A multipart form: its fields, and the bytes of every file in it."""
    fields: dict[str, Any] = {}
    files: list[bytes] = []
    form = await request.post()
    for name, value in form.items():
        if isinstance(value, web.FileField):
            files.append(value.file.read())
        else:
            fields[name] = value
    return _Form(fields, files)


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="not JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="not a JSON object")
    return body


def _member(body: dict[str, Any]) -> Cast:
    try:
        return person(str(body.get("person")))
    except KeyError:
        raise web.HTTPNotFound(text="no such person") from None


def _integer(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise web.HTTPBadRequest(text="not a number") from None


def _coordinates(body: dict[str, Any]) -> tuple[float, float]:
    try:
        latitude, longitude = float(body["latitude"]), float(body["longitude"])
    except (KeyError, TypeError, ValueError):
        raise web.HTTPBadRequest(text="latitude and longitude, please") from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise web.HTTPBadRequest(text="not a place on Earth")
    return latitude, longitude


def _attachment(name: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(name)}"


def _done() -> web.Response:
    return web.json_response({"ok": True})
