"""Who is in the demo: three people, on Telegram and on WeCom, and two group chats.

Fixed ids, so the page, the seed and the tests name the same people. Each person has both
accounts (one person, two fronts: `storage/linking.py`), and their Telegram app's language.
"""

from __future__ import annotations

from dataclasses import dataclass

CITY = "大连市"
DISTRICT = "甘井子区"
ROBOT_KEY = "demo-city-robot"


@dataclass(frozen=True)
class Cast:
    """One demo person: who they are in the campaign, and their two accounts."""

    key: str  # the page's name for them
    telegram_id: int
    wecom_user_id: str
    name: str
    role: str  # inspector, supervisor, admin
    unit: str | None
    language_code: str  # what their Telegram app says (zh-hans → Chinese, en → English)


@dataclass(frozen=True)
class Group:
    """A group chat the bot is in, bound to a unit, with who is in it."""

    key: str
    title: str
    unit: str
    kinds: tuple[str, ...]  # what it is subscribed to
    members: tuple[str, ...]  # cast keys; the first is the group's creator


INSPECTOR = Cast("inspector", 5001, "wangjian", "王建", "inspector", DISTRICT, "zh-hans")
SUPERVISOR = Cast("supervisor", 5002, "lina", "Li Na", "supervisor", DISTRICT, "en")
CITY_MEMBER = Cast("city", 5003, "zhaomin", "赵敏", "admin", None, "zh-hans")

PEOPLE = (INSPECTOR, SUPERVISOR, CITY_MEMBER)

CITY_GROUP = Group(
    "city-group",
    "大连市安委办工作群",
    CITY,
    ("countdown", "overdue", "reports"),
    ("city", "supervisor", "inspector"),
)
DISTRICT_GROUP = Group(
    "district-group",
    "甘井子区隐患排查群",
    DISTRICT,
    ("reports", "overdue"),
    ("supervisor", "inspector"),
)

GROUPS = (CITY_GROUP, DISTRICT_GROUP)


def person(key: str) -> Cast:
    """The cast member of this key; KeyError when there is none."""
    for member in PEOPLE:
        if member.key == key:
            return member
    raise KeyError(key)
