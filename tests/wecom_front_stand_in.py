"""`hdbot run` with a stand-in WeCom front, for tests that start the bot as a process.

Run as `python -m tests.wecom_front_stand_in run …`: the stand-in takes the place of
handlers/wecom/front.py before the console script starts, so the process serves the WeCom
callback exactly as `hdbot run` does, and answers every message with "收到: TEXT" through the
real renderer and client. It proves the wiring, not the conversation.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from bot.views.reply import Say
from bot.wecom.incoming import WeComMessage
from handlers.wecom.render import WeComRenderer


class StandInFront:
    """Claims every callback once, answers it at once, has nothing left over to replay."""

    def __init__(self, *, renderer: WeComRenderer, **wiring: Any) -> None:
        self.renderer = renderer
        self.seen: set[str] = set()
        self.replayed = False

    async def claim(self, message: WeComMessage) -> bool:
        if message.dedupe_key in self.seen:
            return False
        self.seen.add(message.dedupe_key)
        return True

    async def consume(self, message: WeComMessage) -> None:
        said = Say(f"收到: {message.content or message.msg_type}")
        await self.renderer.send(message.from_user, [said], language="zh_CN")

    async def replay_unhandled(self) -> None:
        self.replayed = True


def install() -> None:
    """Put the stand-in where the wiring imports the front from."""
    module = types.ModuleType("handlers.wecom.front")
    module.WeComFront = StandInFront
    sys.modules["handlers.wecom.front"] = module


if __name__ == "__main__":
    install()
    from bot.cli import main

    main()
