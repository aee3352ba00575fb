"""Catalogues: every message the code can send exists in both languages."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, Translator, language_for
from handlers.telegram.menu import MENU_LANGUAGES
from storage.languages import DEFAULT_LANGUAGE, LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{(\w+)\}")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Message ids found in the code right now (not the committed template)."""
    pot = tmp_path_factory.mktemp("pot") / "hdbot.pot"
    subprocess.run(
        [
            str(Path(sys.executable).with_name("pybabel")),
            "extract",
            "--mapping-file",
            "babel.cfg",
            "--keywords",
            "N_",
            "--keywords",
            "plural:1,2",
            "--output-file",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as fh:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_every_message_is_translated(extracted: set[str], language: str) -> None:
    with (LOCALES_DIR / language / "LC_MESSAGES" / "hdbot.po").open("rb") as fh:
        catalog = read_po(fh)
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0]): m.string
        for m in catalog
        if m.id and m.string and (not isinstance(m.string, tuple) or all(m.string))
    }
    missing = sorted(extracted - set(translated))
    assert not missing, f"{language} lacks translations (run `make locales-update`): {missing}"
    for msgid, text in translated.items():
        strings = text if isinstance(text, tuple) else (text,)
        for s in strings:
            assert set(PLACEHOLDER.findall(s)) == set(PLACEHOLDER.findall(msgid)), (language, msgid)


def test_language_choice() -> None:
    assert language_for(chosen=None, telegram_code="zh-hans", default="en") == "zh_CN"
    assert language_for(chosen=None, telegram_code="ZH", default="en") == "zh_CN"
    assert language_for(chosen=None, telegram_code="de", default="zh_CN") == "en"
    assert language_for(chosen=None, telegram_code=None, default="zh_CN") == "zh_CN"
    assert language_for(chosen="en", telegram_code="zh-hans", default="zh_CN") == "en"


def test_the_one_list_of_languages_is_the_catalogues_on_disk() -> None:
    """A language is added in one place: its catalogue and the list must say the same."""
    on_disk = {p.parent.parent.name for p in LOCALES_DIR.glob("*/LC_MESSAGES/hdbot.po")}
    assert on_disk == set(LANGUAGES)
    assert DEFAULT_LANGUAGE in LANGUAGES
    assert len(set(LANGUAGES.values())) == len(LANGUAGES)  # /lang tells them apart
    assert set(MENU_LANGUAGES.values()) == set(LANGUAGES)


def test_translator_formats_placeholders() -> None:
    zh = Translator("zh_CN")
    assert zh("No unit is named {name}.", name="X") == "没有名为“X”的单位。"
    assert Translator("en")("No unit is named {name}.", name="X") == "No unit is named X."


def test_catalogues_compile(tmp_path: Path) -> None:
    """pybabel's own checks (placeholders that do not match, say) pass for both languages."""
    target = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, target, ignore=shutil.ignore_patterns("*.mo"))
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("pybabel")),
            "compile",
            "--domain",
            "hdbot",
            "--directory",
            str(target),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
