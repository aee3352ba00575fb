"""End to end: /export sends the workbook, /stats its charts, /countdown its card."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PIL import Image

from bot.sandbox.botapi import FakeBotAPI, Person
from storage import invites, tasks
from tests.factories import make_campaign, task_row
from tests.harness import RunningBot, running_bot, settings_for

pytestmark = pytest.mark.e2e


@pytest.fixture
async def bot(server: FakeBotAPI, sqlite_url: str, tmp_path: Path) -> AsyncIterator[RunningBot]:
    settings = settings_for(server, db_url=sqlite_url, data_dir=tmp_path)
    async with running_bot(settings) as running:
        await make_campaign(running.sessions)
        async with running.sessions() as s:
            await tasks.import_tasks(
                s,
                rows=[task_row(2, "MU-01"), task_row(3, "IM-01", source="institutional")],
                actor="test",
            )
        yield running


async def join(server: FakeBotAPI, bot: RunningBot, role: str, unit: str, lang: str) -> Person:
    async with bot.sessions() as s:
        code = (await invites.create_invite(s, role=role, unit=unit, actor="test")).code
    person = server.user(first_name=role, language_code=lang)
    person.send_text(f"/start {code}")
    await person.private_chat.next_message()
    return person


async def test_export_stats_and_countdown(server: FakeBotAPI, bot: RunningBot) -> None:
    li = await join(server, bot, "supervisor", "甘井子区", "zh-hans")
    li.send_text("/export 2026Q4")
    sent = await li.private_chat.next_message(lambda m: m.document is not None, within=10)
    assert sent.document is not None and (sent.document_bytes or b"")
    assert sent.caption is not None and sent.caption.startswith("台账")
    book = load_workbook(io.BytesIO(sent.document_bytes or b""))
    assert book.sheetnames == [
        "任务进展表",
        "突出问题清单",
        "重大隐患清单",
        "制度措施清单",
        "风险清单",
        "隐患台账",
        "2026年第4季度统计",
    ]
    measures = list(book["制度措施清单"].iter_rows(min_row=2, values_only=True))
    assert [m[0] for m in measures] == ["IM-01"]

    li.send_text("/stats")
    text = await li.private_chat.next_message()
    assert (text.text or "").startswith("📊 统计")
    for caption in ("各单位情况", "每周趋势"):
        chart = await li.private_chat.next_message(lambda m, c=caption: m.caption == c)
        assert chart.photo_bytes is not None
        assert Image.open(io.BytesIO(chart.photo_bytes)).size[0] >= 1000

    li.send_text("/countdown")
    card = await li.private_chat.next_message(lambda m: bool(m.photo))
    assert "距收官还有" in (card.caption or "")

    wang = await join(server, bot, "inspector", "甘井子区", "en")
    wang.send_text("/export")
    refused = await wang.private_chat.next_message()
    assert refused.text == "Only supervisors and administrators can export the ledger."
    wang.send_text("/export 2026Q9")
    assert "quarter" in ((await wang.private_chat.next_message()).text or "")
