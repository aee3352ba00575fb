"""The `hdbot` command line, as an operator uses it on a new SQLite file."""

from __future__ import annotations

import asyncio
import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import Workbook

from bot.cli import main
from bot.config import Settings
from bot.redaction import redact
from bot.sandbox.botapi import FakeBotAPI
from storage import tasks
from storage.db import create_engine, make_sessions
from tests.factories import task_row
from tests.world import INSPECTOR, OTHER_INSPECTOR, register, report

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "HDBOT_DATA_DIR": str(tmp_path / "data"),
        "HDBOT_LANGUAGE": "en",
        "HDBOT_DATABASE_URL": "",
        "HDBOT_TOKEN": "",
        "HDBOT_BOT_USERNAME": "",
    }


def hdbot(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def load_examples(env: dict[str, str]) -> None:
    assert hdbot(env, "db", "upgrade").exit_code == 0
    result = hdbot(
        env,
        "campaign",
        "set",
        "--name",
        "大连市安全生产专项整治三年行动",
        "--closing-date",
        "2026-12-31",
    )
    assert result.exit_code == 0, result.output
    with (EXAMPLES / "units.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            args = ["unit", "add", row["name"], "--kind", row["kind"]]
            if row["parent"]:
                args += ["--parent", row["parent"]]
            result = hdbot(env, *args)
            assert result.exit_code == 0, result.output


def test_commands_before_db_upgrade_say_what_to_do(env: dict[str, str]) -> None:
    result = hdbot(env, "unit", "list")
    assert result.exit_code == 1
    assert "hdbot db upgrade" in result.output


def test_examples_load_and_import_twice_leaves_the_same_rows(env: dict[str, str]) -> None:
    load_examples(env)
    listing = hdbot(env, "unit", "list")
    assert listing.output.splitlines()[0] == "大连市 (region)"
    assert "  甘井子区 (region)" in listing.output
    first = hdbot(env, "import-tasks", str(EXAMPLES / "tasks.csv"))
    assert first.exit_code == 0, first.output
    assert "76 added" in first.output
    second = hdbot(env, "import-tasks", str(EXAMPLES / "tasks.csv"))
    assert second.exit_code == 0
    assert "0 added, 0 updated, 76 unchanged" in second.output


def test_bad_task_file_imports_nothing_and_names_every_bad_row(
    env: dict[str, str], tmp_path: Path
) -> None:
    load_examples(env)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,title,source,field,unit,due_date\n"
        "A-1,好任务,municipal,construction,庄河市,2026-12-01\n"
        "A-2,坏单位,municipal,construction,不存在,2026-12-01\n"
        "A-3,坏日期,municipal,construction,庄河市,someday\n",
        encoding="utf-8",
    )
    result = hdbot(env, "import-tasks", str(bad))
    assert result.exit_code == 1
    assert "2 bad rows; nothing was imported." in result.output
    assert "line 3: unknown unit 不存在" in result.output
    assert "line 4: due date someday" in result.output
    good = tmp_path / "good.csv"
    good.write_text(
        bad.read_text(encoding="utf-8").splitlines()[0] + "\n" + "A-1,好任务,municipal,"
        "construction,庄河市,2026-12-01\n",
        encoding="utf-8",
    )
    assert "1 added" in hdbot(env, "import-tasks", str(good)).output


def test_import_xlsx_and_gbk_csv(env: dict[str, str], tmp_path: Path) -> None:
    load_examples(env)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["编号", "任务名称", "来源", "领域", "责任单位", "完成时限"])
    from datetime import datetime

    sheet.append(["X-1", "燃气管网隐患排查", "市级", "城镇燃气", "长海县", datetime(2026, 12, 20)])
    sheet.append(["X-2", "渔船安全检查", "省级", "fishing_vessels", "长海县", "2027-01-10"])
    path = tmp_path / "tasks.xlsx"
    book.save(path)
    result = hdbot(env, "import-tasks", str(path))
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(
        "code,title,source,field,unit,due_date\nX-3,消防通道整治,市,消防,长海县,2026/12/9\n".encode(
            "gb18030"
        )
    )
    assert "1 added" in hdbot(env, "import-tasks", str(gbk)).output


def test_import_refuses_other_files(env: dict[str, str], tmp_path: Path) -> None:
    load_examples(env)
    other = tmp_path / "tasks.txt"
    other.write_text("hello")
    result = hdbot(env, "import-tasks", str(other))
    assert result.exit_code == 1 and "use a .csv or .xlsx file" in result.output
    assert hdbot(env, "import-tasks", str(tmp_path / "missing.csv")).exit_code == 1


def test_invite_prints_code_and_deep_link(env: dict[str, str]) -> None:
    load_examples(env)
    result = hdbot(env, "invite", "--role", "inspector", "--unit", "甘井子区", "--uses", "5")
    assert result.exit_code == 0, result.output
    code = result.output.splitlines()[0].removeprefix("code: ")
    assert len(code) >= 16
    assert "https://t.me/<bot>?start=" + code in result.output
    named = hdbot({**env, "HDBOT_BOT_USERNAME": "dalian_hd_bot"}, "invite", "--role", "admin")
    assert "https://t.me/dalian_hd_bot?start=" in named.output
    missing_unit = hdbot(env, "invite", "--role", "supervisor")
    assert missing_unit.exit_code == 1 and "needs a unit" in missing_unit.output
    unknown = hdbot(env, "invite", "--role", "supervisor", "--unit", "火星")
    assert unknown.exit_code == 1 and "No unit is named 火星" in unknown.output
    assert hdbot(env, "invite", "--role", "mayor", "--unit", "甘井子区").exit_code == 2


def test_admin_add_and_bad_input(env: dict[str, str]) -> None:
    load_examples(env)
    assert "added admin: 424242" in hdbot(env, "admin", "add", "424242").output
    assert "already admin" in hdbot(env, "admin", "add", "424242").output
    assert hdbot(env, "admin", "add", "not-a-number").exit_code == 2
    assert hdbot(env, "campaign", "set", "--name", "x", "--closing-date", "31/12").exit_code == 2
    bad_kind = hdbot(env, "unit", "add", "某局", "--kind", "ministry")
    assert bad_kind.exit_code == 2


def test_cli_speaks_chinese_by_default(env: dict[str, str]) -> None:
    load_examples(env)
    result = hdbot(
        {**env, "HDBOT_LANGUAGE": "zh_CN"}, "invite", "--role", "inspector", "--unit", "无"
    )
    assert result.exit_code == 1 and "没有名为“无”的单位" in result.output


def test_run_without_token_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "hdbot: HDBOT_TOKEN is not set: give the bot token from @BotFather"
    ]


def test_bad_config_file_is_reported(env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "hdbot.toml"
    config.write_text('timezone = "Nowhere/City"\n')
    result = hdbot(env, "--config", str(config), "unit", "list")
    assert result.exit_code == 2
    assert "unknown time zone" in result.output


def test_short_rows_are_reported_not_crashed_on(env: dict[str, str], tmp_path: Path) -> None:
    load_examples(env)
    short = tmp_path / "short.csv"
    short.write_text(
        "code,title,source,field,unit,due_date\n"
        "B-1,只有标题\n"
        "B-2,完整任务,municipal,construction,庄河市,2026-12-01\n"
        "B-3,缺日期,municipal,construction,庄河市\n",
        encoding="utf-8",
    )
    result = hdbot(env, "import-tasks", str(short))
    assert result.exit_code == 1, result.output
    assert "line 2: unknown source" in result.output
    assert "line 4: due date" in result.output
    assert "missing columns" not in result.output


def test_push_targets_listed_without_their_keys_and_removed(env: dict[str, str]) -> None:
    load_examples(env)
    key = "abcdef12-3456-7890-abcd-ef1234567890"
    added = hdbot(
        env, "push-target", "add-wecom", "--unit", "甘井子区", "--key", key, "--name", "区安委办"
    )
    assert added.exit_code == 0, added.output
    listed = hdbot(env, "push-target", "list")
    assert "1: 甘井子区 区安委办 key …7890, countdown,overdue at 09:00, on" in listed.output
    assert key not in listed.output
    assert hdbot(env, "push-target", "remove", "1").exit_code == 0
    assert "off (removed)" in hdbot(env, "push-target", "list").output
    missing = hdbot(env, "push-target", "remove", "9")
    assert missing.exit_code == 1 and "No push target 9." in missing.output


def test_revoke_an_invite_and_deactivate_a_person(env: dict[str, str]) -> None:
    load_examples(env)
    made = hdbot(env, "invite", "--role", "inspector", "--unit", "甘井子区")
    code = made.output.splitlines()[0].removeprefix("code: ")
    assert "revoked: inspector invite for 甘井子区" in hdbot(env, "revoke-invite", code).output
    assert hdbot(env, "revoke-invite", "nope").exit_code == 1
    assert hdbot(env, "admin", "add", "424242").exit_code == 0
    listed = hdbot(env, "user", "list")
    assert "424242  administrator  -" in listed.output
    gone = hdbot(env, "user", "deactivate", "424242")
    assert gone.exit_code == 0 and "deactivated: 424242" in gone.output
    assert "(deactivated)" in hdbot(env, "user", "list").output
    assert hdbot(env, "user", "deactivate", "1").exit_code == 1


def test_wecom_people_on_the_command_line(env: dict[str, str]) -> None:
    load_examples(env)
    added = hdbot(env, "admin", "add", "--wecom", "zhangsan")
    assert added.exit_code == 0 and "added admin: wecom:zhangsan" in added.output
    both = hdbot(env, "admin", "add", "424242", "--wecom", "zhangsan")
    assert both.exit_code == 2 and "not both" in both.output
    assert hdbot(env, "admin", "add").exit_code == 2
    bad = hdbot(env, "admin", "add", "--wecom", "张 三")
    assert bad.exit_code == 1 and "A WeCom user id is 1–64 letters" in bad.output
    assert hdbot(env, "admin", "add", "424242").exit_code == 0
    linked = hdbot(env, "user", "link", "424242", "--wecom", "lisi")
    assert linked.exit_code == 0 and "linked: 424242 wecom:lisi" in linked.output
    assert (
        "already linked: 424242 wecom:lisi"
        in hdbot(env, "user", "link", "424242", "--wecom", "lisi").output
    )
    listed = hdbot(env, "user", "list").output
    assert "424242 wecom:lisi  administrator  -" in listed
    assert "wecom:zhangsan  administrator  -" in listed
    gone = hdbot(env, "user", "deactivate", "--wecom", "zhangsan")
    assert gone.exit_code == 0 and "deactivated: wecom:zhangsan" in gone.output
    back = hdbot(env, "user", "activate", "--wecom", "zhangsan")
    assert back.exit_code == 0 and "activated: wecom:zhangsan" in back.output
    nobody = hdbot(env, "user", "activate", "--wecom", "nobody")
    assert (
        nobody.exit_code == 1 and "Nobody is registered with WeCom user id nobody." in nobody.output
    )
    taken = hdbot(env, "user", "link", "999", "--wecom", "lisi")
    assert taken.exit_code == 1 and "is already linked to 424242" in taken.output
    other = hdbot(env, "user", "link", "424242", "--wecom", "wangwu")
    assert other.exit_code == 1 and "is already linked to wecom:lisi" in other.output
    zh = hdbot({**env, "HDBOT_LANGUAGE": "zh_CN"}, "user", "link", "424242", "--wecom", "lisi")
    assert zh.output.startswith("此前已关联：424242 wecom:lisi")


# --- part 7: one line, in the CLI's language, "already" when nothing changes ---------------------


def test_cli_lines_follow_hdbot_language(env: dict[str, str]) -> None:
    zh = {**env, "HDBOT_LANGUAGE": "zh_CN"}
    assert "已在版本" in hdbot(zh, "db", "upgrade").output
    hdbot(zh, "campaign", "set", "--name", "三年行动", "--closing-date", "2026-12-31")
    added = hdbot(zh, "unit", "add", "大连市")
    assert added.output.strip() == "已添加：大连市（地区）"
    assert hdbot(zh, "unit", "add", "大连市").output.strip() == "已存在：大连市（地区）"
    refused = hdbot(zh, "unit", "add", "沈阳市")
    assert refused.exit_code == 1 and "已是最高一级单位" in refused.output
    assert "推送队列为空" in hdbot(zh, "push", "status").output


def test_repeating_a_change_says_already(env: dict[str, str]) -> None:
    load_examples(env)
    code = hdbot(env, "invite", "--role", "inspector", "--unit", "甘井子区").output.split()[1]
    assert hdbot(env, "revoke-invite", code).output.startswith("revoked:")
    assert hdbot(env, "revoke-invite", code).output.startswith("already revoked:")
    hdbot(env, "admin", "add", "424242")
    assert hdbot(env, "user", "deactivate", "424242").output.startswith("deactivated:")
    assert hdbot(env, "user", "deactivate", "424242").output.startswith("already deactivated:")
    assert hdbot(env, "user", "activate", "424242").output.startswith("activated:")
    assert hdbot(env, "user", "activate", "424242").output.startswith("already active:")
    hdbot(env, "push-target", "add-wecom", "--unit", "甘井子区", "--key", "k" * 36)
    assert "switched off" in hdbot(env, "push-target", "remove", "1").output
    assert "switched off already" in hdbot(env, "push-target", "remove", "1").output


def test_push_now_with_nothing_new_does_not_say_queued(env: dict[str, str]) -> None:
    load_examples(env)
    result = hdbot(env, "push", "now", "reminders")
    assert result.exit_code == 0 and "queued" not in result.output
    assert result.output.startswith("nothing new to send")


@pytest.mark.parametrize(
    "command",
    [
        ["unit", "list"],
        ["campaign", "show"],
        ["user", "list"],
        ["task", "list"],
        ["stats"],
        ["push", "status"],
        ["push-target", "list"],
        ["db", "current"],
    ],
)
def test_reading_a_missing_database_does_not_create_it(
    env: dict[str, str], command: list[str]
) -> None:
    result = hdbot(env, *command)
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "hdbot db upgrade" in result.output
    assert not (Path(env["HDBOT_DATA_DIR"]) / "hdbot.sqlite3").exists()


def test_task_list_shows_the_imported_tasks(env: dict[str, str]) -> None:
    load_examples(env)
    hdbot(env, "import-tasks", str(EXAMPLES / "tasks.csv"))
    listed = hdbot(env, "task", "list", "--unit", "长海县")
    rows = listed.output.strip().splitlines()
    assert rows[-1].endswith("tasks") and len(rows) > 2
    assert all("长海县" in row for row in rows[:-1])
    data = json.loads(hdbot(env, "task", "list", "--json").output)
    assert len(data) == 76 and {"code", "title", "unit", "due_date", "status"} <= set(data[0])


def test_stats_with_nothing_found_says_a_dash_and_lists_every_unit(env: dict[str, str]) -> None:
    load_examples(env)
    table = hdbot(env, "stats").output
    assert "100%" not in table and "—" in table
    for unit in ("甘井子区", "庄河市", "长海县", "市消防救援支队"):
        assert unit in table


def test_unknown_schema_revision_is_one_line(env: dict[str, str]) -> None:
    result = hdbot(env, "db", "upgrade", "9999")
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "no schema revision 9999" in result.output


def test_a_cell_over_128_kb_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    load_examples(env)
    big = tmp_path / "big.csv"
    big.write_text(
        "code,title,source,field,unit,due_date\n"
        f'A-1,"{"长" * 140_000}",municipal,construction,庄河市,2026-12-01\n',
        encoding="utf-8",
    )
    result = hdbot(env, "import-tasks", str(big))
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "line 2: a cell is longer than 128 KB" in result.output


def test_deactivating_someone_who_holds_dangers_needs_a_handover(env: dict[str, str]) -> None:
    load_examples(env)
    url = f"sqlite+aiosqlite:///{Path(env['HDBOT_DATA_DIR']) / 'hdbot.sqlite3'}"
    asyncio.run(_one_report(url))
    refused = hdbot(env, "user", "deactivate", str(INSPECTOR))
    assert refused.exit_code == 1 and "still answers for 1 open hidden danger" in refused.output
    moved = hdbot(env, "user", "deactivate", str(INSPECTOR), "--handover-to", str(OTHER_INSPECTOR))
    assert moved.exit_code == 0, moved.output
    assert "handed over 1: DL-2026-000001" in moved.output


async def _one_report(url: str) -> None:
    engine = create_engine(url)
    sessions = make_sessions(engine)
    try:
        async with sessions() as s:
            await tasks.import_tasks(
                s,
                rows=[task_row(2, "MU-01"), task_row(3, "MU-03", unit="长海县")],
                actor="t",
            )
        for telegram_id in (INSPECTOR, OTHER_INSPECTOR):
            await register(sessions, telegram_id, "inspector", "甘井子区")
        await report(sessions)
    finally:
        await engine.dispose()


def test_a_refused_token_or_an_unreachable_api_is_one_line_without_the_token(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert hdbot(env, "db", "upgrade").exit_code == 0
    token = "123456789:AAFakeTokenThatTelegramWouldRefuse0123456"
    with FakeBotAPI() as server:
        for base, code in ((server.base_url, 2), ("http://127.0.0.1:9/bot", 1)):
            proc = subprocess.run(
                [sys.executable, "-m", "bot.cli", "-v", "run"],
                env={
                    **env,
                    "PATH": "/usr/bin:/bin",
                    "HDBOT_TOKEN": token,
                    "HDBOT_BASE_URL": base,
                    "HDBOT_BASE_FILE_URL": base.replace("/bot", "/file/bot"),
                },
                capture_output=True,
                text=True,
                timeout=60,
                cwd=tmp_path,
            )
            assert proc.returncode == code, proc.stderr
            assert token not in proc.stderr + proc.stdout
            assert token.split(":")[1] not in proc.stderr + proc.stdout
            assert proc.stderr.strip().splitlines()[-1].startswith("hdbot: "), proc.stderr
            assert "Traceback" not in proc.stderr


def test_settings_never_show_their_secrets() -> None:
    secret = Settings(token="1:" + "s" * 35, webhook_secret="w" * 20)
    assert "s" * 35 not in repr(secret) and "w" * 20 not in repr(secret)
    line = redact(
        f"POST https://api.telegram.org/bot1:{'s' * 35}/getMe failed; "
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abcdef12-3456 too",
        secret.secrets,
    )
    assert "s" * 35 not in line and "abcdef12-3456" not in line


def test_the_webhook_secret_is_not_a_command_line_option(env: dict[str, str]) -> None:
    result = hdbot(env, "run", "--secret-token", "x" * 20)
    assert result.exit_code == 2 and "No such option" in result.output


def test_the_lock_file_pins_every_dependency_with_hashes() -> None:
    lock = (Path(__file__).resolve().parent.parent / "requirements.lock").read_text()
    pins = dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==([^\s\\]+)", lock, re.M))
    blocks = re.split(r"\n(?=[a-z0-9])", lock.split("\n\n", 1)[1] if "\n\n" in lock else lock)
    assert all("--hash=sha256:" in block for block in blocks if "==" in block)
    for name in ("python-telegram-bot", "sqlalchemy", "aiohttp", "defusedxml", "pytest"):
        assert name in pins, name
    version = lambda name: tuple(int(p) for p in re.findall(r"\d+", pins[name])[:3])  # noqa: E731
    assert version("tornado") >= (6, 5) and version("aiohttp") >= (3, 12, 14)
    assert version("h11") >= (0, 16) and version("pillow") >= (11, 3)
