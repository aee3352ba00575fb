"""`hdbot push|push-target`: scheduled pushes now, the outbox, WeCom group robots."""

from __future__ import annotations

import asyncio

import click

from bot.cli import fail, main, run_operation, settings_of, words
from bot.config import ConfigError, Settings
from storage import pushes
from storage.db import create_engine, make_sessions


@main.group()
def push() -> None:
    """Scheduled pushes: send what is due now, or see the outbox."""


@push.command("now")
@click.argument("what", type=click.Choice(["countdown", "reminders"]))
@click.option("--unit", help="Only this unit and the units below it.")
@click.option("--again", is_flag=True, help="Send even what was already sent today.")
@click.pass_context
def push_now(ctx: click.Context, what: str, unit: str | None, again: bool) -> None:
    """Queue the countdown, or the reminders and digests, now, and send them.

    Already sent today: nothing is sent again, unless --again.
    """
    settings = settings_of(ctx)
    _ = words(settings)
    queued = run_operation(
        settings,
        lambda s: pushes.enqueue_due(
            s, rules=settings.push_rules, force=what, unit=unit, again=again
        ),
    )
    if queued.total:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(queued.counts.items()))
        click.echo(_("queued {count}: {kinds}", count=queued.total, kinds=kinds))
    else:
        click.echo(
            _("nothing new to send (what was due today went out already; --again sends it again)")
        )
    try:
        settings.require_token()
    except ConfigError as err:
        if not queued.total:
            return  # nothing new, and no bot to send what may wait in the outbox
        fail(_("queued, but not sent: {reason}", reason=str(err)), 2)
    sent = asyncio.run(_send_outbox(settings))
    click.echo(_("sent {count}; see `hdbot push status` for anything left or failed", count=sent))


async def _send_outbox(settings: Settings) -> int:
    from telegram import Bot

    from bot.push.sender import drain
    from bot.transport import AiohttpRequest

    engine = create_engine(settings.db_url)
    try:
        async with Bot(
            settings.require_token(),
            base_url=settings.base_url,
            base_file_url=settings.base_file_url,
            request=AiohttpRequest(),
        ) as bot:
            return await drain(bot, make_sessions(engine), settings)
    finally:
        await engine.dispose()


@push.command("status")
@click.pass_context
def push_status(ctx: click.Context) -> None:
    """List the outbox: queued, sent and failed pushes by kind, and the latest errors."""
    settings = settings_of(ctx)
    _ = words(settings)
    summary = run_operation(settings, pushes.outbox_summary)
    if not summary.counts:
        click.echo(_("the outbox is empty"))
        return
    kinds = sorted({kind for kind, _status in summary.counts})
    statuses = ["queued", "sending", "sent", "failed", "expired"]
    titles = [_("queued"), _("sending"), _("sent"), _("failed"), _("expired")]
    click.echo(f"{_('kind'):<14}" + "".join(f"{t:>9}" for t in titles))
    for kind in kinds:
        click.echo(
            f"{kind:<14}" + "".join(f"{summary.counts.get((kind, s), 0):>9}" for s in statuses)
        )
    if summary.waiting:
        click.echo("\n" + _("retrying:"))
        for key, kind, attempts, error, when in summary.waiting:
            click.echo(
                "  "
                + _(
                    "{key} ({kind}) attempt {attempts}, next {when}Z: {error}",
                    key=key,
                    kind=kind,
                    attempts=attempts,
                    when=f"{when:%Y-%m-%d %H:%M}",
                    error=error,
                )
            )
    if summary.recent_failures:
        click.echo("\n" + _("failed:"))
        for key, kind, attempts, error in summary.recent_failures:
            click.echo(
                "  "
                + _(
                    "{key} ({kind}) after {attempts} attempts: {error}",
                    key=key,
                    kind=kind,
                    attempts=attempts,
                    error=error,
                )
            )


@main.group("push-target")
def push_target() -> None:
    """Push targets outside Telegram (WeCom group robots)."""


@push_target.command("add-wecom")
@click.option("--unit", required=True, help="The unit whose pushes the robot's group receives.")
@click.option("--key", required=True, help="The robot's webhook key (the key=… of its URL).")
@click.option(
    "--kinds",
    default="countdown,overdue",
    show_default=True,
    help="countdown, overdue and/or reports (each new report's card).",
)
@click.option("--at", "at_time", default="09:00", show_default=True, help="Time of day, HH:MM.")
@click.option("--name", default="", help="A name to recognise the group by.")
@click.pass_context
def push_target_add_wecom(
    ctx: click.Context, unit: str, key: str, kinds: str, at_time: str, name: str
) -> None:
    """Send a unit's countdown, overdue digest or new reports to a WeCom group robot."""
    settings = settings_of(ctx)
    _ = words(settings)
    target_id = run_operation(
        settings,
        lambda s: pushes.add_wecom_target(
            s, unit=unit, key=key, kinds=kinds, at_time=at_time, name=name
        ),
    )
    click.echo(
        _(
            "WeCom target {id}: {unit}, {kinds} at {time}",
            id=target_id,
            unit=unit,
            kinds=kinds,
            time=at_time,
        )
    )


@push_target.command("list")
@click.pass_context
def push_target_list(ctx: click.Context) -> None:
    """List the WeCom robots (keys shown by their last characters only)."""
    settings = settings_of(ctx)
    _ = words(settings)
    targets = run_operation(settings, pushes.list_targets)
    if not targets:
        click.echo(_("no push targets: add one with `hdbot push-target add-wecom`"))
    for t in targets:
        state = _("on") if t.active else _("off ({why})", why=t.last_error or _("removed"))
        click.echo(
            _(
                "{id}: {unit} {name} key {key}, {kinds} at {time}, {state}",
                id=t.id,
                unit=t.unit,
                name=t.name,
                key=t.key_hint,
                kinds=t.kinds,
                time=t.at_time,
                state=state,
            )
        )


@push_target.command("remove")
@click.argument("target_id", type=int)
@click.pass_context
def push_target_remove(ctx: click.Context, target_id: int) -> None:
    """Stop pushing to a WeCom robot."""
    settings = settings_of(ctx)
    _ = words(settings)
    changed = run_operation(settings, lambda s: pushes.remove_target(s, target_id=target_id))
    if changed:
        click.echo(_("push target {id} switched off", id=target_id))
    else:
        click.echo(_("push target {id} was switched off already", id=target_id))
