"""Settings, read once at the entry point into one frozen object and passed down."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from bot.wecom.crypto import aes_key
from storage.languages import DEFAULT_LANGUAGE, LANGUAGES
from storage.pushes import PushRules

ENV_PREFIX = "HDBOT_"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything hdbot reads from its environment."""

    token: str | None = field(default=None, repr=False)
    database_url: str | None = None
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    timezone: str = "Asia/Shanghai"
    language: str = DEFAULT_LANGUAGE
    data_dir: Path = Path("data")
    wecom_base_url: str = "https://qyapi.weixin.qq.com"
    # The WeCom self-built application (自建应用): served when all five are set.
    wecom_corp_id: str | None = None
    wecom_agent_id: int | None = None
    wecom_secret: str | None = field(default=None, repr=False)
    wecom_token: str | None = field(default=None, repr=False)
    wecom_aes_key: str | None = field(default=None, repr=False)
    # Where its callback listens (host:port); a proxy in front gives it WeCom's HTTPS address.
    wecom_listen: str = "127.0.0.1:8088"
    bot_username: str | None = None
    number_prefix: str = "DL"
    webhook_secret: str | None = field(default=None, repr=False)
    # Pushes: how late a missed push may still go out, when people are reminded, when an
    # overdue hidden danger goes up to the groups of the unit above, how fast pushes go.
    catch_up_minutes: int = 120
    reminder_time: str = "09:00"
    escalate_days: int = 7
    escalate_days_major: int = 3
    # Telegram allows about 30 a second in all: leave room for the answers to people.
    push_rate: float = 20.0
    # The campaign's area (lat_min, lon_min, lat_max, lon_max); a report outside it is flagged.
    area: str = "38.5,120.5,40.5,123.8"
    # The most a person may upload a day (photos and image files), in MB.
    photo_mb_per_day: int = 500
    # For tests and demos only: start hdbot's clock at this moment (ISO 8601; without an
    # offset, in `timezone`) instead of the machine's. Empty in production.
    clock_start: str | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def db_url(self) -> str:
        """The database URL, defaulting to a SQLite file under the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'hdbot.sqlite3').resolve()}"

    @property
    def area_box(self) -> tuple[float, float, float, float] | None:
        """The area as four floats, or None when it is switched off (empty)."""
        if not self.area.strip():
            return None
        south, west, north, east = (float(v) for v in self.area.split(","))
        return south, west, north, east

    @property
    def push_rules(self) -> PushRules:
        return PushRules(
            catch_up=timedelta(minutes=self.catch_up_minutes),
            reminder_time=self.reminder_time,
            escalate_after_days=self.escalate_days,
            escalate_after_days_major=self.escalate_days_major,
        )

    @property
    def clock_start_at(self) -> datetime | None:
        """The moment the clock starts at, aware, or None for the machine's clock."""
        if not self.clock_start:
            return None
        moment = datetime.fromisoformat(self.clock_start)
        return moment if moment.tzinfo else moment.replace(tzinfo=self.tz)

    @property
    def photo_dir(self) -> Path:
        return self.data_dir / "photos"

    @property
    def wecom_app_configured(self) -> bool:
        """Whether the WeCom application front is set up (all five of its settings given)."""
        return all(getattr(self, name) for name in _WECOM_APP)

    @property
    def wecom_listen_address(self) -> tuple[str, int]:
        """The callback's host and port."""
        return _host_port(self.wecom_listen)

    @property
    def secrets(self) -> list[str]:
        """What must never appear in a log line or a message: tokens, secrets, keys."""
        token = self.token or ""
        # The part after the colon is the secret; the bot's id before it is public.
        known = (token, token.partition(":")[2], self.webhook_secret)
        return [s for s in (*known, self.wecom_secret, self.wecom_token, self.wecom_aes_key) if s]

    def require_token(self) -> str:
        """Return the bot token or fail with the name of the variable to set."""
        if not self.token:
            raise ConfigError(f"{ENV_PREFIX}TOKEN is not set: give the bot token from @BotFather")
        return self.token


_KEYS = {f.name for f in fields(Settings)}
_INTS = {
    "catch_up_minutes",
    "escalate_days",
    "escalate_days_major",
    "photo_mb_per_day",
    "wecom_agent_id",
}
# The WeCom application's settings: all or none.
_WECOM_APP = ("wecom_corp_id", "wecom_agent_id", "wecom_secret", "wecom_token", "wecom_aes_key")
_FLOATS = {"push_rate"}


def _normalise(raw: Mapping[str, object], source: str) -> dict[str, object]:
    """Map HDBOT_X / x keys to field names, rejecting unknown keys from files."""
    out: dict[str, object] = {}
    for key, value in raw.items():
        name = key.lower()
        if name.startswith(ENV_PREFIX.lower()):
            name = name[len(ENV_PREFIX) :]
        if name not in _KEYS:
            if source != "environment":
                raise ConfigError(f"{source}: unknown setting {key!r}")
            continue
        if value is None or value == "":
            continue
        out[name] = value
    return out


def load_settings(
    *,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    dotenv_file: Path | None = Path(".env"),
) -> Settings:
    """Read settings: the TOML file, then a .env file, then the environment (last wins)."""
    environ = os.environ if environ is None else environ
    merged: dict[str, object] = {}
    if config_file is not None:
        try:
            with open(config_file, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {config_file}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_file}: not valid TOML: {exc}") from exc
        section = data.get("hdbot", data)
        if not isinstance(section, dict):
            raise ConfigError(f"{config_file}: [hdbot] must be a table")
        merged.update(_normalise(section, str(config_file)))
    if dotenv_file is not None and dotenv_file.is_file():
        dot = {k: v for k, v in dotenv_values(dotenv_file).items() if k.startswith(ENV_PREFIX)}
        merged.update(_normalise(dot, str(dotenv_file)))
    merged.update(
        _normalise({k: v for k, v in environ.items() if k.startswith(ENV_PREFIX)}, "environment")
    )
    return _validated(replace(Settings(), **_coerce(merged)))


def _coerce(values: dict[str, object]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name == "data_dir":
            out[name] = Path(str(value)).expanduser()
        elif name in _INTS or name in _FLOATS:
            kind = int if name in _INTS else float
            try:
                out[name] = kind(str(value).strip())
            except ValueError as exc:
                raise ConfigError(f"{ENV_PREFIX}{name.upper()}: {value!r} is not a number") from exc
        else:
            out[name] = str(value).strip()
    return out


def _validated(settings: Settings) -> Settings:
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{ENV_PREFIX}TIMEZONE: unknown time zone {settings.timezone!r}") from exc
    if settings.language not in LANGUAGES:
        raise ConfigError(
            f"{ENV_PREFIX}LANGUAGE: {settings.language!r} is not one of {', '.join(LANGUAGES)}"
        )
    for name in ("base_url", "base_file_url", "wecom_base_url"):
        value = getattr(settings, name)
        if not value.startswith(("http://", "https://")):
            raise ConfigError(f"{ENV_PREFIX}{name.upper()}: {value!r} is not an http(s) URL")
    if settings.area.strip():
        try:
            south, west, north, east = (float(v) for v in settings.area.split(","))
        except ValueError as exc:
            raise ConfigError(
                f"{ENV_PREFIX}AREA: give lat_min,lon_min,lat_max,lon_max, not {settings.area!r}"
            ) from exc
        if not (-90 <= south < north <= 90 and -180 <= west < east <= 180):
            raise ConfigError(f"{ENV_PREFIX}AREA: {settings.area!r} is not a box on Earth")
    try:
        settings.clock_start_at  # noqa: B018 (parsing is the check)
    except ValueError as exc:
        raise ConfigError(
            f"{ENV_PREFIX}CLOCK_START: give an ISO 8601 moment, not {settings.clock_start!r}"
        ) from exc
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", settings.reminder_time):
        raise ConfigError(f"{ENV_PREFIX}REMINDER_TIME: give HH:MM, not {settings.reminder_time!r}")
    if not (0 < settings.catch_up_minutes <= 24 * 60):
        raise ConfigError(f"{ENV_PREFIX}CATCH_UP_MINUTES: between 1 and 1440")
    if settings.escalate_days < 0 or settings.escalate_days_major < 0:
        raise ConfigError(f"{ENV_PREFIX}ESCALATE_DAYS: not negative")
    if settings.photo_mb_per_day < 1:
        raise ConfigError(f"{ENV_PREFIX}PHOTO_MB_PER_DAY: at least 1")
    if not (0 < settings.push_rate <= 30):
        raise ConfigError(f"{ENV_PREFIX}PUSH_RATE: between 0 and 30 messages a second")
    if not settings.number_prefix.isalnum():
        raise ConfigError(f"{ENV_PREFIX}NUMBER_PREFIX: use letters and digits only")
    _validate_wecom_app(settings)
    return settings


def _validate_wecom_app(settings: Settings) -> None:
    given = [name for name in _WECOM_APP if getattr(settings, name)]
    if given and len(given) < len(_WECOM_APP):
        missing = ", ".join(f"{ENV_PREFIX}{n.upper()}" for n in _WECOM_APP if n not in given)
        raise ConfigError(f"the WeCom application needs all five settings; missing {missing}")
    if settings.wecom_aes_key:
        try:
            aes_key(settings.wecom_aes_key)
        except ValueError as exc:
            # Never the key itself: it is a secret, and this line goes to the terminal.
            raise ConfigError(f"{ENV_PREFIX}WECOM_AES_KEY: {exc}") from exc
    try:
        settings.wecom_listen_address  # noqa: B018 (parsing is the check)
    except ValueError as exc:
        raise ConfigError(f"{ENV_PREFIX}WECOM_LISTEN: {exc}") from exc


def _host_port(listen: str) -> tuple[str, int]:
    """Split host:port ([v6]:port for IPv6), or raise ValueError."""
    host, colon, port = listen.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"give host:port, such as 127.0.0.1:8088, not {listen!r}")
    return host, int(port)
