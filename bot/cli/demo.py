"""`hdbot demo`: try hdbot without Telegram — a local sandbox with a chat page in the browser
(bot/sandbox/demo/)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tempfile
from pathlib import Path

import click

from bot.cli import fail, main, settings_of, words
from bot.config import Settings


@main.command()
@click.option("--port", default=8080, show_default=True, type=int, help="The page's port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="The page's address.")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the demo's database and photos here (default: a new temporary folder).",
)
@click.pass_context
def demo(ctx: click.Context, port: int, host: str, folder: Path | None) -> None:
    """Try hdbot without Telegram: a local sandbox with a chat page in the browser.

    Makes a fresh SQLite database in a new folder, loads the example campaign (examples/,
    closing four weeks from today) with three people — an inspector of 甘井子区, a
    supervisor, a member of the city group — and hidden dangers in every state, starts a
    local Bot API server, a local WeCom and the real bot against them, and serves the chat
    page at http://HOST:PORT until Ctrl-C or SIGTERM.
    """
    settings = settings_of(ctx)
    _ = words(settings)
    if not 0 <= port <= 65535:
        fail(_("--port must be a number from 0 to 65535"), 2)
    from bot.sandbox.demo.sandbox import FolderInUse, prepare_folder

    temporary = None
    if folder is None:
        temporary = tempfile.TemporaryDirectory(prefix="hdbot-demo-")
        folder = Path(temporary.name)
    try:
        prepare_folder(folder)
    except FolderInUse:
        fail(_("{path} already holds a demo: choose another --dir", path=folder), 2)
    except OSError as err:
        fail(_("cannot use the folder {path}: {reason}", path=folder, reason=err.strerror), 2)
    try:
        asyncio.run(_demo(settings, folder, host, port))
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                temporary.cleanup()


async def _demo(settings: Settings, folder: Path, host: str, port: int) -> None:
    from bot.sandbox.demo.sandbox import PortTaken, run_demo
    from bot.sandbox.demo.seed import MissingExamples, Seeded

    _ = words(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    def ready(url: str, seeded: Seeded) -> None:
        click.echo(
            _(
                "the campaign closes on {date}; {tasks} tasks, {dangers} hidden dangers, "
                "database and photos in {path}",
                date=seeded.closing_date.isoformat(),
                tasks=seeded.tasks,
                dangers=seeded.dangers,
                path=folder,
            ),
            err=True,
        )
        click.echo(_("hdbot demo: open {url} (Ctrl-C stops it)", url=url))

    try:
        await run_demo(settings, folder=folder, host=host, port=port, stop=stop, ready=ready)
    except PortTaken as err:
        fail(_("cannot serve the demo page on {address}", address=str(err)))
    except MissingExamples as err:
        fail(
            _(
                "the example campaign is not at {path}: run the demo from a source checkout",
                path=str(err),
            )
        )
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
