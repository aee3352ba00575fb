"""Settings: environment, .env and TOML, read once into a frozen object."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(environ={}, dotenv_file=None)
    assert settings.timezone == "Asia/Shanghai"
    assert settings.language == "zh_CN"
    assert settings.token is None
    assert settings.db_url.startswith("sqlite+aiosqlite:///")
    assert settings.db_url.endswith("data/hdbot.sqlite3")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.token = "x"  # type: ignore[misc]


def test_environment_wins_over_dotenv_over_toml(tmp_path: Path) -> None:
    toml = tmp_path / "hdbot.toml"
    toml.write_text(
        '[hdbot]\ntoken = "from-toml"\ntimezone = "UTC"\nlanguage = "en"\n'
        'base_url = "http://127.0.0.1:8081/bot"\n'
    )
    dotenv = tmp_path / ".env"
    dotenv.write_text("HDBOT_TOKEN=from-dotenv\nHDBOT_DATA_DIR=/srv/hdbot\nOTHER=ignored\n")
    settings = load_settings(
        environ={"HDBOT_TOKEN": "from-env", "PATH": "/bin"}, config_file=toml, dotenv_file=dotenv
    )
    assert settings.token == "from-env"
    assert settings.timezone == "UTC"
    assert settings.language == "en"
    assert settings.data_dir == Path("/srv/hdbot")
    assert settings.base_url == "http://127.0.0.1:8081/bot"


def test_uppercase_keys_in_toml(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('HDBOT_DATABASE_URL = "postgresql+asyncpg://u@h/db"\n')
    settings = load_settings(environ={}, config_file=toml, dotenv_file=None)
    assert settings.db_url == "postgresql+asyncpg://u@h/db"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"HDBOT_TIMEZONE": "Moon/Crater"}, "HDBOT_TIMEZONE"),
        ({"HDBOT_LANGUAGE": "fr"}, "HDBOT_LANGUAGE"),
        ({"HDBOT_BASE_URL": "ftp://x"}, "HDBOT_BASE_URL"),
        ({"HDBOT_NUMBER_PREFIX": "D L"}, "HDBOT_NUMBER_PREFIX"),
    ],
)
def test_bad_values_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=environ, dotenv_file=None)


def test_unknown_key_in_file_is_an_error(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('tokn = "typo"\n')
    with pytest.raises(ConfigError, match="unknown setting 'tokn'"):
        load_settings(environ={}, config_file=toml, dotenv_file=None)
    broken = tmp_path / "broken.toml"
    broken.write_text("token = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(environ={}, config_file=broken, dotenv_file=None)
    with pytest.raises(ConfigError, match="not found"):
        load_settings(environ={}, config_file=tmp_path / "none.toml", dotenv_file=None)


def test_missing_token_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="HDBOT_TOKEN"):
        Settings().require_token()
