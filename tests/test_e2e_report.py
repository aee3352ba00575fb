"""End to end: a new inspector, from invite link to a submitted hidden danger, as on a phone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.sandbox.botapi import Chat, FakeBotAPI, Message, Person, make_jpeg
from storage import invites
from storage.conversation import Input, InputKind
from storage.models import HiddenDanger, Photo, Task
from storage.report import begin_report_with_photo
from tests.harness import RunningBot, running_bot, settings_for
from tests.phone import enrol, seed_campaign
from tests.world import RULES, Walker, photo

pytestmark = pytest.mark.e2e

DALIAN = (38.914, 121.614)


@pytest.fixture
async def bot(server: FakeBotAPI, sqlite_url: str, tmp_path: Path) -> AsyncIterator[RunningBot]:
    settings = settings_for(server, db_url=sqlite_url, data_dir=tmp_path)
    async with running_bot(settings) as running:
        await seed_campaign(running)
        yield running


async def invite(bot: RunningBot, role: str, unit: str) -> str:
    async with bot.sessions() as s:
        return (await invites.create_invite(s, role=role, unit=unit, actor="test")).code


async def next_text(chat: Chat, contains: str = "") -> Message:
    message = await chat.next_message(lambda m: contains in (m.text or m.caption or ""))
    return message


async def register(person: Person, code: str) -> Message:
    person.send_text(f"/start {code}")
    return await person.private_chat.next_message()


async def test_invite_to_submitted_report_with_album_file_and_location(
    server: FakeBotAPI, bot: RunningBot
) -> None:
    # A supervisor binds the district's group and subscribes it to new reports.
    li = server.user(first_name="李", last_name="监管", language_code="zh-hans")
    welcome = await register(li, await invite(bot, "supervisor", "甘井子区"))
    assert "监管人员" in (welcome.text or "")
    group = server.group("甘井子区安全生产群", members=[li], admins=[li])
    li.send_text("/bind 甘井子区", chat=group)
    assert "已绑定到甘井子区" in ((await group.next_message()).text or "")
    li.send_text("/subscribe reports", chat=group)
    assert "新上报" in ((await group.next_message()).text or "")

    # A new inspector opens the invite link on the phone.
    wang = server.user(first_name="王", last_name="检查", language_code="zh-hans")
    chat = wang.private_chat
    welcome = await register(wang, await invite(bot, "inspector", "甘井子区"))
    assert welcome.text is not None and "检查员" in welcome.text and "甘井子区" in welcome.text

    wang.send_text("/report")
    tasks_prompt = await chat.next_message()
    assert tasks_prompt.text is not None and tasks_prompt.text.startswith("第 1/9 步 · 任务")
    labels = [text for row in tasks_prompt.inline_keyboard for text, _ in row]
    assert labels[0].startswith("MU-01") and labels[1].startswith("MU-02")  # latest due first
    wang.press(tasks_prompt, labels[0])
    assert "第 2/9 步" in ((await chat.next_message()).text or "")
    await chat.wait_until(lambda: not tasks_prompt.inline_keyboard)  # buttons taken away

    wang.send_text("大连某化工有限公司")
    field_prompt = await chat.next_message()
    assert "✓ 危险化学品" in [t for row in field_prompt.inline_keyboard for t, _ in row]
    wang.press(field_prompt, "✓ 危险化学品")
    assert "第 4/9 步" in ((await chat.next_message()).text or "")

    wang.send_text("储罐区防火堤破损，未设置可燃气体报警装置")
    photos_prompt = await chat.next_message()
    assert "第 5/9 步" in (photos_prompt.text or "")

    wang.send_album([make_jpeg(color=(200, 30 * i, 40)) for i in range(3)])
    after_album = await chat.next_message()
    assert "已收到 3 张照片" in (after_album.text or "")
    await chat.expect_silence(0.3)  # one answer for the album, not one per picture

    wang.send_document(
        make_jpeg(color=(10, 120, 200), exif_gps=DALIAN),
        file_name="IMG_0042.jpg",
        mime_type="image/jpeg",
    )
    after_file = await chat.next_message()
    assert "已收到 4 张照片" in (after_file.text or "")
    wang.press(after_file, "✅ 完成")

    location_prompt = await chat.next_message()
    assert "第 6/9 步" in (location_prompt.text or "")
    assert chat.reply_keyboard is not None
    assert ["📷 使用照片的位置"] in chat.reply_keyboard  # the file's GPS is offered
    wang.tap("📍 发送我的位置", location=(38.921, 121.630))
    assert "位置已记录" in ((await chat.next_message()).text or "")

    level_prompt = await chat.next_message()
    wang.press(level_prompt, "重大隐患")
    deadline_prompt = await chat.next_message()
    assert "第 8/9 步" in (deadline_prompt.text or "")
    seven = next(
        t for row in deadline_prompt.inline_keyboard for t, _ in row if t.startswith("7 天")
    )
    wang.press(deadline_prompt, seven)

    card = await chat.next_message()
    assert card.photo, "the summary card shows the first photo"
    caption = card.caption or ""
    for expected in (
        "大连某化工有限公司",
        "危险化学品",
        "重大隐患",
        "📷 4 张照片",
        "MU-01",
        "38.92100",
    ):
        assert expected in caption
    wang.press(card, "✅ 提交")
    done = await next_text(chat, "已提交")
    assert "DL-2026-000001" in (done.text or "") or "DL-" in (done.text or "")

    # The group gets one album: four photos, the card as the first caption.
    album = await group.next_message(lambda m: bool(m.media_group_id))
    assert (
        album.caption is not None
        and "重大隐患" in album.caption
        and "大连某化工有限公司" in album.caption
    )
    await group.wait_until(
        lambda: (
            len([m for m in group.bot_messages if m.media_group_id == album.media_group_id]) == 4
        )
    )

    async with bot.sessions() as s:
        danger = (await s.scalars(select(HiddenDanger))).one()
        assert danger.level == "major" and danger.latitude == pytest.approx(38.921)
        photos = list(await s.scalars(select(Photo).where(Photo.danger_id == danger.id)))
        assert len(photos) == 4
        with_gps = [p for p in photos if p.exif_lat is not None]
        assert len(with_gps) == 1 and with_gps[0].exif_lat == pytest.approx(DALIAN[0], abs=1e-4)
        for p in photos:
            assert (bot.settings.photo_dir / p.path).is_file()


async def test_wrong_input_gets_hints_and_cancel_says_what_was_dropped(
    server: FakeBotAPI, bot: RunningBot
) -> None:
    zhao = server.user(first_name="Zhao", language_code="en")
    chat = zhao.private_chat
    await register(zhao, await invite(bot, "inspector", "甘井子区"))
    zhao.send_text("/report")
    prompt = await chat.next_message()
    zhao.send_sticker()
    assert (await chat.next_message()).text == "Please choose with the buttons below."
    await chat.next_message()  # the prompt again
    zhao.press(
        prompt, next(t for row in prompt.inline_keyboard for t, _ in row if t.startswith("MU-01"))
    )
    await chat.next_message()
    zhao.send_voice()
    assert (await chat.next_message()).text == "Please answer with text."
    await chat.next_message()
    # A photo at the site step asks whether it joins this report or begins another.
    zhao.send_photo(make_jpeg())
    question = await chat.next_message()
    assert (question.text or "").startswith("You sent 1 photo while a report is open (MU-01)")
    assert question.buttons == ["➕ Add to the open report", "🆕 Start a new one"]
    zhao.send_text("Warehouse 7")
    await chat.next_message()
    zhao.send_text("/cancel")
    dropped = await chat.next_message()
    assert dropped.text == "Report discarded (MU-01, Warehouse 7). Send /report to start again."
    async with bot.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(HiddenDanger)) == 0


async def test_bad_invite_codes_are_answered(server: FakeBotAPI, bot: RunningBot) -> None:
    eve = server.user(first_name="Eve", language_code="en")
    reply = await register(eve, "not-a-real-code")
    assert (
        reply.text == "This invite link is not valid. Ask your unit's administrator for a new one."
    )


async def earlier_reports(bot: RunningBot, person: Person, site: str, task_code: str) -> None:
    """Three reports the inspector filed at one site under one task, a moment ago."""
    async with bot.sessions() as s:
        task_id = await s.scalar(select(Task.id).where(Task.code == task_code))
    w = Walker(bot.sessions, person.id)
    for n in range(3):
        w.update_id = 800_000 + n * 100
        async with bot.sessions() as s:
            await begin_report_with_photo(
                s,
                account=w.account,
                update_id=w.next_id(),
                given=Input(InputKind.PHOTO, photo=photo(900 + n), text="储罐区阀门泄漏"),
                rules=RULES,
            )
        await w.send(Input(InputKind.LOCATION, latitude=DALIAN[0], longitude=DALIAN[1]))
        await w.text(site)
        await w.press(f"task:{task_id}")
        assert (await w.press("submit")).submitted is not None


async def test_an_album_with_a_caption_is_a_whole_report_in_five_actions(
    server: FakeBotAPI, bot: RunningBot
) -> None:
    wang = server.user(first_name="王", last_name="检查", language_code="zh-hans")
    chat = wang.private_chat
    await enrol(bot, wang, "inspector", "甘井子区")
    site = "大连某化工有限公司"
    await earlier_reports(bot, wang, site, "MU-02")
    actions = 0

    caption = "储罐区防火堤破损，未设置可燃气体报警装置"
    wang.send_album([make_jpeg(color=(200, 30 * i, 40)) for i in range(3)], caption)
    actions += 1
    place_prompt = await chat.next_message()
    assert (place_prompt.text or "").startswith("📷 3 张照片 · 位置")
    assert chat.reply_keyboard is not None
    assert ["📍 发送我的位置"] in chat.reply_keyboard
    assert ["📌 与上一份报告同一地点"] in chat.reply_keyboard  # the last one is minutes old
    await chat.expect_silence(0.3)  # one answer for the album, not one per picture

    wang.tap("📍 发送我的位置", location=(DALIAN[0] + 0.0005, DALIAN[1]))
    actions += 1
    assert "位置已记录" in ((await chat.next_message()).text or "")
    site_prompt = await chat.next_message()
    assert site_prompt.buttons[0].startswith(f"🏭 {site} · ")  # the nearest site first
    wang.press(site_prompt, site_prompt.buttons[0])
    actions += 1
    task_prompt = await chat.next_message()
    assert task_prompt.buttons[0].startswith("MU-02 ⭐")  # the site's task first
    wang.press(task_prompt, task_prompt.buttons[0])
    actions += 1
    card = await chat.next_message()
    text = card.caption or ""
    for expected in ("📷 3 张照片", "MU-02", site, "城镇燃气", "一般隐患", caption):
        assert expected in text, (expected, text)
    # Six lines, and one naming the three earlier reports at this site it may repeat.
    assert len(text.splitlines()) == 7 and "DL-2026-000003" in text.splitlines()[-1]
    wang.press(card, "✅ 提交")
    actions += 1
    await chat.next_message(lambda m: "已提交" in (m.text or m.caption or ""))
    print(f"photo first: a whole report in {actions} actions")
    assert actions <= 5

    async with bot.sessions() as s:
        danger = (
            await s.scalars(select(HiddenDanger).order_by(HiddenDanger.id.desc()).limit(1))
        ).one()
        assert danger.description == caption and danger.site == site
        photos = list(await s.scalars(select(Photo).where(Photo.danger_id == danger.id)))
        assert len(photos) == 3
