"""`hdbot admin|invite|revoke-invite|user`: who may use hdbot, and taking that back."""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import ACTOR, fail, main, run_operation, settings_of, words
from bot.i18n import Translator
from bot.views.labels import role_name
from storage import handover, invites, linking, people
from storage.accounts import Account, accounts_of
from storage.dto import InviteInfo, UserInfo
from storage.errors import DomainError
from storage.meta import BOT_USERNAME, get_setting
from storage.models import Role


def _ids(info: UserInfo) -> str:
    """A person's accounts as the audit trail names them: `424242`, `wecom:zhangsan`, or both."""
    return " ".join(account.actor for account in accounts_of(info))


def _who(_: Translator, info: UserInfo) -> str:
    return _(
        "{id} {name} ({role}, {unit})",
        id=_ids(info),
        name=info.name or "-",
        role=role_name(_, info.role),
        unit=info.unit_name or "-",
    )


def _account(_: Translator, telegram_id: int | None, wecom: str | None) -> Account:
    """The account named on the command line: a Telegram id or a WeCom user id, one of them."""
    if telegram_id is not None and wecom is not None:
        fail(_("give a Telegram id or a WeCom user id, not both"), 2)
    try:
        if telegram_id is not None:
            return Account.telegram(telegram_id)
        if wecom is not None:
            return Account.wecom(wecom)
    except DomainError as err:
        fail(_.error(err))
    fail(_("give a Telegram id, or a WeCom user id with --wecom"), 2)


@main.group()
def admin() -> None:
    """Administrators."""


@admin.command("add")
@click.argument("telegram_id", type=int, required=False)
@click.option("--wecom", help="A WeCom user id (账号) instead of a Telegram id.")
@click.option("--unit", help="The unit the admin belongs to (optional: none means the city).")
@click.pass_context
def admin_add(
    ctx: click.Context, telegram_id: int | None, wecom: str | None, unit: str | None
) -> None:
    """Make a Telegram user (by numeric id) or a WeCom user (--wecom) an administrator."""
    settings = settings_of(ctx)
    _ = words(settings)
    account = _account(_, telegram_id, wecom)
    info, changed = run_operation(
        settings,
        lambda s: people.add_admin(s, account=account, unit=unit, actor=ACTOR),
    )
    if changed:
        click.echo(_("added admin: {id}", id=_ids(info)))
    else:
        click.echo(_("already admin: {id}", id=_ids(info)))


@main.command()
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option(
    "--unit", help="The unit the new person joins (required for inspectors and supervisors)."
)
@click.option("--uses", default=1, show_default=True, type=int, help="How many people may use it.")
@click.option("--expires", default=7, show_default=True, type=int, help="Days until it expires.")
@click.pass_context
def invite(ctx: click.Context, role: str, unit: str | None, uses: int, expires: int) -> None:
    """Create an invite code and print its deep link."""
    settings = settings_of(ctx)
    _ = words(settings)

    async def create(session: AsyncSession) -> tuple[InviteInfo, str | None]:
        info = await invites.create_invite(
            session, role=role, unit=unit, uses=uses, expires_days=expires, actor=ACTOR
        )
        return info, settings.bot_username or await get_setting(session, BOT_USERNAME)

    info, username = run_operation(settings, create)
    click.echo(_("code: {code}", code=info.code))
    if username:
        click.echo(_("link: {url}", url=f"https://t.me/{username}?start={info.code}"))
    else:
        click.echo(
            _(
                "link: {url}  (the bot's username is learnt when `hdbot run` first starts, or "
                "set HDBOT_BOT_USERNAME)",
                url="https://t.me/<bot>?start=" + info.code,
            )
        )
    expiry = info.expires_at.date().isoformat() if info.expires_at else _("never")
    click.echo(
        _(
            "role {role}, unit {unit}, {uses} use(s), expires {expiry}",
            role=role_name(_, info.role),
            unit=info.unit_name or "-",
            uses=info.max_uses,
            expiry=expiry,
        )
    )


@main.command("revoke-invite")
@click.argument("code")
@click.pass_context
def revoke_invite(ctx: click.Context, code: str) -> None:
    """Make an invite code unusable (a link sent where it should not have gone)."""
    settings = settings_of(ctx)
    _ = words(settings)
    info, changed = run_operation(
        settings, lambda s: invites.revoke_invite(s, code=code, actor=ACTOR)
    )
    params = {"role": role_name(_, info.role), "unit": info.unit_name or "-", "uses": info.uses}
    if changed:
        click.echo(_("revoked: {role} invite for {unit} ({uses} used)", **params))
    else:
        click.echo(_("already revoked: {role} invite for {unit} ({uses} used)", **params))


@main.group()
def user() -> None:
    """Registered people."""


@user.command("list")
@click.option("--unit", help="Only this unit and the units below it.")
@click.pass_context
def user_list(ctx: click.Context, unit: str | None) -> None:
    """List registered people: Telegram id and/or WeCom id, role, unit, name, active or not."""
    settings = settings_of(ctx)
    _ = words(settings)
    rows = run_operation(settings, lambda s: people.list_users(s, unit=unit))
    if not rows:
        click.echo(_("nobody is registered yet: make invites with `hdbot invite`"))
    for u in rows:
        state = "" if u.active else "  " + _("(deactivated)")
        role = role_name(_, u.role)
        click.echo(f"{_ids(u)}  {role}  {u.unit_name or '-'}  {u.name}{state}")


@user.command("deactivate")
@click.argument("telegram_id", type=int, required=False)
@click.option("--wecom", help="The person's WeCom user id instead of a Telegram id.")
@click.option(
    "--handover-to",
    "handover_to",
    type=int,
    help="The Telegram id of who takes over the open hidden dangers this person answers for.",
)
@click.option(
    "--handover-to-wecom",
    "handover_to_wecom",
    help="The WeCom user id of who takes them over (instead of --handover-to).",
)
@click.pass_context
def user_deactivate(
    ctx: click.Context,
    telegram_id: int | None,
    wecom: str | None,
    handover_to: int | None,
    handover_to_wecom: str | None,
) -> None:
    """Take a person's access away; what they reported and did stays on record.

    Someone who still answers for open hidden dangers is deactivated only with --handover-to
    (or --handover-to-wecom).
    """
    settings = settings_of(ctx)
    _ = words(settings)
    account = _account(_, telegram_id, wecom)
    successor = None
    if handover_to is not None or handover_to_wecom is not None:
        successor = _account(_, handover_to, handover_to_wecom)
    if successor == account:
        fail(_("Hand the hidden dangers over to someone else."))
    done = run_operation(
        settings,
        lambda s: handover.deactivate_user(s, account=account, actor=ACTOR, handover_to=successor),
    )
    if done.already:
        click.echo(_("already deactivated: {who}", who=_who(_, done.user)))
        return
    click.echo(_("deactivated: {who}", who=_who(_, done.user)))
    if done.handed_over:
        click.echo(
            _(
                "handed over {count}: {numbers}",
                count=len(done.handed_over),
                numbers=", ".join(done.handed_over),
            )
        )
    if done.bound_groups:
        click.echo(
            _(
                "they bound {groups}: each stays bound and is told, so its admins can remove them",
                groups=", ".join(done.bound_groups),
            )
        )


@user.command("activate")
@click.argument("telegram_id", type=int, required=False)
@click.option("--wecom", help="The person's WeCom user id instead of a Telegram id.")
@click.pass_context
def user_activate(ctx: click.Context, telegram_id: int | None, wecom: str | None) -> None:
    """Give a deactivated person their access back (an invite link never does)."""
    settings = settings_of(ctx)
    _ = words(settings)
    account = _account(_, telegram_id, wecom)
    info, changed = run_operation(
        settings, lambda s: handover.activate_user(s, account=account, actor=ACTOR)
    )
    if changed:
        click.echo(_("activated: {who}", who=_who(_, info)))
    else:
        click.echo(_("already active: {who}", who=_who(_, info)))


@user.command("link")
@click.argument("telegram_id", type=int)
@click.option("--wecom", required=True, help="The WeCom user id (账号) of the same person.")
@click.pass_context
def user_link(ctx: click.Context, telegram_id: int, wecom: str) -> None:
    """Link a person's Telegram and WeCom accounts: one person, the same records on both.

    The WeCom id joins the person of the Telegram id (or the Telegram id joins the person known
    on WeCom only). A WeCom id held by someone else moves only if they have no records yet.
    """
    settings = settings_of(ctx)
    _ = words(settings)
    telegram = _account(_, telegram_id, None)
    account = _account(_, None, wecom)
    info, changed = run_operation(
        settings,
        lambda s: linking.link_accounts(s, telegram=telegram, wecom=account, actor=ACTOR),
    )
    if changed:
        click.echo(_("linked: {who}", who=_who(_, info)))
    else:
        click.echo(_("already linked: {who}", who=_who(_, info)))
