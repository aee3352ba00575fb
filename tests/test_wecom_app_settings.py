"""The WeCom application's settings: all five or none, a real key, secrets kept out of sight."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings
from bot.redaction import HIDDEN, redact
from bot.sandbox.wecom.callbacks import Credentials
from bot.wecom.api import WeComClient

CREDENTIALS = Credentials()
ENVIRON = CREDENTIALS.environ("http://127.0.0.1:40123", listen="0.0.0.0:9000")


def test_the_application_is_configured_by_five_settings() -> None:
    settings = load_settings(environ=ENVIRON, dotenv_file=None)
    assert settings.wecom_app_configured
    assert settings.wecom_corp_id == CREDENTIALS.corp_id
    assert settings.wecom_agent_id == CREDENTIALS.agent_id
    assert settings.wecom_base_url == "http://127.0.0.1:40123"
    assert settings.wecom_listen_address == ("0.0.0.0", 9000)


async def test_the_client_is_made_from_the_settings() -> None:
    async with WeComClient.from_settings(load_settings(environ=ENVIRON, dotenv_file=None)) as api:
        assert (api.corp_id, api.agent_id) == (CREDENTIALS.corp_id, CREDENTIALS.agent_id)
        assert api.base_url == "http://127.0.0.1:40123"
    with pytest.raises(ConfigError, match="not configured"):
        WeComClient.from_settings(load_settings(environ={}, dotenv_file=None))


def test_without_them_there_is_no_application_and_the_default_address() -> None:
    settings = load_settings(environ={}, dotenv_file=None)
    assert not settings.wecom_app_configured
    assert settings.wecom_listen_address == ("127.0.0.1", 8088)


def test_some_but_not_all_is_one_line_naming_what_is_missing() -> None:
    partial = {k: v for k, v in ENVIRON.items() if k not in ("HDBOT_WECOM_TOKEN",)}
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=partial, dotenv_file=None)
    message = str(caught.value)
    assert "HDBOT_WECOM_TOKEN" in message and "\n" not in message
    assert "HDBOT_WECOM_SECRET" not in message


@pytest.mark.parametrize(
    "key", [CREDENTIALS.aes_key[:-1], CREDENTIALS.aes_key + "x", CREDENTIALS.aes_key[:-1] + "!"]
)
def test_an_aes_key_that_is_not_43_characters_of_base64_is_refused(key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={**ENVIRON, "HDBOT_WECOM_AES_KEY": key}, dotenv_file=None)
    assert "HDBOT_WECOM_AES_KEY" in str(caught.value)
    assert key not in str(caught.value)


@pytest.mark.parametrize("listen", ["8088", "localhost", "127.0.0.1:http", ":8088", "h:70000"])
def test_a_listen_address_is_host_and_port(listen: str) -> None:
    with pytest.raises(ConfigError, match="HDBOT_WECOM_LISTEN"):
        load_settings(environ={"HDBOT_WECOM_LISTEN": listen}, dotenv_file=None)


def test_an_ipv6_listen_address() -> None:
    settings = load_settings(environ={"HDBOT_WECOM_LISTEN": "[::1]:8088"}, dotenv_file=None)
    assert settings.wecom_listen_address == ("::1", 8088)


def test_an_agent_id_is_a_number() -> None:
    with pytest.raises(ConfigError, match="HDBOT_WECOM_AGENT_ID"):
        load_settings(environ={**ENVIRON, "HDBOT_WECOM_AGENT_ID": "abc"}, dotenv_file=None)


def test_the_secrets_stay_out_of_the_repr_and_the_log() -> None:
    settings = load_settings(environ=ENVIRON, dotenv_file=None)
    secrets = (CREDENTIALS.secret, CREDENTIALS.token, CREDENTIALS.aes_key)
    for secret in secrets:
        assert secret not in repr(settings)
        assert secret in settings.secrets
    line = f"token={CREDENTIALS.token} key={CREDENTIALS.aes_key} s={CREDENTIALS.secret}"
    assert redact(line, settings.secrets) == f"token={HIDDEN} key={HIDDEN} s={HIDDEN}"
