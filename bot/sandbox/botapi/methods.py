"""The Bot API methods the fake answers, each a plain function of (state, params).

Methods run under the state lock and either return the ``result`` of a successful call or
raise ApiError with Telegram's code and description. They check what Telegram checks that
a bot is likely to get wrong: limits (4096/1024 characters, 64-byte callback_data, 2–10
album items, 20 MB downloads), markup, "message is not modified", migrated groups, blocked
users. getUpdates is special (it long-polls) and lives in routing; here is only its name.
"""

from __future__ import annotations

import json
import mimetypes
import re
import time
from collections.abc import Callable
from typing import Any

from storage.clock import utcnow

from . import formatting
from .objects import JSON, CallbackAnswer, Edit, FileRecord, Message
from .params import Params, Upload
from .people import Chat
from .state import DEFAULT_ALLOWED_UPDATES, ApiError, State, Webhook, bad_request

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_DOWNLOAD = 20 * 1024 * 1024

Method = Callable[[State, Params], Any]
METHODS: dict[str, tuple[str, Method]] = {}  # lower-case name -> (Bot API name, function)
LONG_POLL = "getUpdates"


def method(name: str) -> Callable[[Method], Method]:
    """Register a function as the Bot API method ``name`` (names are case-insensitive)."""

    def register(fn: Method) -> Method:
        METHODS[name.lower()] = (name, fn)
        return fn

    return register


def canonical_name(name: str) -> str | None:
    """The Bot API spelling of a method name, or None if the fake does not know it."""
    if name.lower() == LONG_POLL.lower():
        return LONG_POLL
    entry = METHODS.get(name.lower())
    return entry[0] if entry else None


# --- the bot and its updates --------------------------------------------------------------


@method("getMe")
def get_me(state: State, params: Params) -> JSON:
    return {
        **state.bot.to_api(),
        "can_join_groups": True,
        "can_read_all_group_messages": not state.group_privacy,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@method("setWebhook")
def set_webhook(state: State, params: Params) -> bool:
    url = params.text("url") or ""
    if url and not re.match(r"https?://", url):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if params.flag("drop_pending_updates"):
        state.updates.clear()
    _set_allowed_updates(state, params)
    if url:
        # Delivery works over plain http too, so tests can point it at 127.0.0.1.
        state.webhook = Webhook(
            url=url,
            secret_token=params.text("secret_token"),
            max_connections=params.integer("max_connections") or 40,
        )
    else:
        state.webhook = None
    state.updates_changed.notify()
    return True


@method("deleteWebhook")
def delete_webhook(state: State, params: Params) -> bool:
    state.webhook = None
    if params.flag("drop_pending_updates"):
        state.updates.clear()
    state.updates_changed.notify()
    return True


@method("getWebhookInfo")
def get_webhook_info(state: State, params: Params) -> JSON:
    hook = state.webhook
    info: JSON = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(state.updates),
    }
    if hook:
        info["max_connections"] = hook.max_connections
        info["allowed_updates"] = sorted(state.allowed_updates)
        if hook.last_error_date:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
    return info


def _set_allowed_updates(state: State, params: Params) -> None:
    allowed = params.json("allowed_updates")
    if allowed is not None:
        state.allowed_updates = frozenset(allowed) or DEFAULT_ALLOWED_UPDATES


def poll_updates(state: State, params: Params) -> list[JSON]:
    """getUpdates without waiting: confirm by offset, then return what is queued."""
    if state.webhook is not None:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    _set_allowed_updates(state, params)
    limit = min(max(params.integer("limit") or 100, 1), 100)
    return state.take_updates(params.integer("offset"), limit)


# --- sending ------------------------------------------------------------------------------


@method("sendMessage")
def send_message(state: State, params: Params) -> JSON:
    chat = _writable_chat(state, params)
    text, entities = _formatted(params, "text", "entities", MAX_TEXT, "message is too long")
    if not text:
        raise bad_request("message text is empty")
    message = _post(
        state, params, chat, text=text, entities=entities, parse_mode=params.text("parse_mode")
    )
    return message.to_api()


@method("sendPhoto")
def send_photo(state: State, params: Params) -> JSON:
    chat = _writable_chat(state, params)
    source = _input_file(params, "photo")
    if source is None:
        raise bad_request("there is no photo in the request")
    caption, caption_entities = _caption(params)
    message = _post(
        state,
        params,
        chat,
        photo=_photo_from(state, source),
        caption=caption,
        caption_entities=caption_entities,
        parse_mode=params.text("parse_mode"),
    )
    return message.to_api()


@method("sendDocument")
def send_document(state: State, params: Params) -> JSON:
    chat = _writable_chat(state, params)
    source = _input_file(params, "document")
    if source is None:
        raise bad_request("there is no document in the request")
    caption, caption_entities = _caption(params)
    message = _post(
        state,
        params,
        chat,
        document=_document_from(state, source),
        caption=caption,
        caption_entities=caption_entities,
        parse_mode=params.text("parse_mode"),
    )
    return message.to_api()


@method("sendMediaGroup")
def send_media_group(state: State, params: Params) -> list[JSON]:
    chat = _writable_chat(state, params)
    params.require("media")
    media = params.json("media", "media")
    if not isinstance(media, list) or not all(isinstance(item, dict) for item in media):
        raise bad_request("can't parse media JSON object")
    if len(media) < 2:
        raise bad_request("too few media in the album: send 2-10 items")
    if len(media) > 10:
        raise bad_request("too many media in the album: send 2-10 items")
    kinds = {item.get("type") for item in media}
    if not kinds <= {"photo", "document"}:
        raise bad_request(f"the fake supports photo and document albums, not {sorted(kinds)}")
    if len(kinds) > 1:
        raise bad_request("document can't be mixed with other media types")
    reply_to = _reply_to(params, chat)
    # Check every item before sending any, so a bad item sends nothing.
    prepared = []
    for item in media:
        source = _media_source(params, item.get("media"))
        caption, caption_entities = _item_caption(item)
        if item["type"] == "photo":
            files: JSON = {"photo": _photo_from(state, source)}
        else:
            files = {"document": _document_from(state, source)}
        prepared.append({**files, "caption": caption, "caption_entities": caption_entities})
    group_id = str(13_500_000_000_000_000 + state.serial())
    messages = [
        chat.add_message(
            sender=state.bot, from_bot=True, media_group_id=group_id, reply_to=reply_to, **fields
        )
        for fields in prepared
    ]
    return [message.to_api() for message in messages]


@method("sendLocation")
def send_location(state: State, params: Params) -> JSON:
    chat = _writable_chat(state, params)
    return _post(state, params, chat, location=_coordinates(params)).to_api()


@method("sendVenue")
def send_venue(state: State, params: Params) -> JSON:
    chat = _writable_chat(state, params)
    location = _coordinates(params)
    params.require("title")
    params.require("address")
    venue = (params.text("title") or "", params.text("address") or "")
    return _post(state, params, chat, location=location, venue=venue).to_api()


_CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}


@method("sendChatAction")
def send_chat_action(state: State, params: Params) -> bool:
    chat = _writable_chat(state, params)
    action = params.text("action")
    if action not in _CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    chat.actions.append(action)
    state.chat_actions.append((chat.id, action))
    return True


# --- changing what was sent -----------------------------------------------------------------


@method("editMessageText")
def edit_message_text(state: State, params: Params) -> JSON:
    message = _editable(state, params)
    if message.text is None:
        raise bad_request("there is no text in the message to edit")
    text, entities = _formatted(params, "text", "entities", MAX_TEXT, "MESSAGE_TOO_LONG")
    if not text:
        raise bad_request("message text is empty")
    # Leaving reply_markup out removes the inline keyboard, as on Telegram.
    markup = _inline_markup_only(params)
    if (text, entities, markup) == (message.text, message.entities, message.reply_markup):
        raise _not_modified()
    message.text, message.entities = text, entities
    message.parse_mode = params.text("parse_mode")
    return _record_edit(state, message, "editMessageText", markup)


@method("editMessageCaption")
def edit_message_caption(state: State, params: Params) -> JSON:
    message = _editable(state, params)
    if not (message.photo or message.document):
        raise bad_request("there is no caption in the message to edit")
    caption, caption_entities = _caption(params)
    markup = _inline_markup_only(params)
    current = (message.caption, message.caption_entities, message.reply_markup)
    if (caption, caption_entities, markup) == current:
        raise _not_modified()
    message.caption, message.caption_entities = caption, caption_entities
    return _record_edit(state, message, "editMessageCaption", markup)


@method("editMessageReplyMarkup")
def edit_message_reply_markup(state: State, params: Params) -> JSON:
    message = _editable(state, params)
    markup = _inline_markup_only(params)
    if markup == message.reply_markup:
        raise _not_modified()
    return _record_edit(state, message, "editMessageReplyMarkup", markup)


@method("deleteMessage")
def delete_message(state: State, params: Params) -> bool:
    chat = _chat(state, params)
    params.require("message_id")
    message = chat.find_message(params.integer("message_id") or 0)
    if message is None or message.deleted:
        raise bad_request("message to delete not found")
    bot_is_admin = chat.status_of(state.bot.id) in ("creator", "administrator")
    if not (message.from_bot or chat.type == "private" or bot_is_admin):
        raise bad_request("message can't be deleted")
    message.deleted = True
    state.bot_acted.notify()
    return True


@method("answerCallbackQuery")
def answer_callback_query(state: State, params: Params) -> bool:
    params.require("callback_query_id")
    press = state.callback_queries.get(params.text("callback_query_id") or "")
    if press is None or press.answer is not None:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = params.text("text")
    if text is not None and formatting.utf16_len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    press.answer = CallbackAnswer(
        text=text,
        show_alert=params.flag("show_alert"),
        url=params.text("url"),
        cache_time=params.integer("cache_time") or 0,
    )
    state.bot_acted.notify()
    return True


# --- files --------------------------------------------------------------------------------


@method("getFile")
def get_file(state: State, params: Params) -> JSON:
    params.require("file_id")
    record = state.files.get(params.text("file_id") or "")
    if record is None:
        raise bad_request("invalid file_id")
    if record.size > MAX_DOWNLOAD:
        raise bad_request("file is too big")
    return {
        "file_id": record.file_id,
        "file_unique_id": record.file_unique_id,
        "file_size": record.size,
        "file_path": state.file_path(record),
    }


# --- commands -----------------------------------------------------------------------------

_SCOPES = {
    "default",
    "all_private_chats",
    "all_group_chats",
    "all_chat_administrators",
    "chat",
    "chat_administrators",
    "chat_member",
}


def command_key(state: State, scope: JSON | None, language_code: str | None) -> tuple[str, str]:
    """The storage key of a command list: canonical scope JSON and language code."""
    scope = dict(scope or {"type": "default"})
    if scope.get("type") not in _SCOPES:
        raise bad_request("can't parse BotCommandScope JSON object")
    if "chat_id" in scope:
        chat = state.chat_by_ref(scope["chat_id"])
        if chat is None:
            raise bad_request("chat not found")
        scope["chat_id"] = chat.id
    language = language_code or ""
    if language and not re.fullmatch(r"[a-z]{2}", language):
        raise bad_request("invalid language code specified")
    return json.dumps(scope, sort_keys=True), language


def _command_key_from(state: State, params: Params) -> tuple[str, str]:
    return command_key(state, params.json("scope", "BotCommandScope"), params.text("language_code"))


@method("setMyCommands")
def set_my_commands(state: State, params: Params) -> bool:
    params.require("commands")
    commands = params.json("commands", "commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON object")
    cleaned = []
    for entry in commands:
        command = str(entry.get("command", "")).removeprefix("/")
        description = str(entry.get("description", ""))
        if not re.fullmatch(r"[a-z0-9_]{1,32}", command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        cleaned.append({"command": command, "description": description})
    key = _command_key_from(state, params)
    if cleaned:
        state.commands[key] = cleaned
    else:
        state.commands.pop(key, None)
    return True


@method("getMyCommands")
def get_my_commands(state: State, params: Params) -> list[JSON]:
    return list(state.commands.get(_command_key_from(state, params), []))


@method("deleteMyCommands")
def delete_my_commands(state: State, params: Params) -> bool:
    state.commands.pop(_command_key_from(state, params), None)
    return True


# --- chats and members --------------------------------------------------------------------


@method("getChat")
def get_chat(state: State, params: Params) -> JSON:
    chat = _readable_chat(state, params)
    return {
        **chat.to_api(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


@method("getChatMember")
def get_chat_member(state: State, params: Params) -> JSON:
    chat = _readable_chat(state, params)
    params.require("user_id")
    user_id = params.integer("user_id")
    user = state.bot if user_id == state.bot.id else state.people.get(user_id or 0)
    if user is None:
        raise bad_request("user not found")
    return chat.member_api(user)


@method("getChatAdministrators")
def get_chat_administrators(state: State, params: Params) -> list[JSON]:
    chat = _readable_chat(state, params)
    if chat.type == "private":
        raise bad_request("there are no administrators in the private chat")
    admins = []
    for user_id, status in chat.members.items():
        if status in ("creator", "administrator"):
            user = state.bot if user_id == state.bot.id else state.people[user_id]
            admins.append(chat.member_api(user))
    return admins


# --- helpers ------------------------------------------------------------------------------


def _chat(state: State, params: Params) -> Chat:
    ref = params.chat_id()
    if ref is None:
        raise bad_request("chat_id is empty")
    chat = state.chat_by_ref(ref)
    if chat is None:
        raise bad_request("chat not found")
    return chat


def _readable_chat(state: State, params: Params) -> Chat:
    chat = _chat(state, params)
    if chat.migrated_to is not None:
        raise chat.bot_write_error() or bad_request("chat not found")
    return chat


def _writable_chat(state: State, params: Params) -> Chat:
    chat = _chat(state, params)
    error = chat.bot_write_error()
    if error is not None:
        raise error
    return chat


def _post(state: State, params: Params, chat: Chat, **fields: Any) -> Message:
    """Add the bot's message with its markup and reply target, as every send does."""
    markup = _reply_markup(params)
    reply_to = _reply_to(params, chat)
    message = chat.add_message(
        sender=state.bot, from_bot=True, reply_markup=markup, reply_to=reply_to, **fields
    )
    if markup and "keyboard" in markup:
        chat.reply_keyboard_markup = markup
    elif markup and markup.get("remove_keyboard"):
        chat.reply_keyboard_markup = None
    return message


def _formatted(
    params: Params, name: str, entities_name: str, limit: int, too_long: str
) -> tuple[str | None, list[JSON]]:
    """Parse a text parameter by parse_mode (or explicit entities) and check its length."""
    raw = params.text(name)
    if raw is None:
        return None, []
    explicit = params.json(entities_name)
    if explicit is not None:
        text, entities = raw, list(explicit)
    else:
        try:
            text, entities = formatting.parse(raw, params.text("parse_mode"))
        except formatting.EntityError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    text, entities = formatting.strip(text, entities)
    if formatting.utf16_len(text) > limit:
        raise bad_request(too_long)
    return text, entities


def _caption(params: Params) -> tuple[str | None, list[JSON]]:
    caption, entities = _formatted(
        params, "caption", "caption_entities", MAX_CAPTION, "message caption is too long"
    )
    return caption or None, entities


def _item_caption(item: JSON) -> tuple[str | None, list[JSON]]:
    values = {key: item.get(key) for key in ("caption", "parse_mode", "caption_entities")}
    return _caption(Params(values, {}))


_BUTTON_ACTIONS = {
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
}


def _reply_markup(params: Params) -> JSON | None:
    """Validate reply_markup as Telegram does and normalise keyboard buttons to objects."""
    markup = params.json("reply_markup", "reply keyboard markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request("can't parse inline keyboard button: InlineKeyboardButton expected")
        for row in rows:
            for button in row:
                _check_inline_button(button)
        return markup
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request("can't parse keyboard button: KeyboardButton expected")
        normalised = [
            [button if isinstance(button, dict) else {"text": str(button)} for button in row]
            for row in rows
        ]
        if not any(normalised):
            raise bad_request("keyboard must be non-empty")
        return {**markup, "keyboard": normalised}
    if markup.get("remove_keyboard") or markup.get("force_reply"):
        return markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request("can't parse inline keyboard button: Text must be a String")
    actions = _BUTTON_ACTIONS & button.keys()
    if not actions:
        raise bad_request("text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        size = len(str(button["callback_data"]).encode())
        if not 1 <= size <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not re.match(r"(https?|tg)://", str(button["url"])):
        raise bad_request(f"inline keyboard button URL '{button['url']}' is invalid")


def _inline_markup_only(params: Params) -> JSON | None:
    markup = _reply_markup(params)
    if markup is not None and "inline_keyboard" not in markup:
        raise bad_request("inline keyboard expected")
    return markup


def _reply_to(params: Params, chat: Chat) -> Message | None:
    reply = params.json("reply_parameters", "reply parameters")
    if isinstance(reply, dict):
        message_id = reply.get("message_id")
        allow_missing = bool(reply.get("allow_sending_without_reply"))
    else:
        message_id = params.integer("reply_to_message_id")
        allow_missing = params.flag("allow_sending_without_reply")
    if not message_id:
        return None
    message = chat.find_message(int(message_id))
    if message is None or message.deleted:
        if allow_missing:
            return None
        raise bad_request("message to be replied not found")
    return message


def _editable(state: State, params: Params) -> Message:
    if "inline_message_id" in params:
        raise bad_request("the fake does not support inline messages")
    chat = _readable_chat(state, params)
    params.require("message_id")
    message = chat.find_message(params.integer("message_id") or 0)
    if message is None or message.deleted:
        raise bad_request("message to edit not found")
    if not message.from_bot:
        raise bad_request("message can't be edited")
    return message


def _not_modified() -> ApiError:
    return bad_request(
        "message is not modified: specified new message content and reply markup are "
        "exactly the same as a current content and reply markup of the message"
    )


def _record_edit(state: State, message: Message, how: str, markup: JSON | None) -> JSON:
    message.reply_markup = markup
    message.edit_date = int(utcnow().timestamp())
    message.edits.append(
        Edit(
            method=how,
            at=time.time(),
            text=message.text,
            caption=message.caption,
            reply_markup=markup,
        )
    )
    state.bot_acted.notify()
    return message.to_api()


def _coordinates(params: Params) -> tuple[float, float]:
    params.require("latitude")
    params.require("longitude")
    latitude, longitude = params.number("latitude"), params.number("longitude")
    assert latitude is not None and longitude is not None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise bad_request("wrong coordinates")
    return latitude, longitude


def _input_file(params: Params, name: str) -> Upload | str | None:
    """An uploaded part, an attach:// reference, or a file_id/URL string."""
    upload = params.upload(name)
    if upload is not None:
        return upload
    value = params.text(name)
    if not value:
        return None
    return _media_source(params, value)


def _media_source(params: Params, value: Any) -> Upload | str:
    if not isinstance(value, str) or not value:
        raise bad_request("can't parse InputMedia: media not found")
    if value.startswith("attach://"):
        upload = params.upload(value.removeprefix("attach://"))
        if upload is None:
            raise bad_request("can't parse InputMedia: media not found")
        return upload
    return value


def _known_file(state: State, file_id: str) -> FileRecord:
    if re.match(r"https?://", file_id):
        raise bad_request("failed to get HTTP URL content")
    record = state.files.get(file_id)
    if record is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    return record


def _photo_from(state: State, source: Upload | str) -> list[FileRecord]:
    if isinstance(source, Upload):
        try:
            return state.add_photo(source.data)
        except ValueError:
            raise bad_request("IMAGE_PROCESS_FAILED") from None
    record = _known_file(state, source)
    sizes = state.photo_sets.get(record.file_id)
    if sizes is None:
        raise bad_request(f"can't use file of type {record.kind.title()} as Photo")
    return sizes


def _document_from(state: State, source: Upload | str) -> FileRecord:
    if isinstance(source, Upload):
        mime_type = source.content_type
        if not mime_type or mime_type == "application/octet-stream":
            mime_type = mimetypes.guess_type(source.filename or "")[0] or mime_type
        return state.add_document(source.data, source.filename, mime_type)
    record = _known_file(state, source)
    if record.kind != "document":
        raise bad_request(f"can't use file of type {record.kind.title()} as Document")
    return record
