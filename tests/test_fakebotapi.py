"""The fake Bot API behaves like Telegram for python-telegram-bot, over real HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
import io
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from aiohttp import web
from PIL import Image
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from bot.sandbox.botapi import FakeBotAPI, make_jpeg

GPS = (38.9140, 121.6147)  # Dalian


@pytest.fixture(autouse=True)
def no_server_thread_left() -> Iterator[None]:
    yield
    leftovers = [t.name for t in threading.enumerate() if t.name.startswith("fakebotapi-")]
    assert not leftovers, f"server threads left running: {leftovers}"


@pytest.fixture
def server() -> Iterator[FakeBotAPI]:
    with FakeBotAPI(hang_seconds=1.0) as fake:
        yield fake


def make_bot(server: FakeBotAPI, read_timeout: float | None = None) -> Bot:
    request = HTTPXRequest(read_timeout=read_timeout) if read_timeout else None
    return Bot(
        server.token,
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        request=request,
    )


@pytest.fixture
async def bot(server: FakeBotAPI) -> AsyncIterator[Bot]:
    async with make_bot(server) as client:
        yield client


def exif_of(data: bytes) -> Image.Exif:
    return Image.open(io.BytesIO(data)).getexif()


# --- transport ----------------------------------------------------------------------------


async def test_get_me_describes_the_bot(server: FakeBotAPI, bot: Bot) -> None:
    me = await bot.get_me()

    assert (me.id, me.username, me.is_bot) == (server.id, "hdbot_test_bot", True)
    assert server.token.startswith(f"{server.id}:")


async def test_wrong_token_and_unknown_method_answer_like_telegram(server: FakeBotAPI) -> None:
    async with httpx.AsyncClient() as client:
        wrong = await client.post(f"{server.base_url}123:nope/getMe")
        unknown = await client.post(f"{server.base_url}{server.token}/sendTelepathy")
        case_insensitive = await client.get(f"{server.base_url}{server.token}/GETME")

    assert wrong.status_code == 401
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert unknown.status_code == 404
    assert unknown.json()["description"] == "Not Found: method not found"
    assert case_insensitive.json()["result"]["username"] == server.username
    with pytest.raises(InvalidToken):
        async with Bot("123:nope", base_url=server.base_url):
            pass


async def test_parameters_arrive_as_query_json_or_form(server: FakeBotAPI) -> None:
    alice = server.user(first_name="Alice")
    api = f"{server.base_url}{server.token}"
    async with httpx.AsyncClient() as client:
        by_query = await client.get(f"{api}/sendMessage", params={"chat_id": alice.id, "text": "q"})
        by_json = await client.post(f"{api}/sendMessage", json={"chat_id": alice.id, "text": "j"})
        by_form = await client.post(f"{api}/sendMessage", data={"chat_id": alice.id, "text": "f"})
        missing_chat = await client.post(f"{api}/sendMessage", json={"text": "x"})
        missing_text = await client.post(f"{api}/sendMessage", json={"chat_id": alice.id})
        unknown_chat = await client.post(f"{api}/sendMessage", json={"chat_id": 42, "text": "x"})

    assert [r.json()["result"]["text"] for r in (by_query, by_json, by_form)] == ["q", "j", "f"]
    assert [m.message_id for m in alice.private_chat.bot_messages] == [1, 2, 3]
    assert missing_chat.json()["description"] == "Bad Request: chat_id is empty"
    assert missing_text.json()["description"] == "Bad Request: message text is empty"
    assert unknown_chat.status_code == 400
    assert unknown_chat.json()["description"] == "Bad Request: chat not found"


def test_stop_frees_the_port_and_thread() -> None:
    fake = FakeBotAPI().start()
    port = int(fake.url.rsplit(":", 1)[1])
    assert httpx.get(f"{fake.base_url}{fake.token}/getMe").json()["ok"]

    fake.stop()

    assert not any(t.name.startswith("fakebotapi-") for t in threading.enumerate())
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass


# --- messages both ways -------------------------------------------------------------------


async def test_send_and_receive_round_trip(server: FakeBotAPI, bot: Bot) -> None:
    alice = server.user(first_name="Alice", language_code="en")
    asked = alice.send_text("/start@hdbot_test_bot invite-42")

    (update,) = await bot.get_updates()
    message = update.message
    assert message is not None and message.from_user is not None
    assert message.text == "/start@hdbot_test_bot invite-42"
    assert message.entities[0].type == "bot_command" and message.entities[0].length == 21
    assert message.from_user.language_code == "en"

    sent = await bot.send_message(
        alice.id, "<b>Welcome</b>, Alice", parse_mode="HTML", reply_to_message_id=asked.message_id
    )
    seen = await alice.private_chat.next_message()

    assert seen.message_id == sent.message_id == asked.message_id + 1
    assert seen.text == "Welcome, Alice" and seen.entities[0]["type"] == "bold"
    assert seen.reply_to is asked
    assert sent.from_user is not None and sent.from_user.id == server.id


async def test_limits_and_parse_errors_are_refused(server: FakeBotAPI, bot: Bot) -> None:
    alice = server.user()

    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(alice.id, "x" * 4097)
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(alice.id, "Deadline 3.5 days", parse_mode="MarkdownV2")
    with pytest.raises(BadRequest, match="unsupported start tag"):
        await bot.send_message(alice.id, "a <site> b", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        button = InlineKeyboardButton("x", callback_data="d" * 65)
        await bot.send_message(alice.id, "x", reply_markup=InlineKeyboardMarkup([[button]]))
    await bot.send_message(alice.id, "x" * 4096)
    assert len(alice.private_chat.bot_messages) == 1


async def test_get_updates_confirms_by_offset(server: FakeBotAPI, bot: Bot) -> None:
    alice = server.user()
    alice.send_text("one")
    alice.send_text("two")

    first = await bot.get_updates()
    again = await bot.get_updates()
    assert [u.update_id for u in again] == [u.update_id for u in first]
    assert [u.message.text for u in first if u.message] == ["one", "two"]

    assert await bot.get_updates(offset=first[-1].update_id + 1) == ()
    assert server.pending_updates == 0
    alice.send_text("three")
    (latest,) = await bot.get_updates(offset=first[-1].update_id + 1, limit=5)
    assert latest.message is not None and latest.message.text == "three"


async def test_long_poll_returns_as_soon_as_an_update_arrives(server: FakeBotAPI, bot: Bot) -> None:
    alice = server.user()
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    alice.send_text("wake up")

    (update,) = await poll

    assert update.message is not None and update.message.text == "wake up"
    assert time.monotonic() - started < 2


async def test_long_poll_without_updates_waits_for_its_timeout(bot: Bot) -> None:
    started = time.monotonic()

    assert await bot.get_updates(timeout=dtm.timedelta(seconds=0.5)) == ()
    assert time.monotonic() - started >= 0.45


async def test_a_second_poller_ends_the_first_with_conflict(server: FakeBotAPI) -> None:
    async with make_bot(server) as first, make_bot(server) as second:
        older = asyncio.create_task(first.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        newer = asyncio.create_task(second.get_updates(timeout=dtm.timedelta(seconds=0.3)))

        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await older
        assert await newer == ()


async def test_inline_button_press_becomes_callback_query(server: FakeBotAPI, bot: Bot) -> None:
    alice = server.user()
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("General", callback_data="level:general")],
            [InlineKeyboardButton("Guide", url="https://example.org/guide")],
        ]
    )
    await bot.send_message(alice.id, "Level?", reply_markup=keyboard)
    card = await alice.private_chat.next_message()
    assert card.inline_keyboard == [
        [("General", "level:general")],
        [("Guide", "https://example.org/guide")],
    ]

    press = alice.press(card, "General")
    (update,) = await bot.get_updates()
    query = update.callback_query
    assert query is not None and query.message is not None
    assert (query.id, query.data, query.from_user.id) == (press.id, "level:general", alice.id)
    assert query.message.message_id == card.message_id and query.chat_instance
    await query.answer("Saved", show_alert=True)

    answer = await press.answered()
    assert (answer.text, answer.show_alert) == ("Saved", True)
    assert server.callback_answers == [answer]
    with pytest.raises(LookupError):
        alice.press(card, "Major")
    with pytest.raises(ValueError, match="sends no callback"):
        alice.press(card, "Guide")


async def test_edits_are_recorded_and_identical_edits_refused(server: FakeBotAPI, bot: Bot) -> None:
    alice = server.user()
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Done", callback_data="done")]])
    sent = await bot.send_message(alice.id, "Photos: 0", reply_markup=keyboard)

    await bot.edit_message_text("Photos: 1", alice.id, sent.message_id, reply_markup=keyboard)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("Photos: 1", alice.id, sent.message_id, reply_markup=keyboard)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(alice.id, sent.message_id, reply_markup=keyboard)
    await bot.edit_message_reply_markup(alice.id, sent.message_id)

    message = await alice.private_chat.next_message()
    assert message.text == "Photos: 1" and message.inline_keyboard == []
    assert [(e.method, e.text) for e in message.edits] == [
        ("editMessageText", "Photos: 1"),
        ("editMessageReplyMarkup", "Photos: 1"),
    ]
    await bot.delete_message(alice.id, sent.message_id)
    assert message.deleted
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("gone", alice.id, sent.message_id)


async def test_reply_keyboard_taps_and_location_button(server: FakeBotAPI, bot: Bot) -> None:
    alice = server.user()
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton("Send location", request_location=True)], ["Skip"]],
        one_time_keyboard=True,
    )
    await bot.send_message(alice.id, "Where?", reply_markup=keyboard)
    assert alice.private_chat.reply_keyboard == [["Send location"], ["Skip"]]

    alice.tap("Send location", location=GPS)
    (update,) = await bot.get_updates()
    assert update.message is not None and update.message.location is not None
    assert update.message.location.latitude == pytest.approx(GPS[0])
    assert alice.private_chat.reply_keyboard is None  # one-time keyboards hide after a tap

    await bot.send_message(alice.id, "Again?", reply_markup=keyboard)
    await bot.send_message(alice.id, "Thanks", reply_markup=ReplyKeyboardRemove())
    assert alice.private_chat.reply_keyboard is None


async def test_group_privacy_mode_hides_plain_group_messages(server: FakeBotAPI, bot: Bot) -> None:
    alice, bob = server.user(first_name="Alice"), server.user(first_name="Bob")
    group = server.group("Ganjingzi District", members=[alice], admins=[bob])

    alice.send_text("just chatting", chat=group)
    alice.send_text("/countdown", chat=group)
    alice.send_text("/countdown@other_bot", chat=group)
    group.set_role(server.bot, "administrator")
    bob.send_text("now the bot sees everything", chat=group)

    updates = await bot.get_updates()
    texts = [u.message.text for u in updates if u.message]
    assert texts == ["/countdown", "now the bot sees everything"]
    assert [u.my_chat_member.new_chat_member.status for u in updates if u.my_chat_member] == [
        "administrator"
    ]
    admins = await bot.get_chat_administrators(group.id)
    assert {a.user.id for a in admins} == {bob.id, server.id}
    member = await bot.get_chat_member(group.id, alice.id)
    assert member.status == "member"
    assert (await bot.get_chat(group.id)).title == "Ganjingzi District"
    assert (await bot.get_chat(alice.id)).first_name == "Alice"


# --- photos, albums and files -------------------------------------------------------------


async def test_media_group_uploads_share_a_group_id(server: FakeBotAPI, bot: Bot) -> None:
    alice = server.user()
    media = [
        InputMediaPhoto(make_jpeg(1600, 1200), caption="Before rectification"),
        InputMediaPhoto(make_jpeg(300, 200, (0, 90, 200))),
    ]

    sent = await bot.send_media_group(alice.id, media)

    first = await alice.private_chat.next_message()
    second = await alice.private_chat.next_message()
    assert len(sent) == 2 and sent[0].media_group_id == sent[1].media_group_id
    assert first.media_group_id == second.media_group_id == sent[0].media_group_id
    assert (first.caption, second.caption) == ("Before rectification", None)
    assert [(p.width, p.height) for p in first.photo or []] == [
        (90, 68),
        (320, 240),
        (800, 600),
        (1280, 960),
    ]
    assert [(p.width, p.height) for p in second.photo or []] == [(90, 60), (300, 200)]
    with pytest.raises(BadRequest, match="Too few media"):
        await bot.send_media_group(alice.id, media[:1])


async def test_compressed_photo_drops_exif_but_document_keeps_it(
    server: FakeBotAPI, bot: Bot
) -> None:
    alice = server.user()
    original = make_jpeg(2000, 1500, exif_gps=GPS, exif_time=dtm.datetime(2026, 3, 1, 9, 30))
    assert exif_of(original).get_ifd(0x8825)  # the test image really has GPS

    alice.send_photo(original, caption="Valve leaking")
    alice.send_document(original, "site.jpg", "image/jpeg")
    photo_update, document_update = await bot.get_updates()
    photo_message, document_message = photo_update.message, document_update.message
    assert photo_message is not None and document_message is not None

    sizes = photo_message.photo
    assert [max(p.width, p.height) for p in sizes] == [90, 320, 800, 1280]
    largest = await (await bot.get_file(sizes[-1].file_id)).download_as_bytearray()
    assert not exif_of(bytes(largest)) and photo_message.caption == "Valve leaking"

    document = document_message.document
    assert document is not None and document.thumbnail is not None
    assert (document.file_name, document.mime_type) == ("site.jpg", "image/jpeg")
    kept = await (await bot.get_file(document.file_id)).download_as_bytearray()
    assert bytes(kept) == original
    gps = exif_of(bytes(kept)).get_ifd(0x8825)
    assert gps[1] == "N" and float(gps[2][0]) == 38.0


async def test_get_file_downloads_the_same_bytes(server: FakeBotAPI, bot: Bot) -> None:
    alice = server.user()
    ledger = b"PK\x03\x04 pretend this is an xlsx" * 100

    sent = await bot.send_document(alice.id, ledger, filename="ledger.xlsx", caption="Ledger")
    assert sent.document is not None
    file = await bot.get_file(sent.document.file_id)
    assert file.file_path is not None and file.file_path.endswith(".xlsx")
    assert bytes(await file.download_as_bytearray()) == ledger

    message = await alice.private_chat.next_message()
    assert message.document_bytes == ledger and message.caption == "Ledger"
    resent = await bot.send_document(alice.id, sent.document.file_id)
    assert resent.document is not None and resent.document.file_id == sent.document.file_id

    huge = alice.send_document(b"\0" * (20 * 1024 * 1024 + 1), "video.bin")
    assert huge.document is not None
    with pytest.raises(BadRequest, match="File is too big"):
        await bot.get_file(huge.document.file_id)


async def test_photo_by_file_id_and_bad_inputs(server: FakeBotAPI, bot: Bot) -> None:
    alice = server.user()
    first = await bot.send_photo(alice.id, make_jpeg(), caption="c" * 1024)

    again = await bot.send_photo(alice.id, first.photo[-1].file_id)

    assert [p.file_id for p in again.photo] == [p.file_id for p in first.photo]
    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.send_photo(alice.id, make_jpeg(), caption="c" * 1025)
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_photo(alice.id, "AgACnonsense")
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(alice.id, b"not a picture")


async def test_albums_venues_stickers_and_voice_reach_the_bot(server: FakeBotAPI, bot: Bot) -> None:
    alice = server.user()

    alice.send_album([make_jpeg(), make_jpeg(800, 600), make_jpeg(200, 200)], caption="Site")
    alice.send_venue(*GPS, "Dalian Port", "1 Gangwan St")
    alice.send_sticker()
    alice.send_voice(duration=3)
    updates = [u.message for u in await bot.get_updates()]

    assert all(m is not None for m in updates)
    album, (venue, sticker, voice) = updates[:3], updates[3:]
    assert len({m.media_group_id for m in album if m}) == 1
    assert [m.caption for m in album if m] == ["Site", None, None]
    assert venue and venue.venue and venue.venue.title == "Dalian Port" and venue.location
    assert sticker and sticker.sticker and sticker.sticker.emoji == "👍"
    assert voice and voice.voice and voice.voice.mime_type == "audio/ogg"
    assert server.chat(alice.id).messages[-1].voice is not None


# --- faults -------------------------------------------------------------------------------


# PTB 22 warns about RetryAfter.retry_after becoming a timedelta whenever it builds the error.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_faults_surface_as_ptb_errors(server: FakeBotAPI, bot: Bot) -> None:
    alice = server.user()
    group = server.group("City", members=[alice])
    server.inject("sendMessage", kind="429", retry_after=3)
    server.inject("sendMessage", alice.private_chat, kind="403")
    server.inject("sendMessage", group, kind="403")
    server.inject("sendMessage", kind="500", times=2)
    server.inject("sendMessage", kind="502")
    server.inject("sendMessage", kind="chat_not_found")

    with pytest.raises(RetryAfter, match=r"Retry in (3 seconds|0:00:03)"):
        await bot.send_message(alice.id, "x")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(alice.id, "x")
    with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
        await bot.send_message(group.id, "x")
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(alice.id, "x")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(alice.id, "x")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(alice.id, "x")
    await bot.send_message(alice.id, "finally")

    assert server.peak_requests(60, "sendMessage", group) == 1
    log = server.requests("sendMessage")
    assert [e.error_code for e in log] == [429, 403, 403, 500, 500, 502, 400, None]
    assert [e.chat_id for e in log[:3]] == [alice.id, alice.id, group.id]
    assert [m.text for m in alice.private_chat.bot_messages] == ["finally"]


async def test_timeout_fault_raises_timed_out(server: FakeBotAPI) -> None:
    alice = server.user()
    server.inject("sendMessage", kind="timeout", delay=1.0)
    server.inject("sendMessage", kind="timeout", delay=1.0, delivered=True)

    async with make_bot(server, read_timeout=0.3) as impatient:
        with pytest.raises(TimedOut):
            await impatient.send_message(alice.id, "lost")
        with pytest.raises(TimedOut):
            await impatient.send_message(alice.id, "sent but unconfirmed")

    assert [m.text for m in alice.private_chat.bot_messages] == ["sent but unconfirmed"]
    assert [e.fault for e in server.requests()] == [None, "timeout", "timeout"]


async def test_blocking_the_bot_and_kicking_it(server: FakeBotAPI, bot: Bot) -> None:
    alice = server.user()
    group = server.group("Unit", supergroup=True, members=[alice])
    alice.block_bot()
    group.set_role(server.bot, "kicked")

    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(alice.id, "reminder")
    with pytest.raises(Forbidden, match="kicked from the supergroup chat"):
        await bot.send_message(group.id, "digest")
    alice.send_text("/start")  # writing again unblocks, as "Restart" does
    await bot.send_message(alice.id, "welcome back")


async def test_group_migration_raises_chat_migrated(server: FakeBotAPI, bot: Bot) -> None:
    alice = server.user()
    group = server.group("Zhuanghe City", creator=alice)

    supergroup = group.migrate_to_supergroup()

    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(group.id, "countdown")
    assert migrated.value.new_chat_id == supergroup.id
    updates = await bot.get_updates()
    assert [u.message.migrate_to_chat_id for u in updates if u.message] == [supergroup.id, None]
    assert updates[1].message is not None and updates[1].message.migrate_from_chat_id == group.id
    await bot.send_message(supergroup.id, "countdown")
    assert (await supergroup.next_message()).text == "countdown"


# --- commands, webhook, the whole Application ---------------------------------------------


async def test_set_my_commands_is_stored_per_scope_and_language(
    server: FakeBotAPI, bot: Bot
) -> None:
    alice = server.user()
    group = server.group("City", members=[alice])
    private = [BotCommand("report", "Report a hidden danger"), BotCommand("mine", "My reports")]

    await bot.set_my_commands(private, scope=BotCommandScopeAllPrivateChats())
    await bot.set_my_commands(
        [BotCommand("report", "上报隐患")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="zh",
    )
    await bot.set_my_commands([BotCommand("bind", "Bind")], scope=BotCommandScopeAllGroupChats())
    await bot.set_my_commands(
        [BotCommand("countdown", "D-day")], scope=BotCommandScopeChat(group.id)
    )

    assert server.commands("all_private_chats") == [
        ("report", "Report a hidden danger"),
        ("mine", "My reports"),
    ]
    assert server.commands("all_private_chats", "zh") == [("report", "上报隐患")]
    assert server.commands({"type": "chat", "chat_id": group.id}) == [("countdown", "D-day")]
    assert server.commands() == []
    got = await bot.get_my_commands(scope=BotCommandScopeAllGroupChats())
    assert [c.command for c in got] == ["bind"]
    await bot.delete_my_commands(scope=BotCommandScopeAllGroupChats())
    assert server.commands("all_group_chats") == []
    with pytest.raises(BadRequest, match="Invalid language code"):
        await bot.set_my_commands(private, language_code="zh_CN")
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Report", "x")])


async def test_webhook_receives_updates_and_blocks_polling(server: FakeBotAPI, bot: Bot) -> None:
    received: list[dict] = []
    secrets: list[str | None] = []
    delivered = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        received.append(await request.json())
        delivered.set()
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        alice = server.user()
        alice.send_text("via webhook")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        await asyncio.wait_for(delivered.wait(), 3)
        assert received[0]["message"]["text"] == "via webhook" and secrets == ["s3cret"]
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0
        await bot.delete_webhook()
    finally:
        await runner.cleanup()


async def test_application_polling_answers_start(server: FakeBotAPI) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.effective_user is not None
        await update.message.reply_text(f"Hello {update.effective_user.first_name}")

    app = (
        ApplicationBuilder()
        .token(server.token)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    alice = server.user(first_name="Alice")
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0)
    try:
        alice.send_text("/start")
        reply = await alice.private_chat.next_message()
        assert reply.text == "Hello Alice"
        await alice.private_chat.expect_silence(0.2)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert server.pending_updates == 0  # PTB confirmed the update when it stopped
    assert {"getMe", "deleteWebhook", "getUpdates", "sendMessage"} <= {
        e.method for e in server.requests()
    }


def test_sync_waiting_serves_a_bot_in_another_thread(server: FakeBotAPI) -> None:
    alice = server.user()

    def bot_elsewhere() -> None:
        time.sleep(0.1)
        httpx.post(
            f"{server.base_url}{server.token}/sendMessage",
            json={"chat_id": alice.id, "text": "from another thread"},
        )

    worker = threading.Thread(target=bot_elsewhere)
    worker.start()
    message = server.wait_for_message(alice.private_chat, lambda m: "another" in (m.text or ""))
    worker.join()
    assert message.text == "from another thread"
    with pytest.raises(AssertionError, match="no new matching message"):
        alice.private_chat.next_message_sync(within=0.1)


ECHO_BOT = """
import os
from telegram.ext import ApplicationBuilder, MessageHandler, filters

async def echo(update, context):
    await update.message.reply_text("echo: " + update.message.text)

app = (
    ApplicationBuilder().token(os.environ["HDBOT_TOKEN"])
    .base_url(os.environ["HDBOT_BASE_URL"]).base_file_url(os.environ["HDBOT_BASE_FILE_URL"])
    .build()
)
app.add_handler(MessageHandler(filters.TEXT, echo))
app.run_polling(poll_interval=0)
"""


def test_a_bot_in_a_subprocess_is_served_too(server: FakeBotAPI) -> None:
    alice = server.user()
    env = {**os.environ, **server.env()}
    bot_process = subprocess.Popen([sys.executable, "-c", ECHO_BOT], env=env)
    try:
        alice.send_text("ping")
        reply = alice.private_chat.next_message_sync(within=15)
        assert reply.text == "echo: ping"
    finally:
        bot_process.terminate()
        assert bot_process.wait(timeout=10) == 0
    assert server.pending_updates == 0
