"""People and chats: what a test acts through, and where it reads what the bot sent.

A Person does what a Telegram user does — types, sends photos and files, presses buttons —
and each action becomes the update Telegram would send the bot. A Chat holds the messages in
order, lets a test wait for the bot's next message (from sync or async code), and for groups
changes roles and upgrades the group to a supergroup.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from . import formatting
from .objects import JSON, CallbackAnswer, Message, User
from .state import ApiError, bad_request, now

if TYPE_CHECKING:
    from .state import State

T = TypeVar("T")

MEMBER_STATUSES = ("creator", "administrator", "member", "left", "kicked")
DEFAULT_TIMEOUT = 5.0


class Person(User):
    """Someone a test acts as. Actions go to the private chat unless ``chat=`` says otherwise."""

    def __init__(self, state: State, **user: Any) -> None:
        super().__init__(**user)
        self._state = state
        self.blocked_bot = False
        self.private_chat = Chat(state, id=self.id, type="private", person=self)

    # --- sending ------------------------------------------------------------------------

    def send_text(
        self, text: str, *, chat: Chat | None = None, reply_to: Message | None = None
    ) -> Message:
        """Type a message; /commands get bot_command entities as Telegram adds them."""
        return self._send(
            chat, text=text, entities=formatting.command_entities(text), reply_to=reply_to
        )

    def send_photo(
        self,
        image: bytes,
        caption: str | None = None,
        *,
        chat: Chat | None = None,
        media_group_id: str | None = None,
    ) -> Message:
        """Send a compressed photo: Telegram re-encodes it to a few sizes and drops EXIF."""
        with self._state.lock:
            sizes = self._state.add_photo(image)
        return self._send(
            chat,
            photo=sizes,
            caption=caption,
            caption_entities=formatting.command_entities(caption or ""),
            media_group_id=media_group_id,
        )

    def send_album(
        self, images: Sequence[bytes], caption: str | None = None, *, chat: Chat | None = None
    ) -> list[Message]:
        """Send 2–10 photos as one album: separate updates sharing a media_group_id."""
        if not 2 <= len(images) <= 10:
            raise ValueError("an album holds 2 to 10 photos")
        group_id = str(13_000_000_000_000_000 + self._state.serial())
        return [
            self.send_photo(
                image, caption if index == 0 else None, chat=chat, media_group_id=group_id
            )
            for index, image in enumerate(images)
        ]

    def send_document(
        self,
        data: bytes,
        file_name: str = "file.bin",
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        *,
        chat: Chat | None = None,
        media_group_id: str | None = None,
    ) -> Message:
        """Send a file: bytes kept as they are (EXIF and all), a thumbnail for images."""
        with self._state.lock:
            document = self._state.add_document(data, file_name, mime_type)
        return self._send(chat, document=document, caption=caption, media_group_id=media_group_id)

    def send_file_album(
        self, images: Sequence[bytes], caption: str | None = None, *, chat: Chat | None = None
    ) -> list[Message]:
        """Send 2–10 images as files in one album: full size, EXIF kept, one media_group_id."""
        if not 2 <= len(images) <= 10:
            raise ValueError("an album holds 2 to 10 files")
        group_id = str(13_000_000_000_000_000 + self._state.serial())
        return [
            self.send_document(
                image,
                f"IMG_{index:04d}.jpg",
                "image/jpeg",
                caption if index == 0 else None,
                chat=chat,
                media_group_id=group_id,
            )
            for index, image in enumerate(images)
        ]

    def send_location(
        self, latitude: float, longitude: float, *, chat: Chat | None = None
    ) -> Message:
        """Share a point on the map."""
        return self._send(chat, location=(latitude, longitude))

    def send_venue(
        self,
        latitude: float,
        longitude: float,
        title: str,
        address: str,
        *,
        chat: Chat | None = None,
    ) -> Message:
        """Share a place: Telegram sends both venue and location."""
        return self._send(chat, location=(latitude, longitude), venue=(title, address))

    def send_sticker(self, emoji: str = "👍", *, chat: Chat | None = None) -> Message:
        """Send a sticker — a wrong kind of input for most conversation steps."""
        with self._state.lock:
            record = self._state.add_file(
                b"RIFF\x00\x00\x00\x00WEBP", "sticker", file_name=emoji, width=512, height=512
            )
        return self._send(chat, sticker=record)

    def send_voice(self, duration: int = 2, *, chat: Chat | None = None) -> Message:
        """Send a voice note — another wrong kind of input."""
        with self._state.lock:
            record = self._state.add_file(
                b"OggS\x00fake-voice", "voice", mime_type="audio/ogg", width=duration
            )
        return self._send(chat, voice=record)

    # --- buttons ------------------------------------------------------------------------

    def press(self, message: Message, button: str) -> CallbackPress:
        """Press an inline button (by its text or callback_data) of the bot's message."""
        with self._state.lock:
            if message.deleted:
                raise LookupError(f"message {message.message_id} was deleted")
            found = message.find_button(button)
            if "callback_data" not in found:
                raise ValueError(f"button {button!r} sends no callback: {found}")
            chat = message.chat
            press = CallbackPress(
                self._state,
                id=str(4_000_000_000_000_000_000 + self._state.serial()),
                person=self,
                message=message,
                data=found["callback_data"],
            )
            self._state.callback_queries[press.id] = press
            self._state.push_update(
                "callback_query",
                {
                    "id": press.id,
                    "from": self.to_api(),
                    "message": message.to_api(),
                    "chat_instance": chat.instance,
                    "data": press.data,
                },
            )
            return press

    def tap(
        self,
        button: str,
        *,
        chat: Chat | None = None,
        location: tuple[float, float] | None = None,
    ) -> Message:
        """Tap a button of the reply keyboard the bot shows; a location button shares location."""
        with self._state.lock:
            chat = chat or self.private_chat
            markup = chat.reply_keyboard_markup
            if markup is None:
                raise LookupError(f"chat {chat.id} shows no reply keyboard")
            found = next(
                (b for row in markup["keyboard"] for b in row if b["text"] == button), None
            )
            if found is None:
                raise LookupError(f"no reply button {button!r} in {chat.reply_keyboard}")
            if markup.get("one_time_keyboard"):
                chat.reply_keyboard_markup = None
            if found.get("request_location"):
                if location is None:
                    raise ValueError(f"button {button!r} shares a location: pass location=")
                return self.send_location(*location, chat=chat)
            return self.send_text(button, chat=chat)

    def block_bot(self) -> None:
        """Block the bot: its sends to this person fail with 403 from now on."""
        with self._state.lock:
            self.blocked_bot = True

    # --- internals ----------------------------------------------------------------------

    def _send(self, chat: Chat | None, **fields: Any) -> Message:
        with self._state.lock:
            chat = chat or self.private_chat
            chat.check_can_post(self)
            if chat.type == "private":
                self.blocked_bot = False  # writing to a blocked bot means pressing "Restart"
            message = chat.add_message(sender=self, from_bot=False, **fields)
            if chat.delivers(message):
                self._state.push_update("message", message.to_api())
            return message


class CallbackPress:
    """One press of an inline button, and the bot's answer to it once it comes."""

    def __init__(
        self, state: State, *, id: str, person: Person, message: Message, data: str
    ) -> None:
        self._state = state
        self.id = id
        self.person = person
        self.message = message
        self.data = data
        self.answer: CallbackAnswer | None = None

    async def answered(self, within: float = DEFAULT_TIMEOUT) -> CallbackAnswer:
        """Wait until the bot answers this press (answerCallbackQuery)."""
        answer = await self._state.bot_acted.wait(lambda: self.answer, within)
        return self._check(answer, within)

    def answered_sync(self, within: float = DEFAULT_TIMEOUT) -> CallbackAnswer:
        """Like answered(), blocking; never call it while the bot runs in this thread's loop."""
        return self._check(self._state.bot_acted.wait_sync(lambda: self.answer, within), within)

    def _check(self, answer: CallbackAnswer | None, within: float) -> CallbackAnswer:
        if answer is None:
            raise AssertionError(f"the bot did not answer the press of {self.data!r} in {within}s")
        return answer


class Chat:
    """A private chat, group or supergroup, with every message in it in order."""

    def __init__(
        self,
        state: State,
        *,
        id: int,
        type: str,
        title: str | None = None,
        username: str | None = None,
        person: Person | None = None,
    ) -> None:
        self._state = state
        self.id = id
        self.type = type
        self.title = title
        self.username = username
        self.person = person
        self.members: dict[int, str] = {}  # user id -> creator/administrator/member/left/kicked
        self.messages: list[Message] = []
        self.actions: list[str] = []  # sendChatAction actions, in order
        self.reply_keyboard_markup: JSON | None = None  # the keyboard the person now sees
        self.migrated_to: Chat | None = None
        self.migrated_from: Chat | None = None
        self.instance = str(secrets.randbelow(10**18) + 10**18)  # callback chat_instance
        self._last_message_id = 0

    def __repr__(self) -> str:
        name = self.title or (self.person.first_name if self.person else "")
        return f"<Chat {self.id} {self.type} {name}>"

    def to_api(self) -> JSON:
        """Render as a Bot API Chat."""
        data: JSON = {"id": self.id, "type": self.type}
        if self.person is not None:
            data.update(
                {k: v for k, v in self.person.to_api().items() if k in _PRIVATE_CHAT_FIELDS}
            )
        else:
            data["title"] = self.title
            if self.username:
                data["username"] = self.username
        return data

    # --- reading what the bot sent -------------------------------------------------------

    @property
    def bot_messages(self) -> list[Message]:
        """Everything the bot sent here, in order, deleted ones included (and marked)."""
        with self._state.lock:
            return [m for m in self.messages if m.from_bot]

    @property
    def last_bot_message(self) -> Message | None:
        messages = self.bot_messages
        return messages[-1] if messages else None

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """Rows of texts of the reply keyboard the person sees now, if any."""
        markup = self.reply_keyboard_markup
        if markup is None:
            return None
        return [[button["text"] for button in row] for row in markup["keyboard"]]

    async def next_message(
        self, predicate: Callable[[Message], bool] | None = None, within: float = DEFAULT_TIMEOUT
    ) -> Message:
        """Wait for the bot's next message here not yet taken (the first matching predicate).

        Only the returned message is marked taken; earlier non-matching ones stay available.
        """
        found = await self._state.bot_acted.wait(lambda: self._take(predicate), within)
        return self._found_or_fail(found, within)

    def next_message_sync(
        self, predicate: Callable[[Message], bool] | None = None, within: float = DEFAULT_TIMEOUT
    ) -> Message:
        """Like next_message(), blocking: for bots in another thread or process."""
        found = self._state.bot_acted.wait_sync(lambda: self._take(predicate), within)
        return self._found_or_fail(found, within)

    async def wait_until(self, predicate: Callable[[], T], within: float = DEFAULT_TIMEOUT) -> T:
        """Wait until predicate() (e.g. ``lambda: msg.edits``) is truthy after the bot acts."""
        result = await self._state.bot_acted.wait(predicate, within)
        if not result:
            raise AssertionError(f"condition not met within {within}s in {self!r}")
        return result

    def wait_until_sync(self, predicate: Callable[[], T], within: float = DEFAULT_TIMEOUT) -> T:
        """Like wait_until(), blocking."""
        result = self._state.bot_acted.wait_sync(predicate, within)
        if not result:
            raise AssertionError(f"condition not met within {within}s in {self!r}")
        return result

    async def expect_silence(self, seconds: float = 0.3) -> None:
        """Fail if the bot sends anything new here within ``seconds``."""
        found = await self._state.bot_acted.wait(self._peek, seconds)
        if found is not None:
            raise AssertionError(f"expected no message in {self!r}, got {found!r}")

    def expect_silence_sync(self, seconds: float = 0.3) -> None:
        """Like expect_silence(), blocking."""
        found = self._state.bot_acted.wait_sync(self._peek, seconds)
        if found is not None:
            raise AssertionError(f"expected no message in {self!r}, got {found!r}")

    def _take(self, predicate: Callable[[Message], bool] | None) -> Message | None:
        for message in self.messages:
            if not message.from_bot or message.consumed:
                continue
            if predicate is None or predicate(message):
                message.consumed = True
                return message
        return None

    def _peek(self) -> Message | None:
        return next((m for m in self.messages if m.from_bot and not m.consumed), None)

    def _found_or_fail(self, found: Message | None, within: float) -> Message:
        if found is None:
            with self._state.lock:
                seen = "\n  ".join(repr(m) for m in self.messages[-10:]) or "(no messages)"
            raise AssertionError(
                f"no new matching message from the bot in {self!r} within {within}s; "
                f"last messages:\n  {seen}"
            )
        return found

    # --- what the server needs --------------------------------------------------------------

    def add_message(self, *, sender: User, from_bot: bool, **fields: Any) -> Message:
        """Append a message with the chat's next message id."""
        with self._state.lock:
            self._last_message_id += 1
            message = Message(
                message_id=self._last_message_id,
                chat=self,
                sender=sender,
                from_bot=from_bot,
                date=now(),
                **fields,
            )
            self.messages.append(message)
            if from_bot:
                self._state.bot_acted.notify()
            return message

    def find_message(self, message_id: int) -> Message | None:
        return next((m for m in self.messages if m.message_id == message_id), None)

    def status_of(self, user_id: int) -> str:
        if self.type == "private":
            return "member" if user_id in (self.id, self._state.bot.id) else "left"
        return self.members.get(user_id, "left")

    def member_api(self, user: User) -> JSON:
        """Render someone's membership as a Bot API ChatMember."""
        status = self.status_of(user.id)
        data: JSON = {"status": status, "user": user.to_api()}
        if status == "creator":
            data["is_anonymous"] = False
        elif status == "administrator":
            data.update(_ADMIN_RIGHTS)
        elif status == "kicked":
            data["until_date"] = 0
        return data

    def bot_write_error(self) -> ApiError | None:
        """The error Telegram gives a bot writing here now, if any."""
        if self.migrated_to is not None:
            return bad_request(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated_to.id},
            )
        if self.person is not None:
            if self.person.blocked_bot:
                return ApiError(403, "Forbidden: bot was blocked by the user")
            return None
        kind = "supergroup chat" if self.type == "supergroup" else "group chat"
        status = self.status_of(self._state.bot.id)
        if status == "kicked":
            return ApiError(403, f"Forbidden: bot was kicked from the {kind}")
        if status == "left":
            return ApiError(403, f"Forbidden: bot is not a member of the {kind}")
        return None

    def check_can_post(self, person: Person) -> None:
        """Refuse (as a test mistake) posting where the person could not."""
        if self.migrated_to is not None:
            raise ValueError(f"{self!r} became supergroup {self.migrated_to.id}; post there")
        if self.status_of(person.id) not in ("creator", "administrator", "member"):
            raise ValueError(f"{person.first_name} is not a member of {self!r}")

    def delivers(self, message: Message) -> bool:
        """Whether the bot gets this message, given group privacy mode."""
        if self.type == "private" or message.service:
            return True
        bot = self._state.bot
        if self.status_of(bot.id) not in ("creator", "administrator", "member"):
            return False
        if not self._state.group_privacy or self.status_of(bot.id) == "administrator":
            return True
        if message.reply_to is not None and message.reply_to.from_bot:
            return True
        words = message.visible_text.split(maxsplit=1)
        if words and words[0].startswith("/"):
            _, _, addressee = words[0].partition("@")
            return addressee in ("", bot.username)
        return False

    # --- groups ---------------------------------------------------------------------------

    def set_role(self, who: User | int, status: str) -> None:
        """Make someone (a person or the bot) creator, administrator, member, left or kicked.

        Changing the bot's own status sends the my_chat_member update Telegram sends.
        """
        if self.type == "private":
            raise ValueError("roles exist only in groups")
        if status not in MEMBER_STATUSES:
            raise ValueError(f"status must be one of {MEMBER_STATUSES}")
        with self._state.lock:
            user_id = who if isinstance(who, int) else who.id
            bot = self._state.bot
            old = self.member_api(bot) if user_id == bot.id else None
            self.members[user_id] = status
            if old is not None and old["status"] != status:
                self._state.push_update(
                    "my_chat_member",
                    {
                        "chat": self.to_api(),
                        "from": self._actor().to_api(),
                        "date": now(),
                        "old_chat_member": old,
                        "new_chat_member": self.member_api(bot),
                    },
                )

    def migrate_to_supergroup(self) -> Chat:
        """Upgrade this group to a supergroup with a new id, as Telegram does.

        Both service messages (migrate_to_chat_id here, migrate_from_chat_id there) reach the
        bot; the bot's later sends to the old id fail with migrate_to_chat_id.
        """
        with self._state.lock:
            if self.type != "group":
                raise ValueError("only a basic group can become a supergroup")
            if self.migrated_to is not None:
                return self.migrated_to
            new = Chat(
                self._state,
                id=-(1_002_000_000_000 + self._state.serial()),
                type="supergroup",
                title=self.title,
            )
            new.members = dict(self.members)
            new.migrated_from = self
            self._state.add_chat(new)
            actor = self._actor()
            old_note = self.add_message(
                sender=actor, from_bot=False, service={"migrate_to_chat_id": new.id}
            )
            self.migrated_to = new
            new_note = new.add_message(
                sender=actor, from_bot=False, service={"migrate_from_chat_id": self.id}
            )
            self._state.push_update("message", old_note.to_api())
            self._state.push_update("message", new_note.to_api())
            return new

    def _actor(self) -> User:
        """The person who would have done a group-wide change: creator, else an admin."""
        for wanted in ("creator", "administrator", "member"):
            for user_id, status in self.members.items():
                if status == wanted and user_id in self._state.people:
                    return self._state.people[user_id]
        return self._state.bot


_PRIVATE_CHAT_FIELDS = ("first_name", "last_name", "username")

_ADMIN_RIGHTS: JSON = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
}
