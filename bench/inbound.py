"""Benchmark: many inspectors reporting at once, and what one update costs the bot process.

    .venv/bin/python bench/inbound.py [--inspectors 50] [--reports 2] [--database URL]

N inspectors each go through whole /report conversations with a photo, all at once and step
by step (every inspector sends step k, then all wait for their answers), against the fake Bot
API over HTTP, with hdbot running as `hdbot run` in its own process. Then the same number of
people send text, a button press and a command to a bare python-telegram-bot echo bot on a
fake server of its own. Printed: updates a second, the bot process's CPU milliseconds per
update by kind, p50/p99 answer times, and hdbot's CPU ÷ the bare bot's.

Targets (part 6): text, button and list command at most 1.5× the bare bot's CPU per update;
p99 answer under 100 ms for non-photo steps with 50 inspectors at once.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.live import (
    ChildBot,
    Sample,
    answered,
    bare_process,
    hdbot_process,
    machine,
    seed,
    temp_folder,
    until_polling,
)
from bot.sandbox.botapi import FakeBotAPI, Message, Person, make_jpeg

# The report, step by step: (name, kind, what the inspector does, the answer to wait for).
Act = Callable[[Person, Message | None], object]


def _press(prefix: str) -> Act:
    def act(person: Person, last: Message | None) -> object:
        assert last is not None
        label = next(t for row in last.inline_keyboard for t, _ in row if t.startswith(prefix))
        return person.press(last, label)

    return act


def _say(text: str) -> Act:
    return lambda person, _last: person.send_text(text)


def _photo(person: Person, _last: Message | None) -> object:
    return person.send_photo(make_jpeg(1280, 960, color=(person.id % 200, 80, 40)))


def _location(person: Person, _last: Message | None) -> object:
    return person.tap("📍 Send my location", location=(38.95, 121.55))


def _step(n: int) -> Callable[[Message], bool]:
    return lambda m: f"Step {n}/9" in (m.text or m.caption or "")


Step = tuple[str, str, Act, Callable[[Message], bool]]
REPORT: list[Step] = [
    ("/report", "command", _say("/report"), _step(1)),
    ("task", "button", _press("GJZ-01"), _step(2)),
    ("site", "text", _say("大连某化工有限公司"), _step(3)),
    ("field", "button", _press("✓"), _step(4)),
    ("description", "text", _say("储罐区防火堤破损，未设置可燃气体报警装置"), _step(5)),
    ("photo", "photo", _photo, lambda m: "of at most 10 photos" in (m.text or "")),
    ("done", "button", _press("✅"), _step(6)),
    ("location", "location", _location, _step(7)),
    ("level", "button", _press("General"), _step(8)),
    ("deadline", "button", _press("7 days"), lambda m: "check your report" in (m.caption or "")),
    ("submit", "button", _press("✅"), lambda m: "Submitted as" in (m.text or "")),
]
LISTS: list[Step] = [
    ("/help", "command", _say("/help"), lambda m: "/report" in (m.text or "")),
    ("/mine", "list", _say("/mine"), lambda m: bool(m.text)),
]


async def lockstep(
    people: list[Person],
    bot: ChildBot,
    act: Act,
    expect: Callable[[Message], bool],
    last: dict[int, Message | None],
    sample: Sample,
) -> None:
    """Every person does `act` at once; wait for every answer; add times and CPU to `sample`."""

    async def one(person: Person) -> None:
        answer, seconds = await answered(person, lambda: act(person, last.get(person.id)), expect)
        sample.seconds.append(seconds)
        last[person.id] = answer

    before = bot.cpu_ns()
    await asyncio.gather(*(one(p) for p in people))
    sample.cpu_ns += bot.cpu_ns() - before
    sample.updates += len(people)


@dataclass
class Results:
    cost: dict[str, Sample]  # lockstep: CPU per update by step
    pace: dict[str, Sample]  # at a person's pace: answer times by kind
    updates_per_second: float


async def at_pace(
    person: Person,
    reports: int,
    think: tuple[float, float],
    pace: dict[str, Sample],
    steps: list[Step] = REPORT + LISTS,
) -> None:
    """Whole reports as a person does them: a few seconds to look and tap between steps."""
    last: Message | None = None
    rng = random.Random(person.id)
    await asyncio.sleep(rng.uniform(0, think[1]))  # people do not start at the same instant
    for _ in range(reports):
        for _name, kind, act, expect in steps:
            last, seconds = await answered(person, partial(act, person, last), expect)
            pace.setdefault(kind, Sample()).seconds.append(seconds)
            await asyncio.sleep(rng.uniform(*think))


async def run_hdbot(
    n: int,
    reports: int,
    database: str | None,
    folder: Path,
    think: tuple[float, float],
    profile: str | None = None,
) -> Results:
    cost: dict[str, Sample] = {}
    pace: dict[str, Sample] = {}
    with FakeBotAPI() as server:
        people = [server.user(first_name=f"Inspector{i}", language_code="en") for i in range(n)]
        url = database or f"sqlite+aiosqlite:///{folder / 'hdbot.sqlite3'}"
        await seed(url, [p.id for p in people])
        with hdbot_process(server, url, folder) as bot:
            await until_polling(server)
            spy = profiler(bot, profile) if profile else None
            last: dict[int, Message | None] = {}
            await lockstep(people, bot, _say("/help"), lambda m: bool(m.text), last, Sample())
            # Cost: everybody takes each step at the same instant; the bot's CPU per step.
            for _round in range(reports):
                for name, kind, act, expect in REPORT + LISTS:
                    sample = cost.setdefault(f"{kind}:{name}", Sample())
                    await lockstep(people, bot, act, expect, last, sample)
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=60)
            # Pace: everybody at once, each at a person's pace; the answer times.
            started = time.monotonic()
            await asyncio.gather(*(at_pace(p, reports, think, pace) for p in people))
            took = time.monotonic() - started
    updates = sum(len(s.seconds) for s in pace.values())
    return Results(cost, pace, updates / took)


def profiler(bot: ChildBot, path: str) -> subprocess.Popen[bytes]:
    """py-spy sampling the bot process (raw collapsed stacks: one line per stack and count)."""
    spy = Path(sys.executable).with_name("py-spy")
    argv = [str(spy), "record", "--pid", str(bot.proc.pid), "--rate", "250", "--format", "raw"]
    return subprocess.Popen([*argv, "--output", path], stdout=subprocess.DEVNULL)


async def run_bare(n: int, rounds: int, folder: Path) -> dict[str, Sample]:
    samples = {"text": Sample(), "button": Sample(), "command": Sample()}
    with FakeBotAPI() as server:
        people = [server.user(first_name=f"Person{i}", language_code="en") for i in range(n)]
        with bare_process(server, folder) as bot:
            await until_polling(server)
            last: dict[int, Message | None] = {}
            echoed = lambda m: (m.text or "").startswith("echo")  # noqa: E731
            await lockstep(people, bot, _say("warm up"), echoed, last, Sample())
            for _ in range(rounds):
                await lockstep(
                    people, bot, _say("大连某化工有限公司"), echoed, last, samples["text"]
                )
                await lockstep(people, bot, _say("/help"), echoed, last, samples["command"])
            await lockstep(people, bot, _say("/menu"), echoed, last, Sample())
            for _ in range(rounds):
                await lockstep(people, bot, _press("Go"), echoed, last, samples["button"])
    return samples


def report(hd: Results, bare: dict[str, Sample], n: int, think: tuple[float, float]) -> None:
    floor = {
        "text": bare["text"].cpu_ms_per_update,
        "button": bare["button"].cpu_ms_per_update,
        "command": bare["command"].cpu_ms_per_update,
        "list": bare["command"].cpu_ms_per_update,
        "photo": bare["text"].cpu_ms_per_update,
        "location": bare["text"].cpu_ms_per_update,
    }
    print(f"\nCPU of the bot process per update, {n} inspectors taking each step at once")
    print(f"{'step':<22}{'updates':>8}{'CPU ms/upd':>12}{'÷ bare':>8}")
    by_kind: dict[str, Sample] = {}
    for key, s in hd.cost.items():
        kind = key.split(":", 1)[0]
        ratio = s.cpu_ms_per_update / floor[kind]
        print(f"{key:<22}{s.updates:>8}{s.cpu_ms_per_update:>12.2f}{ratio:>8.2f}")
        merged = by_kind.setdefault(kind, Sample())
        merged.cpu_ns += s.cpu_ns
        merged.updates += s.updates
    print(f"\n{'kind':<22}{'updates':>8}{'CPU ms/upd':>12}{'÷ bare':>8}{'p50 ms':>9}{'p99 ms':>9}")
    for kind, s in by_kind.items():
        times = hd.pace.get(kind, Sample())
        print(
            f"{kind:<22}{s.updates:>8}{s.cpu_ms_per_update:>12.2f}"
            f"{s.cpu_ms_per_update / floor[kind]:>8.2f}"
            f"{times.p50 * 1000:>9.0f}{times.p(0.99) * 1000:>9.0f}"
        )
    not_photo = Sample(seconds=[t for k, s in hd.pace.items() if k != "photo" for t in s.seconds])
    print(
        f"\nanswer times: {n} inspectors at once, each {think[0]:g}–{think[1]:g} s between "
        f"steps, {hd.updates_per_second:.1f} updates a second: non-photo steps "
        f"p50 {not_photo.p50 * 1000:.0f} ms, p99 {not_photo.p(0.99) * 1000:.0f} ms "
        f"(target < 100 ms)"
    )
    print("\nbare python-telegram-bot echo bot, same people:")
    for kind, s in bare.items():
        print(f"{kind:<22}{s.updates:>8}{s.cpu_ms_per_update:>12.2f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inspectors", type=int, default=50)
    parser.add_argument("--reports", type=int, default=2, help="whole reports per inspector")
    parser.add_argument("--database", help="a PostgreSQL URL (default: a new SQLite file)")
    parser.add_argument("--profile", help="record hdbot's process with py-spy into this file")
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(2.0, 4.0),
        metavar=("MIN", "MAX"),
        help="seconds a person takes between steps in the paced run",
    )
    args = parser.parse_args()
    folder = temp_folder()
    print(f"{date.today()} · {machine()}")
    think = (args.think[0], args.think[1])
    hd = await run_hdbot(args.inspectors, args.reports, args.database, folder, think, args.profile)
    bare = await run_bare(args.inspectors, args.reports * 4, folder)
    report(hd, bare, args.inspectors, think)
    print(f"\nlogs and data: {folder}")


if __name__ == "__main__":
    asyncio.run(main())
