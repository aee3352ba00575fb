"""The WeCom front inside the bot's process: its callback server, started with the Application.

`hdbot run` serves every configured front. When the WeCom application is configured, the
Application's start (bot/app.py) builds the front (handlers/wecom/front.py) on the process's
one WeCom client, lets it answer what an earlier run kept and did not handle, and only then
opens `HDBOT_WECOM_LISTEN` at `/wecom/callback`: a person's new messages come after their
old ones. The Application's shutdown closes the port after the messages handed on are done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from bot.config import Settings
from bot.wecom.api import WeComClient
from bot.wecom.callback import CallbackReceiver, Serving, callback_app, serve
from bot.wecom.crypto import CallbackCrypto
from bot.wecom.incoming import WeComMessage
from handlers.wecom.render import WeComRenderer
from storage.db import Sessions

logger = logging.getLogger(__name__)


class WeComFrontLike(Protocol):
    """What the callback server needs of the WeCom front."""

    async def claim(self, message: WeComMessage) -> bool: ...

    async def consume(self, message: WeComMessage) -> None: ...

    async def replay_unhandled(self) -> object: ...


MakeFront = Callable[..., WeComFrontLike]


class ListenFailed(Exception):
    """The callback's address could not be opened (taken, or not this machine's)."""


async def start_wecom_front(
    settings: Settings,
    *,
    sessions: Sessions,
    client: WeComClient,
    make_front: MakeFront | None = None,
) -> Serving:
    """Build the WeCom front, replay what it kept, and serve its callback; return the server."""
    if make_front is None:
        # Imported here: a deployment without WeCom never loads the front.
        from handlers.wecom.front import WeComFront

        make_front = WeComFront
    assert settings.wecom_token and settings.wecom_aes_key and settings.wecom_corp_id
    renderer = WeComRenderer(client, photo_dir=settings.photo_dir)
    front = make_front(settings=settings, sessions=sessions, renderer=renderer, client=client)
    receiver = CallbackReceiver(
        crypto=CallbackCrypto(
            token=settings.wecom_token,
            encoding_aes_key=settings.wecom_aes_key,
            receive_id=settings.wecom_corp_id,
        ),
        claim=front.claim,
        consume=front.consume,
    )
    await front.replay_unhandled()
    host, port = settings.wecom_listen_address
    try:
        return await serve(callback_app(receiver), host=host, port=port)
    except OSError as err:
        raise ListenFailed(f"{host}:{port}: {err.strerror or err}") from None
