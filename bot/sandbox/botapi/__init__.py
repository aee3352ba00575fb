"""A fake Telegram Bot API server: end-to-end tests and `hdbot demo` run the real Application
against it over HTTP.

Example (async test, bot in the test's loop)::

    with FakeBotAPI() as server:
        app = (
            ApplicationBuilder().token(server.token)
            .base_url(server.base_url).base_file_url(server.base_file_url).build()
        )
        ...  # add handlers, initialize, start, updater.start_polling()
        alice = server.user(first_name="Alice", language_code="en")
        alice.send_text("/start")
        reply = await alice.private_chat.next_message()
        assert "Welcome" in reply.text

Modules: server (lifecycle, world building, faults, reading), routing (HTTP), methods (the
Bot API methods), state and objects (what is stored), people (Person, Chat), formatting
(parse modes), images (photo compression, test JPEGs), waiting (cross-thread waits).
"""

from .images import jpeg_with_odd_exif, make_jpeg
from .objects import CallbackAnswer, Edit, FileRecord, Message, User
from .people import CallbackPress, Chat, Person
from .server import FakeBotAPI
from .state import ApiError, Fault, LogEntry, Webhook, most_within

__all__ = [
    "ApiError",
    "CallbackAnswer",
    "CallbackPress",
    "Chat",
    "Edit",
    "FakeBotAPI",
    "Fault",
    "FileRecord",
    "LogEntry",
    "Message",
    "Person",
    "User",
    "Webhook",
    "jpeg_with_odd_exif",
    "make_jpeg",
    "most_within",
]
