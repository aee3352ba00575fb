"""Wording of scheduled pushes: the countdown, digests, reminders and escalations.

Each push's figures were fixed when it was queued (storage/pushes/); here they become a
Telegram message (plain text, at most 4,096 characters) or WeCom markdown (at most 4,096 bytes).
"""

from __future__ import annotations

from datetime import date

from bot.i18n import Translator
from bot.views.cards import report_card
from bot.views.labels import level_name, rate_text, shorten
from bot.views.reply import Button, Buttons
from storage.dangers import DangerCard
from storage.push_payloads import (
    CountdownPush,
    DigestPush,
    EscalationPush,
    NoticePush,
    OverdueList,
    OverduePush,
    Payload,
    ReminderItem,
    ReminderPush,
)

TELEGRAM_LIMIT = 4096
RANKED = 10
# A reminder's buttons: one a hidden danger, the first few (the rest are on /mine).
REMINDER_BUTTONS = 5
SITE_IN_BUTTON = 16
WECOM_LIMIT = 4096  # bytes of UTF-8


def days_line(_: Translator, *, days_left: int, closing: date) -> str:
    """ "12 days to the close", "closes tomorrow", "closes today", "closed 3 days ago"."""
    days, closing_day = days_left, closing.isoformat()
    if days > 1:
        return _("⏳ {days} days to the close ({closing})", days=days, closing=closing_day)
    if days == 1:
        return _(
            "⏳ 1 day to the close: the campaign closes tomorrow ({closing})", closing=closing_day
        )
    if days == 0:
        return _("🏁 The campaign closes today ({closing})", closing=closing_day)
    return _.plural(
        "🏁 The campaign closed {n} day ago ({closing})",
        "🏁 The campaign closed {n} days ago ({closing})",
        -days,
        closing=closing_day,
    )


def countdown_lines(_: Translator, data: CountdownPush) -> list[str]:
    f = data.figures
    lines = [data.campaign, days_line(_, days_left=data.days_left, closing=data.closing)]
    if data.unit:
        lines.append(_("Unit: {unit}", unit=data.unit))
    lines.append(
        _(
            "Tasks: {done}/{total} done ({percent}%), {overdue} past due",
            done=f.tasks_done,
            total=f.tasks_total,
            percent=f.tasks_percent,
            overdue=f.tasks_overdue,
        )
    )
    lines.append(
        _(
            "Hidden dangers: {found} found, {closed} closed, {open} open, {overdue} overdue",
            found=f.found,
            closed=f.closed,
            open=f.open,
            overdue=f.overdue,
        )
    )
    lines.append(
        _(
            "Rectification rate: {rate} · major still open: {major}",
            rate=rate_text(f.rate, f.found),
            major=f.major_open,
        )
    )
    if data.ranking:
        lines.append("")
        lines.append(_("Units by overdue hidden dangers:"))
        # The first ten: a city's caption must stay one message (1,024 characters).
        for n, row in enumerate(data.ranking[:RANKED], start=1):
            lines.append(
                _(
                    "{n}. {unit}: {overdue} overdue, {open} open, rate {rate}",
                    n=n,
                    unit=row.unit,
                    overdue=row.overdue,
                    open=row.open,
                    rate=rate_text(row.rate, row.found),
                )
            )
        if len(data.ranking) > RANKED:
            lines.append(_("… and {more} more", more=len(data.ranking) - RANKED))
    return lines


def _overdue_head(_: Translator, data: OverdueList) -> str:
    today = data.today.isoformat()
    if isinstance(data, EscalationPush):
        return _(
            "🚨 Long overdue below {unit}: general over {general} days, major over {major} days",
            unit=data.unit,
            general=data.general_days,
            major=data.major_days,
        )
    if isinstance(data, DigestPush):
        return _("⚠️ Overdue in your units ({today})", today=today)
    return _("⚠️ Overdue in {unit} ({today})", unit=data.unit, today=today)


def overdue_lines(_: Translator, data: OverdueList) -> list[str]:
    lines = [_overdue_head(_, data)]
    if not data.count and not data.task_count:
        lines.append(_("Nothing is overdue. 👍"))
        return lines
    if data.count:
        lines.append(_("Hidden dangers overdue: {count}", count=data.count))
        for item in data.dangers:
            lines.append(
                _(
                    "· {number} {unit} {site} — {days} days overdue ({level})",
                    number=item.number,
                    unit=item.unit,
                    site=shorten(item.site, 30),
                    days=item.days,
                    level=level_name(_, item.level),
                )
            )
        if data.count > len(data.dangers):
            lines.append(_("… and {more} more", more=data.count - len(data.dangers)))
    if data.task_count:
        lines.append(_("Tasks past due: {count}", count=data.task_count))
        for task in data.tasks:
            lines.append(
                _(
                    "· {code} {title} ({unit}) — {days} days",
                    code=task.code,
                    title=shorten(task.title, 30),
                    unit=task.unit,
                    days=task.days,
                )
            )
        if data.task_count > len(data.tasks):
            lines.append(_("… and {more} more", more=data.task_count - len(data.tasks)))
    return lines


def reminder_line(_: Translator, item: ReminderItem) -> str:
    deadline = item.deadline.isoformat()
    if item.days > 0:
        return _.plural(
            "⏰ {number} ({site}) is due in {n} day, on {deadline}.",
            "⏰ {number} ({site}) is due in {n} days, on {deadline}.",
            item.days,
            number=item.number,
            site=shorten(item.site, 30),
            deadline=deadline,
        )
    return _.plural(
        "🔴 {number} ({site}) is {n} day overdue (deadline {deadline}).",
        "🔴 {number} ({site}) is {n} days overdue (deadline {deadline}).",
        max(1, -item.days),
        number=item.number,
        site=shorten(item.site, 30),
        deadline=deadline,
    )


def reminder_text(_: Translator, data: ReminderPush) -> str:
    """One message a day for each responsible inspector, listing what is due or late."""
    items = data.items
    lines = [_("Your hidden dangers that need you:")] if len(items) > 1 else []
    lines += [reminder_line(_, item) for item in items]
    if data.count > len(items):
        lines.append(_("… and {more} more", more=data.count - len(items)))
    lines.append(_("Rectify them, or open one to ask for more time. /mine lists them all."))
    return "\n".join(lines)


def push_buttons(_: Translator, data: Payload) -> Buttons:
    """A push's buttons: each opens a hidden danger's card, where it is rectified or verified
    (a reminder of several gets one for each of the first few)."""
    if isinstance(data, ReminderPush) and data.danger_id is None:
        return tuple(
            (
                Button(
                    f"{item.number} · {shorten(item.site, SITE_IN_BUTTON)}",
                    f"d:{item.danger_id}:open",
                ),
            )
            for item in data.items[:REMINDER_BUTTONS]
        )
    danger_id = data.danger_id if isinstance(data, NoticePush | ReminderPush) else None
    return ((Button(_("Open"), f"d:{danger_id}:open"),),) if danger_id else ()


def telegram_text(_: Translator, data: Payload) -> str:
    """A push as Telegram plain text (a report's card is drawn from its record instead)."""
    if isinstance(data, CountdownPush):
        return shorten("\n".join(countdown_lines(_, data)), TELEGRAM_LIMIT)
    if isinstance(data, OverduePush | DigestPush | EscalationPush):
        return shorten("\n".join(overdue_lines(_, data)), TELEGRAM_LIMIT)
    if isinstance(data, ReminderPush):
        return reminder_text(_, data)
    if isinstance(data, NoticePush):
        return _(data.key, **data.params)
    raise ValueError(f"no wording for a {type(data).__name__}")


# What WeCom's markdown makes something of: links ([text](url): no brackets, no link),
# mentions (<@all>), font tags, emphasis, code, headings and quotes. In text people typed
# they become their full-width twins, which read the same and mean nothing to the renderer.
_WECOM_MARKUP = str.maketrans(
    {
        "[": "［",
        "]": "］",
        "<": "＜",
        ">": "＞",
        "*": "＊",
        "`": "｀",
        "#": "＃",
        "_": "＿",
        "~": "～",
        "|": "｜",
        "@": "＠",
    }
)


def wecom_text(text: str) -> str:
    """Text for WeCom markdown that shows as it was typed and can never become markup."""
    return text.translate(_WECOM_MARKUP)


def wecom_markdown(_: Translator, data: Payload) -> str:
    """A push as WeCom robot markdown, within its 4,096-byte limit (robots get the countdown
    and the overdue list)."""
    if isinstance(data, CountdownPush):
        lines = [wecom_text(line) for line in countdown_lines(_, data)]
        lines[0] = f"### {lines[0]}"
        lines[1] = f'<font color="warning">{lines[1]}</font>'
    elif isinstance(data, OverduePush | DigestPush | EscalationPush):
        lines = [wecom_text(line) for line in overdue_lines(_, data)]
        lines[0] = f"### {lines[0]}"
    else:
        raise ValueError(f"no WeCom wording for a {type(data).__name__}")
    text = "\n".join(lines)
    while len(text.encode()) > WECOM_LIMIT and len(lines) > 2:
        lines = [*lines[:-2], "…"]
        text = "\n".join(lines)
    return text


def wecom_report_markdown(_: Translator, card: DangerCard) -> str:
    """A new report's card as WeCom robot markdown: the group reads it as it reads it on
    Telegram, the number as the heading (robots take no photos with markdown)."""
    lines = [wecom_text(line) for line in report_card(_, card).split("\n")]
    lines[0] = f"### {lines[0]}"
    return shorten("\n".join(lines), WECOM_LIMIT // 3)  # 3 bytes a character at most
