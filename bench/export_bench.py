"""Benchmark: export a ledger of 100,000 hidden dangers; print the time and the peak memory.

    .venv/bin/python bench/export_bench.py [--dangers 100000] [--keep DIR]

It builds a SQLite database (the campaign of examples/, a few hundred people, the dangers with
a photo, a rectification and an approval each for a third of them), then runs the export in a
fresh process and reports that process's wall time and peak resident memory (the target:
under 300 MB). The figures are printed, not asserted: this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from bot.cli.tables import read_table  # noqa: E402
from storage import campaigns, migrate, tasks, units  # noqa: E402
from storage.db import create_engine, make_sessions  # noqa: E402
from storage.models import (  # noqa: E402
    Field,
    HiddenDanger,
    Photo,
    Rectification,
    Task,
    Unit,
    User,
)

DESCRIPTION = "储罐区防火堤破损，可燃气体报警装置未按规定设置，消防通道被占用。" * 2


async def build(url: str, n: int) -> None:
    await migrate.upgrade(url)
    engine = create_engine(url)
    sessions = make_sessions(engine)
    async with sessions() as s:
        await campaigns.set_campaign(
            s, name="大连市安全生产专项整治三年行动", closing_date=date(2026, 12, 31), actor="bench"
        )
    for row in (ROOT / "examples" / "units.csv").read_text(encoding="utf-8").splitlines()[1:]:
        name, parent, kind = row.split(",")
        async with sessions() as s:
            await units.add_unit(s, name=name, parent=parent or None, kind=kind, actor="bench")
    async with sessions() as s:
        await tasks.import_tasks(s, rows=read_table(ROOT / "examples" / "tasks.csv"), actor="bench")
    rng = random.Random(7)
    async with sessions() as s:
        unit_ids = list(await s.scalars(select(Unit.id)))
        field_ids = list(await s.scalars(select(Field.id)))
        task_rows = list((await s.execute(select(Task.id, Task.unit_id))).all())
        await s.execute(
            insert(User),
            [
                {
                    "telegram_id": 10_000 + i,
                    "name": f"检查员{i}",
                    "role": "inspector",
                    "unit_id": rng.choice(unit_ids),
                    "active": True,
                    "created_at": datetime.now(UTC),
                }
                for i in range(300)
            ],
        )
        user_ids = list(await s.scalars(select(User.id)))
        await s.commit()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batch = 5000
    for first in range(0, n, batch):
        dangers, photos, rounds = [], [], []
        for i in range(first, min(n, first + batch)):
            task_id, unit_id = rng.choice(task_rows)
            created = start + timedelta(minutes=5 * i)
            closed = rng.random() < 0.35
            dangers.append(
                {
                    "id": i + 1,
                    "number": f"DL-2026-{i + 1:06d}",
                    "campaign_id": 1,
                    "kind": rng.choice(["hidden_danger"] * 8 + ["problem", "risk"]),
                    "level": rng.choice(["general"] * 5 + ["major"]),
                    "task_id": task_id,
                    "unit_id": unit_id,
                    "site": f"大连某企业{rng.randint(1, 5000)}号厂区",
                    "field_id": rng.choice(field_ids),
                    "description": DESCRIPTION,
                    "latitude": 38.9 + rng.random() / 10,
                    "longitude": 121.6 + rng.random() / 10,
                    "address": "甘井子区某路88号",
                    "deadline": (created + timedelta(days=15)).date(),
                    "status": "closed"
                    if closed
                    else rng.choice(["reported", "rectifying", "submitted"]),
                    "reporter_id": rng.choice(user_ids),
                    "responsible_id": None,
                    "created_at": created,
                    "updated_at": created,
                    "closed_at": created + timedelta(days=10) if closed else None,
                }
            )
            photos.append(
                {
                    "danger_id": i + 1,
                    "stage": "before",
                    "file_id": f"f{i}",
                    "file_unique_id": f"u{i}",
                    "sha256": f"{i:064d}",
                    "path": f"x/{i}.jpg",
                    "size": 1000,
                    "source": "photo",
                    "created_at": created,
                }
            )
            if closed:
                rounds.append(
                    {
                        "danger_id": i + 1,
                        "submitted_by_id": rng.choice(user_ids),
                        "note": "已整改",
                        "measures": {},
                        "submitted_at": created + timedelta(days=9),
                        "verdict": "approved",
                        "verified_by_id": rng.choice(user_ids),
                        "verified_at": created + timedelta(days=10),
                    }
                )
        async with sessions() as s:
            await s.execute(insert(HiddenDanger), dangers)
            await s.execute(insert(Photo), photos)
            if rounds:
                await s.execute(insert(Rectification), rounds)
            await s.commit()
    await engine.dispose()


async def export(url: str, out: Path) -> dict[str, int]:
    from bot.i18n import Translator
    from bot.views.ledger_workbook import write_ledger
    from storage.ledger import ledger_scope

    engine = create_engine(url)
    try:
        async with make_sessions(engine)() as s:
            scope = await ledger_scope(s)
            return await write_ledger(s, scope, out, Translator("zh_CN"))
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dangers", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="Build here and keep the files.")
    parser.add_argument("--export-only", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_only:  # the measured child process
        began = time.perf_counter()
        counts = asyncio.run(export(args.export_only, args.out))
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            json.dumps(
                {"seconds": time.perf_counter() - began, "peak_mb": peak_mb, "counts": counts}
            )
        )
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="hdbot-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "bench.sqlite3"
    db.unlink(missing_ok=True)
    url = f"sqlite+aiosqlite:///{db}"
    began = time.perf_counter()
    asyncio.run(build(url, args.dangers))
    print(f"built {args.dangers} hidden dangers in {time.perf_counter() - began:.1f} s")
    out = folder / "ledger.xlsx"
    child = subprocess.run(
        [sys.executable, __file__, "--export-only", url, "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    print(
        f"export: {result['seconds']:.1f} s, peak memory {result['peak_mb']:.0f} MB "
        f"(target < 300 MB), {out.stat().st_size / 1e6:.1f} MB file"
    )
    print(f"rows per sheet: {result['counts']}")


if __name__ == "__main__":
    main()
