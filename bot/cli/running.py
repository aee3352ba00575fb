"""`hdbot run`: check the token and the Bot API, then serve (long polling or a webhook), and the
WeCom application's callback beside it when that application is configured; without a token,
the WeCom application alone (bot/wecom_alone.py)."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlparse

import click
from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.cli import ensure_data_dir, fail, main, need_database, safe_url, settings_of, words
from bot.config import ConfigError, Settings
from bot.redaction import redact
from bot.transport import AiohttpRequest
from bot.wecom.callback import CALLBACK_PATH
from bot.wecom_serving import ListenFailed
from storage.db import create_engine, make_sessions
from storage.turns import PollerTurn

WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{16,256}")


@main.command()
@click.option(
    "--webhook-url",
    help="Telegram: receive updates by webhook at this public URL instead of polling.",
)
@click.option("--listen", default="127.0.0.1", show_default=True, help="Webhook: address to bind.")
@click.option("--port", default=8443, show_default=True, type=int, help="Webhook: port to bind.")
@click.pass_context
def run(ctx: click.Context, webhook_url: str | None, listen: str, port: int) -> None:
    """Serve every configured front: Telegram, the WeCom application, or both.

    Telegram when HDBOT_TOKEN is set (long polling, or a webhook with --webhook-url); the
    WeCom application when HDBOT_WECOM_CORP_ID, _AGENT_ID, _SECRET, _TOKEN and _AES_KEY are
    set, its callback on HDBOT_WECOM_LISTEN at /wecom/callback. Without HDBOT_TOKEN the WeCom
    application runs alone, scheduled pushes included (Telegram's wait for a process with one).

    The webhook's secret comes from HDBOT_WEBHOOK_SECRET only (never the command line, where
    other users of the machine could read it).
    """
    settings = settings_of(ctx)
    _ = words(settings)
    if not settings.token and settings.wecom_app_configured:
        _run_wecom_alone(settings, webhook_url)
        return
    try:
        settings.require_token()
    except ConfigError as err:
        fail(str(err), 2)
    secret = _webhook_secret(settings, webhook_url)
    ensure_data_dir(settings)
    need_database(settings)
    username = asyncio.run(_check_bot(settings))
    click.echo(
        _(
            "@{username} on {api}, database {database}",
            username=username,
            api=settings.base_url,
            database=safe_url(settings.db_url),
        ),
        err=True,
    )
    if settings.wecom_app_configured:
        _say_where_wecom_listens(settings)
    try:
        _serve_telegram(settings, webhook_url, secret, listen, port)
    except ListenFailed as err:
        fail(_("cannot listen for WeCom's callback on {address}", address=str(err)))


def _webhook_secret(settings: Settings, webhook_url: str | None) -> str | None:
    """The webhook's secret, refusing a webhook without a good one or without HTTPS."""
    _ = words(settings)
    secret = settings.webhook_secret
    if webhook_url:
        # Without the secret anyone who finds the URL could post updates in anyone's name.
        if not secret or not WEBHOOK_SECRET.fullmatch(secret):
            fail(_("webhook mode needs HDBOT_WEBHOOK_SECRET (16 to 256 of A-Z a-z 0-9 _ -)"), 2)
        if urlparse(webhook_url).scheme != "https":
            fail(_("--webhook-url must be an https:// URL (Telegram posts only to HTTPS)"), 2)
    return secret


def _serve_telegram(
    settings: Settings, webhook_url: str | None, secret: str | None, listen: str, port: int
) -> None:
    """Build the Application and serve it until stopped, by webhook or by long polling."""
    from bot.app import build_application

    _ = words(settings)
    engine = create_engine(settings.db_url)
    # Behind one webhook address several processes may share the database, all active.
    application = build_application(
        settings, sessions=make_sessions(engine), webhook=bool(webhook_url)
    )
    application.bot_data.closers.append(engine.dispose)
    if webhook_url:
        application.run_webhook(
            listen=listen,
            port=port,
            webhook_url=webhook_url,
            secret_token=secret,
            url_path=urlparse(webhook_url).path.lstrip("/"),
        )
        return
    # Several processes may share one PostgreSQL: one polls, the others wait their turn.
    turn = PollerTurn(engine)
    application.bot_data.poller_turn = turn
    if turn.needed:
        polling = _("long polling: one process per database polls; others wait their turn")
        click.echo(polling, err=True)
    application.run_polling()


def _run_wecom_alone(settings: Settings, webhook_url: str | None) -> None:
    """Serve the WeCom application without Telegram (where Telegram cannot be reached)."""
    _ = words(settings)
    if webhook_url:
        fail(_("--webhook-url is Telegram's: without HDBOT_TOKEN only WeCom is served"), 2)
    ensure_data_dir(settings)
    need_database(settings)
    click.echo(
        _(
            "WeCom application alone (no HDBOT_TOKEN), database {database}",
            database=safe_url(settings.db_url),
        ),
        err=True,
    )
    _say_where_wecom_listens(settings)

    from bot.wecom_alone import serve_wecom_alone

    try:
        asyncio.run(serve_wecom_alone(settings))
    except ListenFailed as err:
        fail(_("cannot listen for WeCom's callback on {address}", address=str(err)))


def _say_where_wecom_listens(settings: Settings) -> None:
    _ = words(settings)
    host, port = settings.wecom_listen_address
    click.echo(
        _(
            "WeCom application callback on http://{address}{path}",
            address=f"{host}:{port}",
            path=CALLBACK_PATH,
        ),
        err=True,
    )


async def _check_bot(settings: Settings) -> str:
    """Ask the Bot API who the bot is: a refused token or an unreachable server is one line."""
    _ = words(settings)
    bot = Bot(
        settings.require_token(),
        base_url=settings.base_url,
        base_file_url=settings.base_file_url,
        request=AiohttpRequest(connect_timeout=10, read_timeout=10),
    )
    try:
        async with bot:
            return bot.username
    except InvalidToken:
        fail(_("the Bot API at {api} refused the token (HDBOT_TOKEN)", api=settings.base_url), 2)
    except (NetworkError, TelegramError) as err:
        reason = redact(str(err).splitlines()[0][:200], settings.secrets)
        fail(_("cannot reach the Bot API at {api}: {reason}", api=settings.base_url, reason=reason))
