"""The ledger workbook and the statistics: sheets, headers in both languages, rows, scoping."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.i18n import Translator
from bot.views.ledger_workbook import write_ledger
from bot.views.stats_view import stats_json, stats_table, stats_text
from storage.conversation import Input, InputKind
from storage.db import Sessions
from storage.ledger import ledger_scope, statistics
from storage.permissions import Action
from storage.report import begin_report
from tests.factories import tg
from tests.world import (
    CITY_SUPERVISOR,
    FAR_INSPECTOR,
    FAR_SUPERVISOR,
    INSPECTOR,
    NOW,
    SUPERVISOR,
    Person,
    Walker,
    after_photo,
    photo,
    rectify,
    report,
    world,
)


async def report_kind(
    sessions: Sessions, kind: str, level: str, base: int, who: int = INSPECTOR
) -> str:
    w = Walker(sessions, who)
    w.update_id = 50_000 + base * 100
    async with sessions() as s:
        reply = await begin_report(s, account=tg(who), update_id=w.next_id(), kind=kind)
    assert reply.tasks is not None and reply.tasks.items
    await w.press(f"task:{reply.tasks.items[0].id}")
    await w.text(f"场所{base}")
    await w.press("field:town_gas")
    await w.text("燃气管道老化，存在泄漏风险")
    if kind == "hidden_danger":
        await w.send(Input(InputKind.PHOTO, photo=photo(base)))
    await w.press("done")  # a problem or a risk may go without photos
    await w.press("skip")
    await w.press(f"level:{level}")
    await w.press("days:7")
    done = await w.press("submit")
    assert done.submitted is not None, done.notices
    return done.submitted.number


async def populate(sessions: Sessions) -> None:
    await world(sessions)
    general = await report(sessions, photo_base=1)
    major = await report(sessions, photo_base=2, level="major")
    await report_kind(sessions, "problem", "general", 3)
    await report_kind(sessions, "risk", "orange", 4)
    await report_kind(sessions, "hidden_danger", "general", 5, who=FAR_INSPECTOR)
    wang = Person(sessions, INSPECTOR, 700_000)
    li = Person(sessions, SUPERVISOR, 800_000)
    await rectify(wang, major, [after_photo(1)], major=True)
    await li.act(major, Action.APPROVE)
    del general


async def export(sessions: Sessions, tmp_path: Path, language: str, **scope: object) -> Path:
    path = tmp_path / f"ledger-{language}.xlsx"
    async with sessions() as s:
        found = await ledger_scope(s, now=NOW, **scope)  # type: ignore[arg-type]
        await write_ledger(s, found, path, Translator(language))
    return path


async def test_workbook_sheets_headers_and_rows(sessions: Sessions, tmp_path: Path) -> None:
    await populate(sessions)
    book = load_workbook(await export(sessions, tmp_path, "zh_CN"))
    assert book.sheetnames == [
        "任务进展表",
        "突出问题清单",
        "重大隐患清单",
        "制度措施清单",
        "风险清单",
        "隐患台账",
    ]
    ledger = book["隐患台账"]
    header = [c.value for c in ledger[1]]
    assert header[:4] == ["编号", "发现时间", "单位", "地点"] and header[-2:] == ["照片", "类别"]
    rows = list(ledger.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 5  # general, major, problem, risk, and 长海县's
    by_number = {r[0]: r for r in rows}
    major = by_number["DL-2026-000002"]
    assert major[6] == "重大隐患" and major[11] == "已销号"
    assert major[13] == "李监管" and major[14] is not None  # verified by, closed at
    assert major[16] == 1 and major[17] == "隐患"  # photos, kind
    assert ledger.freeze_panes == "A2" and ledger.auto_filter.ref == "A1:R6"
    majors = list(book["重大隐患清单"].iter_rows(min_row=2, values_only=True))
    assert len(majors) == 1 and majors[0][-5] == "responsibility 已落实"
    assert len(list(book["突出问题清单"].iter_rows(min_row=2))) == 1
    risks = list(book["风险清单"].iter_rows(min_row=2, values_only=True))
    assert len(risks) == 1 and "橙色" in risks[0][5]
    tasks = list(book["任务进展表"].iter_rows(min_row=2, values_only=True))
    mu01 = next(t for t in tasks if t[0] == "MU-01")
    assert mu01[5] == date(2026, 12, 20) or isinstance(mu01[5], object)
    # Every hidden danger counted on its task (problems and risks are lists of their own).
    assert sum(t[7] for t in tasks) == 3


async def test_english_headers(sessions: Sessions, tmp_path: Path) -> None:
    await populate(sessions)
    book = load_workbook(await export(sessions, tmp_path, "en"))
    assert book.sheetnames[0] == "Task progress" and book.sheetnames[-1] == "Hidden-danger ledger"
    assert [c.value for c in book["Hidden-danger ledger"][1]][:3] == ["Number", "Found at", "Unit"]


async def test_a_district_supervisor_sees_only_the_district(
    sessions: Sessions, tmp_path: Path
) -> None:
    await populate(sessions)
    book = load_workbook(await export(sessions, tmp_path, "en", account=tg(FAR_SUPERVISOR)))
    rows = list(book["Hidden-danger ledger"].iter_rows(min_row=2, values_only=True))
    assert [r[2] for r in rows] == ["长海县"]
    tasks = {r[4] for r in book["Task progress"].iter_rows(min_row=2, values_only=True)}
    assert tasks == {"长海县"}
    city = load_workbook(await export(sessions, tmp_path, "en", account=tg(CITY_SUPERVISOR)))
    assert len(list(city["Hidden-danger ledger"].iter_rows(min_row=2))) == 5


async def test_inspectors_cannot_export(sessions: Sessions) -> None:
    await populate(sessions)
    async with sessions() as s:
        with pytest.raises(Exception, match="supervisors and administrators"):
            await ledger_scope(s, account=tg(INSPECTOR))


async def test_a_quarter_adds_the_quarter_sheet(sessions: Sessions, tmp_path: Path) -> None:
    await populate(sessions)
    path = await export(
        sessions, tmp_path, "en", date_from=date(2026, 10, 1), date_to=date(2026, 12, 31)
    )
    book = load_workbook(path)
    assert book.sheetnames[-1] == "2026 Q4 statistics"
    rows = {r[0]: r[1:] for r in book["2026 Q4 statistics"].iter_rows(min_row=2, values_only=True)}
    assert rows["甘井子区"] == (1, 0, 1, 1)  # general found/rectified, major found/rectified
    assert rows["长海县"] == (1, 0, 0, 0)
    other = load_workbook(
        await export(
            sessions, tmp_path, "en", date_from=date(2026, 11, 1), date_to=date(2026, 12, 31)
        )
    )
    assert "2026 Q4 statistics" not in other.sheetnames


async def test_statistics(sessions: Sessions) -> None:
    await populate(sessions)
    async with sessions() as s:
        scope = await ledger_scope(s, now=NOW)
        stats = await statistics(s, scope)
    # Hidden dangers only: the problem and the risk are counted in their own lists.
    assert (stats.total.found, stats.total.closed, stats.total.open) == (3, 1, 2)
    by_unit = {u.unit: u for u in stats.units}
    assert by_unit["甘井子区"].found == 2 and by_unit["甘井子区"].rate == 50
    assert by_unit["长海县"].found == 1
    assert stats.weeks[-1].found == 3 and len(stats.weeks) == 8
    data = stats_json(stats)
    assert data["total"]["rectification_rate"] == 33
    assert "甘井子区" in stats_text(Translator("zh_CN"), stats)
    assert "Avg days" in stats_table(Translator("en"), stats)
