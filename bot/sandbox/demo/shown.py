"""What the chat page shows, as JSON: a Telegram chat as the fake Bot API holds it, and a
person's WeCom conversation with the application and the group robot's messages.

Text goes out as Telegram keeps it — plain text and entities (the fake parsed the bot's HTML
as Telegram does) — and the page builds the formatting from the entities with DOM nodes,
never as HTML: whatever a person typed stays text. WeCom's markdown goes out as WeCom
received it; the page escapes it before reading its few marks.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from bot.sandbox.botapi import Chat, FileRecord, Message
from bot.sandbox.wecom import SentMessage

JSON = dict[str, Any]


def telegram_chat(chat: Chat) -> JSON:
    """The chat's messages, oldest first, and the reply keyboard its person sees now."""
    messages = [_message(m) for m in chat.messages if not m.deleted and not m.service]
    keyboard = None
    markup = chat.reply_keyboard_markup
    if markup is not None:
        keyboard = [
            [{"text": b["text"], "location": bool(b.get("request_location"))} for b in row]
            for row in markup["keyboard"]
        ]
    return {"messages": messages, "reply_keyboard": keyboard}


def _message(message: Message) -> JSON:
    shown: JSON = {
        "id": message.message_id,
        "from_bot": message.from_bot,
        "sender": message.sender.first_name,
        "date": message.date,
        "edited": bool(message.edits),
        "album": message.media_group_id,
    }
    if message.text is not None:
        shown["text"], shown["entities"] = message.text, message.entities
    elif message.caption:
        shown["text"], shown["entities"] = message.caption, message.caption_entities
    if message.photo:
        largest = message.photo[-1]
        shown["photo"] = {
            "url": _file_url(largest),
            "width": largest.width,
            "height": largest.height,
        }
    if message.document is not None:
        document = message.document
        shown["document"] = {
            "url": _file_url(document),
            # aiohttp's multipart percent-encodes a file name that is not ASCII.
            "name": unquote(document.file_name or "file"),
            "size": document.size,
            "thumb": _file_url(document.thumbnail) if document.thumbnail else None,
        }
    if message.location is not None:
        shown["location"] = list(message.location)
    if message.venue is not None:
        shown["venue"] = {"title": message.venue[0], "address": message.venue[1]}
    if message.sticker is not None:
        shown["text"] = message.sticker.file_name or "sticker"
    rows = (message.reply_markup or {}).get("inline_keyboard") or []
    if rows:
        shown["buttons"] = [
            [{"text": b["text"], "data": b.get("callback_data"), "url": b.get("url")} for b in row]
            for row in rows
        ]
    return shown


def _file_url(record: FileRecord) -> str:
    return f"/api/telegram/file/{record.file_id}"


def wecom_conversation(sent: list[SentMessage], updates: list[JSON], own: list[JSON]) -> JSON:
    """The application's messages to one person, with the person's own in between (each of
    theirs carries how many of the application's had come before it)."""
    by_code = {}
    for update in updates:
        by_code[update.get("response_code")] = update
    shown: list[JSON] = []
    mine = sorted(own, key=lambda entry: int(entry["after"]))
    for index, message in enumerate(sent):
        while mine and int(mine[0]["after"]) <= index:
            shown.append(mine.pop(0))
        shown.append(_wecom_message(message, by_code.get(message.response_code)))
    shown.extend(mine)
    return {"messages": shown}


def _wecom_message(message: SentMessage, update: JSON | None) -> JSON:
    shown: JSON = {"from_bot": True, "kind": message.msgtype, "id": message.msgid}
    if message.msgtype == "text":
        shown["text"] = message.content
    elif message.msgtype in ("image", "file"):
        shown["url"] = f"/api/wecom/media/{message.media_id}"
        shown["name"] = message.body.get(message.msgtype, {}).get("name")
    elif message.msgtype == "template_card":
        card = message.card
        pressed = None
        if update is not None:
            card = update.get("template_card") or card
            pressed = (update.get("button") or {}).get("replace_name")
        title = card.get("main_title") or {}
        shown["card"] = {
            "task_id": card.get("task_id"),
            "title": title.get("title", ""),
            "desc": title.get("desc", ""),
            "text": card.get("sub_title_text", ""),
            "buttons": [
                {"text": b.get("text", ""), "key": b.get("key", "")}
                for b in card.get("button_list", [])
            ],
            "pressed": pressed,
        }
    return shown


def robot_messages(contents: list[str]) -> JSON:
    """The group robot's markdown messages, oldest first."""
    return {"messages": [{"markdown": content} for content in contents]}
