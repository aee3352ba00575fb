"""The WeCom renderer against the fake WeCom server: what a person sees of each kind of reply."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from PIL import Image

from bot.sandbox.wecom.application import FakeWeComApplication, client_of
from bot.sandbox.wecom.server import FakeWeCom
from bot.views.reply import Ask, Button, Document, Edit, Say, grid
from handlers.wecom.render import Pressed, WeComRenderer, button_text, legend
from storage.dto import PhotoRef

USER = "inspector01"


@pytest.fixture
def wecom() -> Iterator[FakeWeCom]:
    with FakeWeCom() as fake:
        yield fake


@pytest.fixture
async def renderer(wecom: FakeWeCom, tmp_path: Path) -> AsyncIterator[WeComRenderer]:
    async with client_of(wecom.url, wecom.application.credentials) as client:
        yield WeComRenderer(client, photo_dir=tmp_path)


@pytest.fixture
def fake(renderer: WeComRenderer, wecom: FakeWeCom) -> FakeWeComApplication:
    """What the application sent, as the fake WeCom server kept it."""
    return wecom.application


def picture(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(out, kind)
    return out.getvalue()


def levels(n: int) -> tuple[Button, ...]:
    return tuple(Button(f"第{i}项", f"r:1:task:{i}") for i in range(1, n + 1))


async def test_seven_buttons_come_after_the_text_on_cards_of_six_and_one(
    renderer: WeComRenderer, fake: FakeWeComApplication
) -> None:
    await renderer.send(USER, [Say("选择任务", buttons=grid(levels(7), 2))], language="zh_CN")
    text, first, second = fake.messages(USER)
    assert (text.msgtype, text.content) == ("text", "选择任务")
    assert [first.msgtype, second.msgtype] == ["template_card", "template_card"]
    assert first.button_texts == [f"第{i}项" for i in range(1, 7)]
    assert second.button_texts == ["第7项"]
    keys = [b["key"] for m in (first, second) for b in m.card["button_list"]]
    assert keys == [f"r:1:task:{i}" for i in range(1, 8)]
    assert first.card["task_id"] != second.card["task_id"]
    assert first.card["main_title"]["title"] == "请选择（1/2）："
    assert second.card["main_title"]["title"] == "请选择（2/2）："


async def test_long_labels_are_listed_whole_by_number_and_the_cards_say_choose(
    renderer: WeComRenderer, fake: FakeWeComApplication
) -> None:
    buttons = ((Button("Municipal Bureau of Industry", "u:7"),), (Button("Civil", "u:8"),))
    await renderer.send(USER, [Say("Which unit?", buttons=buttons)], language="en")
    text, card = fake.messages(USER)
    assert text.content == "Which unit?\n1. Municipal Bureau of Industry"
    assert card.button_texts == ["1. Munici…", "Civil"]
    assert card.card["main_title"]["title"] == "Choose:"


async def test_a_list_of_records_tells_its_buttons_apart(
    renderer: WeComRenderer, fake: FakeWeComApplication
) -> None:
    # Cut to ten characters every line of /mine would read "🆕 DL-202…".
    lines = [Button(f"🆕 DL-2026-00012{n} 工厂{n}", f"d:{n}:open") for n in range(1, 4)]
    await renderer.send(USER, [Say("我的隐患：3", buttons=grid(tuple(lines), 1))], language="zh_CN")
    text, card = fake.messages(USER)
    assert text.content.splitlines()[1:] == [f"{n}. 🆕 DL-2026-00012{n} 工厂{n}" for n in (1, 2, 3)]
    assert [label.split(".")[0] for label in card.button_texts] == ["1", "2", "3"]
    assert len(set(card.button_texts)) == 3


async def test_a_long_text_is_split_at_line_ends_within_2048_bytes(
    renderer: WeComRenderer, fake: FakeWeComApplication
) -> None:
    lines = [f"{n}. 甘井子区 危化品储罐区 隐患整改情况说明" for n in range(1, 121)]
    await renderer.send(USER, [Say("\n".join(lines))], language="zh_CN")
    sent = [m.content for m in fake.messages(USER)]
    assert len(sent) > 1
    assert all(len(text.encode()) <= 2048 for text in sent)
    assert "\n".join(sent).split("\n") == lines  # nothing lost, no line cut


async def test_photos_are_uploaded_and_sent_after_the_text(
    renderer: WeComRenderer, fake: FakeWeComApplication, tmp_path: Path
) -> None:
    (tmp_path / "2026").mkdir()
    (tmp_path / "2026" / "a.jpg").write_bytes(picture("JPEG"))
    stored = PhotoRef(file_id="tg-file", source="document", path="2026/a.jpg", thumb_path=None)
    chart = picture("PNG")
    await renderer.send(USER, [Say("整改前后", photos=(stored, chart))], language="zh_CN")
    text, first, second = fake.messages(USER)
    assert (text.msgtype, text.content) == ("text", "整改前后")
    assert [first.msgtype, second.msgtype] == ["image", "image"]
    assert first.media_id and fake.media(first.media_id).startswith(b"\xff\xd8")  # a JPEG
    assert second.media_id and fake.media(second.media_id) == chart


async def test_a_photo_stored_nowhere_here_costs_only_the_photo(
    renderer: WeComRenderer, fake: FakeWeComApplication
) -> None:
    away = PhotoRef(file_id="tg-only", source="photo", path="gone.jpg", thumb_path=None)
    await renderer.send(USER, [Say("现场照片", photo=away)], language="zh_CN")
    assert [m.content for m in fake.messages(USER)] == ["现场照片"]


async def test_an_ask_becomes_a_hint_with_the_words_to_type(
    renderer: WeComRenderer, fake: FakeWeComApplication
) -> None:
    ask = Ask(location="📍 Send location", replies=("Skip",))
    await renderer.send(
        USER, [Say("Where is it?", ask=ask), Say("ok", clear_ask=True)], language="en"
    )
    hint, done = fake.messages(USER)
    assert hint.content.split("\n") == [
        "Where is it?",
        "Send a location: + → Location, or type the address",
        "Or type: Skip",
    ]
    assert done.content == "ok"


async def test_an_edit_after_a_press_updates_the_pressed_card(
    renderer: WeComRenderer, fake: FakeWeComApplication
) -> None:
    await renderer.send(USER, [Say("选择任务", buttons=grid(levels(3), 1))], language="zh_CN")
    card = fake.messages(USER)[1]
    assert card.response_code
    pressed = Pressed(task_id=card.card["task_id"], response_code=card.response_code)
    page = (Button("下一页", "r:1:page:2"),)
    await renderer.send(USER, [Edit((page,))], language="zh_CN", pressed=pressed)
    await renderer.send(USER, [Edit(text="已提交")], language="zh_CN", pressed=pressed)
    paged, closed = fake.card_updates()
    assert paged["response_code"] == card.response_code
    assert paged["template_card"]["task_id"] == card.card["task_id"]
    assert [b["key"] for b in paged["template_card"]["button_list"]] == ["r:1:page:2"]
    assert closed["button"] == {"replace_name": "已完成"}
    assert fake.messages(USER)[-1].content == "已提交"  # a text cannot be edited: a new one


async def test_an_edit_that_cannot_update_its_card_sends_the_buttons_anew(
    renderer: WeComRenderer, fake: FakeWeComApplication
) -> None:
    page = (Button("下一页", "r:1:page:2"),)
    fake.fail_next(40058, path="/cgi-bin/message/update_template_card")
    await renderer.send(
        USER, [Edit((page,))], language="zh_CN", pressed=Pressed("hdold", "rc-used")
    )
    [card] = fake.messages(USER)
    assert card.button_texts == ["下一页"] and card.card["task_id"] != "hdold"


async def test_an_edit_without_a_press_is_a_mistake(renderer: WeComRenderer) -> None:
    with pytest.raises(ValueError):
        await renderer.send(USER, [Edit()], language="zh_CN")


async def test_a_document_is_sent_as_a_file_after_its_text(
    renderer: WeComRenderer, fake: FakeWeComApplication, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.xlsx"
    ledger.write_bytes(b"PK\x03\x04" + b"ledger" * 100)
    document = Document(path=ledger, filename="台账.xlsx")
    await renderer.send(USER, [Say("台账", document=document)], language="zh_CN")
    text, file = fake.messages(USER)
    assert text.content == "台账"
    assert file.msgtype == "file" and file.media_id
    assert fake.media(file.media_id) == ledger.read_bytes()


def test_a_label_is_cut_as_wecom_counts_it() -> None:
    """Ten characters, an emoji one of them: whole on its button, and not in the legend."""
    ten = "🏭 大连石化储运公司"
    assert len(ten) == 10
    assert button_text(ten) == ten and legend(((Button(ten, "r:1:site:7"),),)) == (
        [],
        ((Button(ten, "r:1:site:7"),),),
    )
    eleven = ten + "站"
    assert button_text(eleven) == "🏭 大连石化储运公…"
