"""The WeCom front end to end, through the fake WeCom server only (no Telegram).

WeCom's side is played by bot/sandbox/wecom/server.py: it seals each callback as WeCom does
and POSTs it to the front's callback, keeps every message the application sends, serves the
photos a person sent for `media/get`, and is the group robot the new report's card goes to.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.push.sender import drain
from bot.sandbox.botapi.images import make_jpeg
from bot.sandbox.wecom.application import SentMessage, client_of
from bot.sandbox.wecom.callbacks import Credentials, WeComCallbacks
from bot.sandbox.wecom.server import FakeWeCom
from bot.wecom.api import WeComClient
from bot.wecom.callback import CallbackReceiver, Serving, callback_app, serve
from bot.wecom.incoming import parse_message
from handlers.wecom.front import WeComFront
from handlers.wecom.render import WeComRenderer
from storage import invites, tasks
from storage.accounts import Account
from storage.db import Sessions, create_engine, make_sessions
from storage.lists import list_dangers
from storage.models import HiddenDanger, Photo, User, WeComInbox
from storage.pushes import add_wecom_target
from tests.factories import make_campaign, task_row

ROBOT = "robot-ganjingzi-0001"
NUMBER = re.compile(r"DL-\d{4}-\d{6}")
TELEGRAM_PERSON = 7001


@dataclass
class WeComWorld:
    wecom: FakeWeCom
    settings: Settings
    sessions: Sessions
    receiver: CallbackReceiver
    serving: Serving
    front: WeComFront


@dataclass
class WeComPerson:
    """One person writing to the application, as the fake WeCom delivers it."""

    world: WeComWorld
    user: str
    sent: int = 0  # how many messages and presses this person sent
    seen: int = 0  # how many messages to them were read so far

    @property
    def callbacks(self) -> WeComCallbacks:
        return self.world.wecom.application.callbacks

    async def _post(self, xml: str) -> None:
        status = await self.callbacks.post(xml)
        assert status == 200
        self.sent += 1
        await self.world.receiver.drain()  # the answer goes out through the API meanwhile

    async def text(self, text: str) -> list[SentMessage]:
        await self._post(self.callbacks.text(self.user, text))
        return self.new()

    async def image(self, data: bytes) -> list[SentMessage]:
        await self._post(self.callbacks.image(self.user, data))
        return self.new()

    async def location(self, latitude: float, longitude: float, label: str) -> list[SentMessage]:
        await self._post(self.callbacks.location(self.user, latitude, longitude, label=label))
        return self.new()

    async def press(self, key_part: str) -> list[SentMessage]:
        """Press the newest card's button whose key holds `key_part` (labels are cut to ten
        characters on WeCom; keys are the actions)."""
        for message in reversed(self.world.wecom.application.messages(self.user)):
            for button in message.card.get("button_list", []):
                if key_part in button["key"]:
                    xml = self.callbacks.button_press(
                        self.user, task_id=message.card["task_id"], key=button["key"]
                    )
                    await self._post(xml)
                    return self.new()
        raise LookupError(f"no card sent to {self.user} has a button {key_part!r}")

    def new(self) -> list[SentMessage]:
        """What the application sent this person since the last look."""
        messages = self.world.wecom.application.messages(self.user)
        fresh, self.seen = messages[self.seen :], len(messages)
        return fresh


def texts(messages: list[SentMessage]) -> str:
    return "\n".join(m.content for m in messages if m.msgtype == "text")


def keys(messages: list[SentMessage]) -> list[str]:
    return [b["key"] for m in messages for b in m.card.get("button_list", [])]


async def invite(sessions: Sessions, role: str) -> str:
    async with sessions() as s:
        return (await invites.create_invite(s, role=role, unit="甘井子区", actor="t")).code


@pytest.fixture
async def world(
    request: pytest.FixtureRequest, db_url: str, tmp_path: Path
) -> AsyncIterator[WeComWorld]:
    # The deployment's language: English unless a test asks for another (indirectly).
    language = getattr(request, "param", "en")
    credentials = Credentials()
    with FakeWeCom(credentials=credentials) as wecom:
        wecom.add_robot(ROBOT)
        settings = Settings(
            database_url=db_url,
            data_dir=tmp_path,
            language=language,
            wecom_base_url=wecom.url,
            wecom_corp_id=credentials.corp_id,
            wecom_agent_id=credentials.agent_id,
            wecom_secret=credentials.secret,
            wecom_token=credentials.token,
            wecom_aes_key=credentials.aes_key,
        )
        engine = create_engine(db_url)
        sessions = make_sessions(engine)
        await make_campaign(sessions)
        async with sessions() as s:
            await tasks.import_tasks(
                s, rows=[task_row(2, "MU-01", title="危化品企业专项检查")], actor="t"
            )
        async with sessions() as s:
            await add_wecom_target(s, unit="甘井子区", key=ROBOT, kinds="countdown,reports")
        client: WeComClient = client_of(wecom.url, credentials)
        renderer = WeComRenderer(client, photo_dir=settings.photo_dir)
        front = WeComFront(settings=settings, sessions=sessions, renderer=renderer, client=client)
        receiver = CallbackReceiver(
            crypto=wecom.application.crypto, claim=front.claim, consume=front.consume
        )
        serving = await serve(callback_app(receiver), host="127.0.0.1", port=0)
        wecom.application.callbacks.url = serving.url
        try:
            yield WeComWorld(wecom, settings, sessions, receiver, serving, front)
        finally:
            await serving.stop()
            await client.close()
            await engine.dispose()


async def test_a_report_from_invite_to_closed_on_wecom_alone(world: WeComWorld) -> None:
    inspector = WeComPerson(world, "wang.jc")
    supervisor = WeComPerson(world, "li.jg")

    # Strangers are told how to get in; the invite code, sent as text, registers — under the
    # name the corp's address book gives (the supervisor's is not visible to the application).
    world.wecom.application.add_person("wang.jc", "王建成")
    assert "not registered" in texts(await inspector.text("hello"))
    code = await invite(world.sessions, "inspector")
    welcome = texts(await inspector.text(code))
    assert "registered as inspector of 甘井子区" in welcome and "王建成" in welcome
    inspector.sent = 0  # what follows is the report itself

    # The report, step by step.
    prompt = await inspector.text("/report")
    assert "Step 1/9" in texts(prompt) and any(":task:" in k for k in keys(prompt))
    assert "Step 2/9" in texts(await inspector.press(":task:"))
    assert "Step 3/9" in texts(await inspector.text("大连某化工厂"))
    assert "Step 4/9" in texts(await inspector.press(":field:hazardous_chemicals"))
    assert "Step 5/9" in texts(await inspector.text("储罐区未设置防火堤"))
    assert "1 of at most 10" in texts(await inspector.image(make_jpeg(color=(200, 40, 40))))
    assert "2 of at most 10" in texts(await inspector.image(make_jpeg(color=(40, 40, 200))))
    assert "Step 6/9" in texts(await inspector.press(":done"))
    located = texts(await inspector.location(38.91, 121.61, "甘井子区革镇堡街道"))
    assert "Location noted" in located and "Step 7/9" in located
    assert "Step 8/9" in texts(await inspector.press(":level:general"))
    summary = await inspector.press(":days:7")
    assert "📷 2 photos" in texts(summary) and "甘井子区革镇堡街道" in texts(summary)
    submitted = texts(await inspector.press(":submit"))
    found = NUMBER.search(submitted)
    assert found is not None and "Submitted as" in submitted
    number = found.group()
    print(f"\nWeCom messages the inspector sent for the report: {inspector.sent}")
    assert inspector.sent == 12  # /report, 4 typed or sent answers, 2 photos, 1 place, 5 presses

    # The unit's group robot gets the card.
    assert await drain(None, world.sessions, world.settings) == 1
    [card] = world.wecom.messages(ROBOT)
    assert number in card.content and "大连某化工厂" in card.content

    # A supervisor of the unit, on WeCom too, opens it from /mine.
    await supervisor.text(await invite(world.sessions, "supervisor"))
    listed = await supervisor.text("/mine")
    # WeCom cuts a button's label to ten characters: the key names the record.
    assert "My hidden dangers: 1" in texts(listed) and keys(listed) == ["d:1:open"]
    opened = await supervisor.press(":open")
    assert number in texts(opened)

    # The inspector rectifies: Rectify, an after-photo (WeCom images come alone, without a
    # caption), the note as the following text, Submit from the summary.
    await inspector.text("/mine")
    await inspector.press(":open")
    rectification = 0
    begun = await inspector.press(":rectify")
    rectification += 1
    assert "Send photos of the rectified site" in texts(begun)
    received = await inspector.image(make_jpeg(color=(90, 180, 90)))
    rectification += 1
    assert "1 after-photos received" in texts(received)
    summary = await inspector.text("防火堤已砌筑")
    rectification += 1
    assert "Submit this rectification" in texts(summary) and "防火堤已砌筑" in texts(summary)
    submitted = await inspector.press(":submit")
    rectification += 1
    assert "submitted for verification" in texts(submitted)
    assert rectification == 4  # Rectify, the image, its note, Submit
    print(f"WeCom: rectification in {rectification} actions (an image, then its note as text)")

    # The supervisor is told, with a card whose button opens it; opens it, approves: closed.
    assert await drain(None, world.sessions, world.settings) >= 1
    told = supervisor.new()
    assert "awaits your verification" in texts(told) and keys(told) == ["d:1:open"]
    verification = 0
    card_now = await supervisor.press(":open")
    verification += 1
    assert "approve" in " ".join(keys(card_now))
    closed = await supervisor.press(":approve")
    verification += 1
    assert f"{number} is closed." in texts(closed)
    assert verification == 2  # open, approve
    print(f"WeCom: verification in {verification} actions")

    async with world.sessions() as s:
        danger = (await s.scalars(select(HiddenDanger))).one()
        before = await s.scalar(select(func.count()).select_from(Photo))
    assert danger.status == "closed" and danger.number == number
    assert before == 3  # two before, one after

    # The supervisor's figures and ledger, on WeCom too: charts as images, the workbook a file.
    stats = await supervisor.text("/stats")
    assert [m.msgtype for m in stats].count("image") == 2
    assert "1" in texts(stats)
    ledger = await supervisor.text("/export")
    assert [m.msgtype for m in ledger] == ["text", "file"]
    assert "/export" in texts(await supervisor.text("/help"))

    async with world.sessions() as s:
        names = dict((await s.execute(select(User.wecom_user_id, User.name))).all())
    assert names == {"wang.jc": "王建成", "li.jg": "li.jg"}

    # The same record, as a Telegram person of the unit finds it.
    async with world.sessions() as s:
        await invites.redeem_invite(
            s,
            code=await invite(world.sessions, "supervisor"),
            account=Account.telegram(TELEGRAM_PERSON),
            name="Telegram supervisor",
            username=None,
        )
    async with world.sessions() as s:
        page = await list_dangers(
            s, account=Account.telegram(TELEGRAM_PERSON), scope="find", query=number
        )
    assert [line.number for line in page.items] == [number]
    assert page.items[0].status == "closed"


@pytest.mark.parametrize("world", ["zh_CN"], indirect=True)
async def test_a_wecom_person_chooses_english_and_others_keep_chinese(world: WeComWorld) -> None:
    chooser = WeComPerson(world, "zhao.jc")
    other = WeComPerson(world, "qian.jc")
    for person in (chooser, other):
        await person.text(await invite(world.sessions, "inspector"))
    assert "/lang — 中文 / English" in texts(await chooser.text("/help"))

    # /lang offers the languages as buttons, in the deployment's language; a press chooses.
    offer = await chooser.text("/lang")
    assert "请选择语言：" in texts(offer)
    assert keys(offer) == ["lang:zh_CN", "lang:en"]
    assert "Language set: English." in texts(await chooser.press("lang:en"))
    # The offer's card is answered: its buttons give way, in the language chosen.
    assert world.wecom.application.card_updates()[-1]["button"] == {"replace_name": "Done"}

    # From then on this person is answered in English; the other one still in Chinese.
    english = texts(await chooser.text("/help"))
    assert "/report — log a hidden danger" in english and "/help — this message" in english
    chinese = texts(await other.text("/help"))
    assert "/help — 本说明" in chinese and "log a hidden danger" not in chinese

    # Typed with its code, /lang chooses at once and answers in the language chosen.
    assert "语言已设置为：中文。" in texts(await chooser.text("/lang zh_CN"))
    assert "/help — 本说明" in texts(await chooser.text("/help"))

    # Choosing is open before registering, as on Telegram: the hint then comes in English.
    visitor = WeComPerson(world, "sun.visitor")
    assert "Language set: English." in texts(await visitor.text("/lang en"))
    assert "You are not registered yet" in texts(await visitor.text("hello"))


async def test_forged_replayed_and_misaddressed_callbacks_are_kept_once(
    world: WeComWorld,
) -> None:
    callbacks = world.wecom.application.callbacks
    inspector = WeComPerson(world, "wang.jc")
    await inspector.text(await invite(world.sessions, "inspector"))
    await inspector.text("/report")
    await inspector.press(":task:")
    await inspector.text("大连某化工厂")
    await inspector.press(":field:hazardous_chemicals")
    await inspector.text("储罐区未设置防火堤")
    async with world.sessions() as s:
        kept_before = await s.scalar(select(func.count()).select_from(WeComInbox))

    photo = callbacks.image("wang.jc", make_jpeg(color=(10, 120, 200)))
    # A forged signature: refused before anything is read.
    query, body = callbacks.seal(photo)
    forged = {**query, "msg_signature": "0" * 40}
    assert await callbacks.post_sealed(forged, body) == 403
    # Sealed for another corp: refused.
    assert await callbacks.post(photo, receive_id="wwsomeoneelse000000") == 403
    # The same callback three times (WeCom's retries): answered each time, handled once.
    assert [await callbacks.post(photo) for _ in range(3)] == [200, 200, 200]
    await world.receiver.drain()

    async with world.sessions() as s:
        kept_after = await s.scalar(select(func.count()).select_from(WeComInbox))
        photos = await s.scalar(select(func.count()).select_from(Photo))
        unhandled = await s.scalar(
            select(func.count()).select_from(WeComInbox).where(WeComInbox.handled_at.is_(None))
        )
    assert kept_after - (kept_before or 0) == 1
    assert photos == 1 and unhandled == 0
    answers = [m for m in inspector.new() if "of at most 10" in m.content]
    assert len(answers) == 1
    print(f"\ncallbacks posted: 5; kept: {kept_after - (kept_before or 0)}; photos: {photos}")


async def test_a_message_kept_before_a_crash_is_handled_at_the_next_start(
    world: WeComWorld,
) -> None:
    """WeCom got its 200, then the process died before handling: nothing is lost."""
    callbacks = world.wecom.application.callbacks
    code = await invite(world.sessions, "inspector")
    message = parse_message(callbacks.text("zhao.jc", code))
    assert await world.front.claim(message)  # kept, and WeCom answered; then the crash
    assert not await world.front.claim(message)  # WeCom's retry is recognised
    assert await world.front.replay_unhandled() == 1
    assert await world.front.replay_unhandled() == 0
    sent = world.wecom.application.messages("zhao.jc")
    assert "registered as inspector" in texts(sent)


async def test_an_image_begins_a_report_on_wecom_and_the_card_is_the_form(
    world: WeComWorld,
) -> None:
    """Photo first on WeCom: an image with nothing open begins a report; a second image once
    the report has moved on asks whether it joins; the card takes the typed description."""
    inspector = WeComPerson(world, "zhao.jc")
    await inspector.text(await invite(world.sessions, "inspector"))
    inspector.sent = 0

    begun = texts(await inspector.image(make_jpeg(color=(200, 40, 40))))
    assert begun.startswith("📷 1 photo · Location") and "Send a location" in begun
    # A second image straight after joins the first (WeCom sends an album one by one).
    assert "📷 2 photos · Location" in texts(await inspector.image(make_jpeg(color=(40, 200, 40))))
    site = texts(await inspector.location(38.91, 121.61, "甘井子区革镇堡街道"))
    assert "Location noted" in site and "📷 2 photos · Site" in site
    assert "📷 2 photos · Task" in texts(await inspector.text("大连某化工厂"))
    card = await inspector.press(":task:")
    assert "Description: — type it here to add it" in texts(card)
    # An image now asks where it goes; it joins.
    asked = await inspector.image(make_jpeg(color=(40, 40, 200)))
    assert "You sent 1 photo while a report is open" in texts(asked)
    assert any(k.endswith(":held:add") for k in keys(asked))
    assert "1 photos added (3 in all)" in texts(await inspector.press(":held:add"))
    described = texts(await inspector.text("储罐区未设置防火堤"))
    assert "Description: 储罐区未设置防火堤" in described and "📷 3 photos" in described
    submitted = texts(await inspector.press(":submit"))
    assert "Submitted as" in submitted
    print(f"\nWeCom, photo first: {inspector.sent} messages for a report with 3 images")
    assert inspector.sent == 9  # 3 images, place, site, task, "add", description, Submit
    # Its number typed alone finds it.
    found = NUMBER.search(submitted)
    assert found is not None
    again = await inspector.text(found.group())
    assert found.group() in texts(again) and keys(again) == ["d:1:open"]

    async with world.sessions() as s:
        danger = (await s.scalars(select(HiddenDanger))).one()
        photos = await s.scalar(
            select(func.count()).select_from(Photo).where(Photo.danger_id == danger.id)
        )
    assert danger.site == "大连某化工厂" and danger.description == "储罐区未设置防火堤"
    assert photos == 3 and danger.level == "general"
