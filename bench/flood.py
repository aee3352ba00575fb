"""Benchmark: inspectors reporting while strangers, a stranger's group and a big album flood in.

    .venv/bin/python bench/flood.py [--inspectors 20] [--reports 2] [--database URL]

hdbot runs as `hdbot run` in its own process against the fake Bot API. Twice, the same number
of inspectors go through whole /report conversations, each at a person's pace (a few seconds
to look and tap between steps), and every answer is timed: once in calm, once while
20 strangers send 5 messages a second each, a group nobody bound sends 3 commands a second, and
one more inspector sends an album of ten 12-megapixel photos as files. Printed: the inspectors'
p50/p99/max answer times in both runs, and what the flood got.

Targets (part 6): max answer time during the flood under 1 s; p99 within 1.5× of no flood.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import time
from datetime import date
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image

from bench.inbound import REPORT, at_pace
from bench.live import Sample, answered, hdbot_process, machine, seed, temp_folder, until_polling
from bot.sandbox.botapi import Chat, FakeBotAPI, Message, Person

STRANGERS = 20
STRANGER_RATE = 5.0  # messages a second, each
GROUP_RATE = 3.0  # commands a second


def big_photo(seed: int) -> bytes:
    """A 12-megapixel JPEG (4000 × 3000) with some detail, as a phone's camera makes."""
    image = Image.effect_noise((1000, 750), 40 + seed).convert("RGB").resize((4000, 3000))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


async def inspectors_report(
    people: list[Person], reports: int, think: tuple[float, float]
) -> tuple[Sample, float]:
    """Everybody reports at once, at a person's pace; every answer timed; seconds it took."""
    pace: dict[str, Sample] = {}
    started = time.monotonic()
    await asyncio.gather(*(at_pace(p, reports, think, pace, REPORT) for p in people))
    took = time.monotonic() - started
    return Sample(seconds=[t for s in pace.values() for t in s.seconds]), took


async def keep_sending(
    person: Person, texts: list[str], per_second: float, chat: Chat, stop: asyncio.Event
) -> int:
    sent = 0
    while not stop.is_set():
        person.send_text(texts[sent % len(texts)], chat=chat)
        sent += 1
        await asyncio.sleep(1 / per_second)
    return sent


async def run(
    n: int, reports: int, database: str | None, folder: Path, think: tuple[float, float]
) -> None:
    with FakeBotAPI() as server:
        inspectors = [server.user(first_name=f"Inspector{i}", language_code="en") for i in range(n)]
        photographer = server.user(first_name="Photographer", language_code="en")
        strangers = [server.user(first_name=f"Stranger{i}", language_code="en") for i in range(20)]
        their_group = server.group("Their group", members=strangers, admins=[strangers[0]])
        url = database or f"sqlite+aiosqlite:///{folder / 'hdbot.sqlite3'}"
        await seed(url, [p.id for p in [*inspectors, photographer]])
        print("making ten 12-megapixel photos …", flush=True)
        album = [big_photo(k) for k in range(10)]
        with hdbot_process(server, url, folder) as bot:
            await until_polling(server)
            calm, calm_seconds = await inspectors_report(inspectors, reports, think)

            # The photographer is at the photos step when the flood starts.
            await inspector_to_photos(photographer)
            stop = asyncio.Event()
            floods = [
                asyncio.create_task(
                    keep_sending(s, ["hello", "/report", "?"], STRANGER_RATE, s.private_chat, stop)
                )
                for s in strangers
            ]
            commands = ["/countdown", "/help", "/bind 甘井子区", "/mine"]
            floods.append(
                asyncio.create_task(
                    keep_sending(strangers[0], commands, GROUP_RATE, their_group, stop)
                )
            )
            cpu_before = bot.cpu_ns()
            album_answer = asyncio.create_task(
                answered(
                    photographer,
                    lambda: photographer.send_file_album(album),
                    lambda m: "10 of at most 10" in (m.text or ""),
                )
            )
            flooded, flood_seconds = await inspectors_report(inspectors, reports, think)
            stop.set()
            sent = sum(await asyncio.gather(*floods))
            answered_album, album_seconds = await album_answer
            cpu_ms = (bot.cpu_ns() - cpu_before) / 1e6

    print(
        f"\n{n} inspectors, {reports} whole reports each ({len(REPORT)} steps a report, "
        f"{think[0]:g}–{think[1]:g} s between steps)"
    )
    print(f"{'run':<14}{'answers':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'took s':>9}")
    for name, s, took in (("no flood", calm, calm_seconds), ("flood", flooded, flood_seconds)):
        print(
            f"{name:<14}{len(s.seconds):>8}{s.p50 * 1000:>9.0f}{s.p(0.99) * 1000:>9.0f}"
            f"{max(s.seconds) * 1000:>9.0f}{took:>9.1f}"
        )
    print(
        f"\np99 flood ÷ no flood: {flooded.p(0.99) / calm.p(0.99):.2f} (target ≤ 1.5); "
        f"max during the flood: {max(flooded.seconds) * 1000:.0f} ms (target < 1000)"
    )
    strangers_told = sum(len(s.private_chat.bot_messages) for s in strangers)
    print(
        f"the flood: {sent} messages and commands from strangers; answers to strangers "
        f"{strangers_told}, to their group {len(their_group.bot_messages)}; the album of ten "
        f"12 MP files answered once, {album_seconds:.1f} s after it was sent "
        f"({answered_album.text and answered_album.text.splitlines()[-1]}); "
        f"bot CPU during the flood {cpu_ms:.0f} ms"
    )


async def inspector_to_photos(person: Person) -> None:
    last: Message | None = None
    for name, _kind, act, expect in REPORT:
        if name == "photo":
            return
        last, _seconds = await answered(person, partial(act, person, last), expect)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inspectors", type=int, default=20)
    parser.add_argument("--reports", type=int, default=2, help="whole reports per inspector")
    parser.add_argument("--database", help="a PostgreSQL URL (default: a new SQLite file)")
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(2.0, 4.0),
        metavar=("MIN", "MAX"),
        help="seconds an inspector takes between steps",
    )
    args = parser.parse_args()
    folder = temp_folder()
    print(f"{date.today()} · {machine()}")
    think = (args.think[0], args.think[1])
    await run(args.inspectors, args.reports, args.database, folder, think)
    print(f"\nlogs and data: {folder}")


if __name__ == "__main__":
    asyncio.run(main())
