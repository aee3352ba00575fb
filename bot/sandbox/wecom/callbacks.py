"""WeCom's side of an application's callback: what a person's message looks like on the wire.

Builds the inner XML WeCom documents for a text, an image, a location, a press on a template
card's button and `enter_agent`; seals it as WeCom does (AES with the application's
EncodingAESKey, for its corp id; SHA-1 signature with its token) and POSTs
`<xml><ToUserName/><AgentID/><Encrypt/></xml>` to the callback address; plays the URL check.
Each call returns the HTTP status the application answered. The moment of a message comes
from hdbot's clock (`storage.clock`), never the machine's calendar.

Example::

    callbacks = wecom.application.callbacks
    callbacks.url = serving.url
    assert await callbacks.send_text("inspector01", "/start ABCD") == 200
    xml = callbacks.text("inspector01", "again")        # the same callback twice: a retry
    assert await callbacks.post(xml) == 200 and await callbacks.post(xml) == 200
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from bot.wecom.crypto import CallbackCrypto
from storage.clock import utcnow

# A callback the application does not answer within this is a failed test, not a hung one.
ANSWER_WITHIN = aiohttp.ClientTimeout(total=10)


@dataclass(frozen=True)
class Credentials:
    """One application's settings, as its administrator copies them from the console."""

    corp_id: str = "ww5f3c2a1b0e9d8c7b"
    agent_id: int = 1000002
    secret: str = "fakeAppSecret-hdbot-0123456789abcdefghijklmnop"
    token: str = "hdbotCallbackToken42"
    aes_key: str = "hdbotFakeWeComApplicationKey0123456789abcde"

    def environ(self, base_url: str, listen: str = "127.0.0.1:0") -> dict[str, str]:
        """The HDBOT_WECOM_* settings that point hdbot at this application on a fake."""
        return {
            "HDBOT_WECOM_BASE_URL": base_url,
            "HDBOT_WECOM_CORP_ID": self.corp_id,
            "HDBOT_WECOM_AGENT_ID": str(self.agent_id),
            "HDBOT_WECOM_SECRET": self.secret,
            "HDBOT_WECOM_TOKEN": self.token,
            "HDBOT_WECOM_AES_KEY": self.aes_key,
            "HDBOT_WECOM_LISTEN": listen,
        }


def cdata(value: str) -> str:
    """A CDATA section holding any text (a "]]>" inside is split across two sections)."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


class WeComCallbacks:
    """Seal and post callbacks to one application's callback address (`url`)."""

    def __init__(self, credentials: Credentials, *, put_media: Callable[[bytes], str]) -> None:
        self.credentials = credentials
        self.crypto = CallbackCrypto(
            token=credentials.token,
            encoding_aes_key=credentials.aes_key,
            receive_id=credentials.corp_id,
        )
        self.url: str | None = None
        self._put_media = put_media
        self._ids = itertools.count(7_346_512_000_000_000_001)

    # --- the inner XML --------------------------------------------------------------------

    def text(
        self, user: str, text: str, *, msg_id: str | None = None, at: int | None = None
    ) -> str:
        """A text message from a person."""
        return self._message(user, "text", f"<Content>{cdata(text)}</Content>", msg_id, at)

    def image(
        self,
        user: str,
        data: bytes | None = None,
        *,
        media_id: str | None = None,
        msg_id: str | None = None,
        at: int | None = None,
    ) -> str:
        """A photo from a person; its bytes are kept by the fake for media/get."""
        if media_id is None:
            media_id = self._put_media(data if data is not None else b"\xff\xd8\xff\xe0fake")
        fields = (
            f"<PicUrl>{cdata(f'https://wework.qpic.cn/fake/{media_id}/0')}</PicUrl>"
            f"<MediaId>{cdata(media_id)}</MediaId>"
        )
        return self._message(user, "image", fields, msg_id, at)

    def location(
        self,
        user: str,
        latitude: float,
        longitude: float,
        *,
        label: str = "",
        scale: int = 15,
        msg_id: str | None = None,
        at: int | None = None,
    ) -> str:
        """A location a person shared (Location_X is the latitude, Location_Y the longitude)."""
        fields = (
            f"<Location_X>{latitude}</Location_X><Location_Y>{longitude}</Location_Y>"
            f"<Scale>{scale}</Scale><Label>{cdata(label)}</Label>"
        )
        return self._message(user, "location", fields, msg_id, at)

    def button_press(
        self,
        user: str,
        *,
        task_id: str,
        key: str,
        response_code: str | None = None,
        at: int | None = None,
    ) -> str:
        """A press on a button of a button-interaction card."""
        code = response_code or f"fake-press-rc-{next(self._ids)}"
        fields = (
            f"<EventKey>{cdata(key)}</EventKey><TaskId>{cdata(task_id)}</TaskId>"
            f"<CardType>{cdata('button_interaction')}</CardType>"
            f"<ResponseCode>{cdata(code)}</ResponseCode>"
        )
        return self._event(user, "template_card_event", fields, at)

    def enter_agent(self, user: str, *, at: int | None = None) -> str:
        """A person opened the application."""
        return self._event(user, "enter_agent", f"<EventKey>{cdata('')}</EventKey>", at)

    def _message(
        self, user: str, kind: str, fields: str, msg_id: str | None, at: int | None
    ) -> str:
        msg_id = msg_id or str(next(self._ids))
        return self._xml(user, kind, f"{fields}<MsgId>{msg_id}</MsgId>", at)

    def _event(self, user: str, event: str, fields: str, at: int | None) -> str:
        return self._xml(user, "event", f"<Event>{cdata(event)}</Event>{fields}", at)

    def _xml(self, user: str, kind: str, fields: str, at: int | None) -> str:
        created = at if at is not None else int(utcnow().timestamp())
        return (
            f"<xml><ToUserName>{cdata(self.credentials.corp_id)}</ToUserName>"
            f"<FromUserName>{cdata(user)}</FromUserName><CreateTime>{created}</CreateTime>"
            f"<MsgType>{cdata(kind)}</MsgType>{fields}"
            f"<AgentID>{self.credentials.agent_id}</AgentID></xml>"
        )

    # --- sealing and posting --------------------------------------------------------------

    def seal(self, xml: str, *, receive_id: str | None = None) -> tuple[dict[str, str], str]:
        """The query and body WeCom would POST for this inner XML (sealed for `receive_id`)."""
        crypto = self.crypto
        if receive_id is not None:
            crypto = CallbackCrypto(
                token=self.credentials.token,
                encoding_aes_key=self.credentials.aes_key,
                receive_id=receive_id,
            )
        encrypted = crypto.encrypt(xml)
        timestamp = str(int(utcnow().timestamp()))
        nonce = str(secrets.randbelow(10**10))
        query = {
            "msg_signature": crypto.sign(timestamp, nonce, encrypted),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        body = (
            f"<xml><ToUserName>{cdata(self.credentials.corp_id)}</ToUserName>"
            f"<AgentID>{cdata(str(self.credentials.agent_id))}</AgentID>"
            f"<Encrypt>{cdata(encrypted)}</Encrypt></xml>"
        )
        return query, body

    async def post(self, xml: str, *, receive_id: str | None = None) -> int:
        """Seal and POST a callback; return the HTTP status answered."""
        query, body = self.seal(xml, receive_id=receive_id)
        return await self.post_sealed(query, body)

    async def post_sealed(self, query: dict[str, str], body: str | bytes) -> int:
        """POST a callback exactly as given (to try a forged or damaged one)."""
        async with (
            aiohttp.ClientSession(timeout=ANSWER_WITHIN) as http,
            http.post(self._address(), params=query, data=body) as response,
        ):
            await response.read()
            return response.status

    async def check_url(
        self, echo: str = "4783510248417326910", *, forged: bool = False
    ) -> tuple[int, str]:
        """Play the URL check WeCom makes when the address is saved; (status, body)."""
        encrypted = self.crypto.encrypt(echo)
        timestamp = str(int(utcnow().timestamp()))
        nonce = str(secrets.randbelow(10**10))
        signature = self.crypto.sign(timestamp, nonce, encrypted)
        query = {
            "msg_signature": "0" * 40 if forged else signature,
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": encrypted,
        }
        async with (
            aiohttp.ClientSession(timeout=ANSWER_WITHIN) as http,
            http.get(self._address(), params=query) as response,
        ):
            return response.status, await response.text()

    async def send_text(self, user: str, text: str) -> int:
        """A person sends a text; the status answered."""
        return await self.post(self.text(user, text))

    async def send_image(self, user: str, data: bytes | None = None) -> int:
        """A person sends a photo (kept by the fake for media/get); the status answered."""
        return await self.post(self.image(user, data))

    async def send_location(
        self, user: str, latitude: float, longitude: float, label: str = ""
    ) -> int:
        """A person shares a location; the status answered."""
        return await self.post(self.location(user, latitude, longitude, label=label))

    async def enter(self, user: str) -> int:
        """A person opens the application; the status answered."""
        return await self.post(self.enter_agent(user))

    def _address(self) -> str:
        if self.url is None:
            raise RuntimeError("set callbacks.url to the application's callback address first")
        return self.url
