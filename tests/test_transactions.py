"""The watch over transactions held across Bot API calls can see one (the e2e tests rely on it)."""

from __future__ import annotations

from sqlalchemy import text

from bot.sandbox.botapi import FakeBotAPI
from bot.transport import AiohttpRequest
from storage.db import create_engine, make_sessions, reading
from tests.transactions import TransactionWatch


async def test_a_request_inside_a_transaction_is_seen(server: FakeBotAPI, db_url: str) -> None:
    engine = create_engine(db_url)
    request = AiohttpRequest()
    await request.initialize()
    get_me = f"{server.base_url}{server.token}/getMe"
    watch = TransactionWatch()
    try:
        with watch.watching():
            async with make_sessions(engine)() as s:
                await s.execute(text("SELECT 1"))
                assert (await request.do_request(get_me, "POST"))[0] == 200
            # After the session: allowed, as is a read session that has ended.
            await request.do_request(get_me, "POST")
            async with reading(make_sessions(engine))() as s:
                await s.execute(text("SELECT 1"))
            await request.do_request(get_me, "POST")
    finally:
        await request.shutdown()
        await engine.dispose()
    assert len(watch.violations) == 1 and watch.violations[0].startswith("getMe inside")
