"""The `hdbot` command line, as an operator uses it on a new SQLite file."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import Workbook

from bot.cli import main

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
    assert "424242  admin       -" in listed.output
    gone = hdbot(env, "user", "deactivate", "424242")
    assert gone.exit_code == 0 and "deactivated: 424242" in gone.output
    assert "(deactivated)" in hdbot(env, "user", "list").output
    assert hdbot(env, "user", "deactivate", "1").exit_code == 1
