"""The test campaign's world: its people, a report walked step by step, photos, groups.

Shared by the domain-operation tests (reports, the closed loop, pushes, the ledger, the
sender): each builds on the same few people so a reader learns them once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select

from storage import invites, people, tasks
from storage.accounts import Account
from storage.closed_loop import FIVE_ITEMS, LoopReply, act, answer_action, danger_detail
from storage.conversation import Input, InputKind, NewPhoto
from storage.db import Sessions
from storage.groups import bind_group, subscribe
from storage.models import Outbox
from storage.permissions import Action, NotAllowed
from storage.report import Area, ReportReply, ReportRules, Step, answer_report, begin_report
from tests.factories import make_campaign, task_row, tg
from tests.timeline import NOW

RULES = ReportRules(area=Area(38.5, 120.5, 40.5, 123.8), number_prefix="DL")


INSPECTOR = 5001


SUPERVISOR = 5002


def photo(n: int, gps: tuple[float, float] | None = None) -> NewPhoto:
    digest = hashlib.sha256(str(n).encode()).hexdigest()
    return NewPhoto(
        file_id=f"file-{n}",
        file_unique_id=f"u{n}",
        sha256=digest,
        path=f"{digest[:2]}/{digest}.jpg",
        thumb_path=None,
        size=1000 + n,
        width=800,
        height=600,
        exif_time=None,
        exif_lat=gps[0] if gps else None,
        exif_lon=gps[1] if gps else None,
    )


async def setup(sessions: Sessions) -> None:
    await make_campaign(sessions)
    rows = [
        task_row(2, "MU-01", title="危化品企业专项检查", due_date="2026-12-20"),
        task_row(3, "MU-02", title="燃气管道排查", field="town_gas", due_date="2027-01-10"),
        task_row(4, "MU-03", title="长海渔船检查", unit="长海县", field="fishing_vessels"),
    ]
    for n in range(5, 15):
        rows.append(
            task_row(n, f"GJZ-{n:02d}", title=f"甘井子任务{n}", due_date=f"2026-12-{n:02d}")
        )
    async with sessions() as s:
        await tasks.import_tasks(s, rows=rows, actor="t")
    async with sessions() as s:
        i = await invites.create_invite(s, role="inspector", unit="甘井子区", actor="t")
        v = await invites.create_invite(s, role="supervisor", unit="甘井子区", actor="t")
    async with sessions() as s:
        await invites.redeem_invite(
            s, code=i.code, account=tg(INSPECTOR), name="王检查", username=None
        )
        await invites.redeem_invite(
            s, code=v.code, account=tg(SUPERVISOR), name="李监管", username=None
        )


class Walker:
    """Drives one person's report like a front would, numbering updates as Telegram does."""

    def __init__(self, sessions: Sessions, who: int | Account = INSPECTOR) -> None:
        self.sessions = sessions
        self.account = who if isinstance(who, Account) else tg(who)
        self.update_id = 1000

    def next_id(self) -> int:
        self.update_id += 1
        return self.update_id

    async def begin(self) -> ReportReply:
        async with self.sessions() as s:
            return await begin_report(s, account=self.account, update_id=self.next_id())

    async def send(
        self, given: Input, *, update_id: int | None = None, draft_id: int | None = None
    ) -> ReportReply:
        async with self.sessions() as s:
            return await answer_report(
                s,
                account=self.account,
                update_id=update_id if update_id is not None else self.next_id(),
                given=given,
                rules=RULES,
                draft_id=draft_id,
                now=NOW,
            )

    async def text(self, text: str) -> ReportReply:
        return await self.send(Input(InputKind.TEXT, text=text))

    async def press(self, action: str) -> ReportReply:
        return await self.send(Input(InputKind.BUTTON, button=action))


async def fill_to_confirm(w: Walker) -> ReportReply:
    reply = await w.begin()
    assert reply.draft is not None and reply.draft.step == Step.TASK
    assert reply.tasks is not None
    task_id = reply.tasks.items[0].id
    await w.press(f"task:{task_id}")
    await w.text("大连某化工有限公司")
    await w.press("field:hazardous_chemicals")
    await w.text("储罐区防火堤破损，未及时修复")
    await w.send(Input(InputKind.PHOTO, photo=photo(1, gps=(38.95, 121.55))))
    await w.send(Input(InputKind.PHOTO, photo=photo(2)))
    await w.press("done")
    await w.press("photo")
    await w.press("level:major")
    return await w.press("days:7")


OTHER_INSPECTOR = 6001  # 甘井子区, not the reporter


FAR_INSPECTOR = 6002  # 长海县


CITY_SUPERVISOR = 6003  # 大连市


FAR_SUPERVISOR = 6004  # 长海县


ADMIN = 6005  # no unit: the whole city


async def register(sessions: Sessions, telegram_id: int, role: str, unit: str | None) -> None:
    if role == "admin":
        async with sessions() as s:
            await people.add_admin(s, account=tg(telegram_id), actor="t")
        return
    async with sessions() as s:
        code = (await invites.create_invite(s, role=role, unit=unit, actor="t")).code
    async with sessions() as s:
        await invites.redeem_invite(
            s, code=code, account=tg(telegram_id), name=f"p{telegram_id}", username=None
        )


async def register_wecom(sessions: Sessions, account: Account, role: str, unit: str) -> None:
    """Register a WeCom person the way they do it: an invite code sent as text."""
    async with sessions() as s:
        code = (await invites.create_invite(s, role=role, unit=unit, actor="t")).code
    async with sessions() as s:
        await invites.redeem_invite(
            s, code=code, account=account, name=f"w-{account.key}", username=None
        )


async def world(sessions: Sessions) -> None:
    await setup(sessions)
    await register(sessions, OTHER_INSPECTOR, "inspector", "甘井子区")
    await register(sessions, FAR_INSPECTOR, "inspector", "长海县")
    await register(sessions, CITY_SUPERVISOR, "supervisor", "大连市")
    await register(sessions, FAR_SUPERVISOR, "supervisor", "长海县")
    await register(sessions, ADMIN, "admin", None)


async def report(
    sessions: Sessions,
    *,
    level: str = "general",
    photo_base: int = 1,
    who: int | Account = INSPECTOR,
) -> int:
    w = Walker(sessions, who)
    w.update_id = 10_000 + photo_base * 100
    reply = await w.begin()
    assert reply.tasks is not None
    await w.press(f"task:{reply.tasks.items[0].id}")
    await w.text(f"工厂{photo_base}")
    await w.press("field:construction")
    await w.text("脚手架未设置防护网")
    await w.send(Input(InputKind.PHOTO, photo=photo(photo_base)))
    await w.press("done")
    await w.send(Input(InputKind.LOCATION, latitude=38.95, longitude=121.55))
    await w.press(f"level:{level}")
    await w.press("days:7")
    done = await w.press("submit")
    assert done.submitted is not None
    return done.submitted.danger_id


class Person:
    def __init__(self, sessions: Sessions, who: int | Account, first_update: int) -> None:
        self.sessions, self.update_id = sessions, first_update
        self.account = who if isinstance(who, Account) else tg(who)

    def next(self) -> int:
        self.update_id += 1
        return self.update_id

    async def act(self, danger_id: int, action: Action) -> LoopReply:
        async with self.sessions() as s:
            return await act(
                s,
                account=self.account,
                danger_id=danger_id,
                action=action,
                update_id=self.next(),
                now=NOW,
            )

    async def answer(self, given: Input) -> LoopReply:
        async with self.sessions() as s:
            return await answer_action(
                s, account=self.account, update_id=self.next(), given=given, now=NOW
            )

    async def text(self, text: str) -> LoopReply:
        return await self.answer(Input(InputKind.TEXT, text=text))

    async def press(self, button: str) -> LoopReply:
        return await self.answer(Input(InputKind.BUTTON, button=button))

    async def photo(self, p: NewPhoto) -> LoopReply:
        return await self.answer(Input(InputKind.PHOTO, photo=p))

    async def actions(self, danger_id: int) -> set[Action]:
        async with self.sessions() as s:
            try:
                return set(
                    (await danger_detail(s, account=self.account, danger_id=danger_id)).actions
                )
            except NotAllowed:
                return {"hidden"}  # type: ignore[arg-type]


def after_photo(
    n: int,
    *,
    gps: tuple[float, float] | None = None,
    taken: datetime | None = None,
    phash: int | None = None,
) -> NewPhoto:
    digest = hashlib.sha256(f"after-{n}".encode()).hexdigest()
    return NewPhoto(
        file_id=f"after-{n}",
        file_unique_id=f"a{n}",
        sha256=digest,
        path=f"{digest}.jpg",
        thumb_path=None,
        size=100,
        width=10,
        height=10,
        exif_time=taken,
        exif_lat=gps[0] if gps else None,
        exif_lon=gps[1] if gps else None,
        phash=phash,
    )


async def rectify(
    inspector: Person, danger_id: int, photos: list[NewPhoto], *, major: bool = False
) -> LoopReply:
    begun = await inspector.act(danger_id, Action.RECTIFY)
    assert begun.draft is not None
    if major:
        assert begun.draft.step == "responsibility"
        for item in FIVE_ITEMS:
            reply = await inspector.text(f"{item} 已落实")
        assert reply.draft is not None and reply.draft.step == "photos"
    else:
        assert begun.draft.step == "photos"
    for p in photos:
        await inspector.photo(p)
    await inspector.press("done")
    await inspector.text("已更换防护网并复查")
    return await inspector.press("submit")


async def outbox_for(sessions: Sessions, telegram_id: int) -> list[str]:
    async with sessions() as s:
        rows = await s.scalars(
            select(Outbox).where(Outbox.target == str(telegram_id), Outbox.kind == "notice")
        )
        return [r.payload["key"] for r in rows]


async def group(sessions: Sessions, chat_id: int, unit: str, *kinds: str) -> None:
    async with sessions() as s:
        await bind_group(
            s,
            chat_id=chat_id,
            title=f"g{chat_id}",
            unit=unit,
            account=tg(ADMIN),
            is_chat_admin=True,
        )
    for kind in kinds:
        name, _, when = kind.partition("@")
        async with sessions() as s:
            await subscribe(
                s,
                chat_id=chat_id,
                title=f"g{chat_id}",
                kind=name,
                at_time=when or None,
                account=tg(ADMIN),
                is_chat_admin=True,
            )
