"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, copied fresh per test."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import time_machine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.sandbox.botapi import FakeBotAPI
from storage import clock as hdbot_clock
from storage import migrate
from storage.db import Sessions, create_engine, make_sessions
from tests.timeline import NOW

# As `hdbot` does at start: durations from python-telegram-bot come as timedelta.
os.environ.setdefault("PTB_TIMEDELTA", "1")

PG_URL = os.environ.get("HDBOT_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--machine-date",
        metavar="ISO-MOMENT",
        help="Run the whole suite with the machine's clock moved to this moment (time-machine): "
        "tests read time only from hdbot's clock, so the day they run on must not matter.",
    )


def pytest_configure(config: pytest.Config) -> None:
    moment = config.getoption("--machine-date")
    if moment:
        # Before collection: a module that read the calendar at import would be caught too.
        traveller = time_machine.travel(datetime.fromisoformat(moment), tick=True)
        traveller.start()
        config.stash[_TRAVELLER] = traveller


def pytest_unconfigure(config: pytest.Config) -> None:
    traveller = config.stash.get(_TRAVELLER, None)
    if traveller is not None:
        traveller.stop()


def pytest_report_header(config: pytest.Config) -> list[str]:
    moment = config.getoption("--machine-date")
    lines = [f"machine date moved to {moment}" if moment else "machine date: the real one"]
    if _pg_missing() is not None:
        lines.append(f"!!! {_pg_missing()}: every [postgresql] test is SKIPPED !!!")
    return lines


_PG_CHECKED: list[str | None] = []


def _pg_missing() -> str | None:
    """Why PostgreSQL cannot be used (checked once), or None when it can."""
    if not _PG_CHECKED:

        async def probe() -> None:
            conn = await asyncpg.connect(
                _pg_dsn(make_url(PG_URL).database or "postgres"), timeout=5
            )
            await conn.close()

        try:
            asyncio.run(probe())
            _PG_CHECKED.append(None)
        except (OSError, asyncpg.PostgresError, TimeoutError) as err:
            where = make_url(PG_URL).render_as_string(hide_password=True)
            _PG_CHECKED.append(f"no PostgreSQL at {where} ({type(err).__name__})")
    return _PG_CHECKED[0]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _PG_CHECKED and _PG_CHECKED[0] is not None:
        terminalreporter.write_line(
            f"!!! {_PG_CHECKED[0]}: every [postgresql] test was skipped !!!", red=True
        )


_TRAVELLER = pytest.StashKey["time_machine.travel"]()


@pytest.fixture(autouse=True)
def clock() -> Iterator[hdbot_clock.ShiftedClock]:
    """Every test starts at the same moment of the test calendar (tests/timeline.py)."""
    shifted = hdbot_clock.ShiftedClock(NOW)
    with hdbot_clock.installed(shifted):
        yield shifted


def _pg_dsn(database: str) -> str:
    url = make_url(PG_URL).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(_pg_dsn(make_url(PG_URL).database or "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once; tests get copies."""
    path = tmp_path_factory.mktemp("template") / "hdbot.sqlite3"
    asyncio.run(migrate.upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A PostgreSQL database migrated to head once; tests get copies made from it."""
    name = f"hdbot_tpl_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    asyncio.run(migrate.upgrade(url))
    yield name
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, migrated database on each backend."""
    if request.param == "sqlite":
        target = tmp_path / "hdbot.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    yield from _fresh_pg(request)


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh migrated PostgreSQL database, for tests of several processes on one database."""
    yield from _fresh_pg(request)


def _fresh_pg(request: pytest.FixtureRequest) -> Iterator[str]:
    missing = _pg_missing()
    if missing is not None:
        pytest.skip(missing)
    template = request.getfixturevalue("pg_template")
    name = f"hdbot_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh migrated SQLite database, for tests that need only the embedded default."""
    target = tmp_path / "hdbot.sqlite3"
    shutil.copy(sqlite_template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> Sessions:
    return make_sessions(engine)


@pytest.fixture
def server() -> Iterator[FakeBotAPI]:
    """A fake Telegram Bot API server for the end-to-end tests (a module may shape its own)."""
    with FakeBotAPI() as fake:
        yield fake
