"""The demo's hidden dangers, one or two in every state of the closed loop, some overdue.

Each is reported the way the inspector's phone would report it — the report's steps
(storage/report/) one answer at a time, the closed loop's actions (storage/closed_loop/) —
so its audit events, numbers, photos and notices are what real use leaves. Older ones are
made with hdbot's clock set back (their report day, hence their deadlines, in the past):
those are overdue today. Photos are drawn (pictures.py), kept in the photo store and in the
fake Telegram, so cards show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.config import Settings
from bot.sandbox.botapi import FakeBotAPI
from bot.sandbox.demo.cast import INSPECTOR, SUPERVISOR
from bot.sandbox.demo.pictures import site_photo
from storage import clock
from storage.accounts import Account
from storage.closed_loop import FIVE_ITEMS, act, answer_action
from storage.conversation import Input, InputKind, NewPhoto
from storage.db import Sessions
from storage.permissions import Action
from storage.photos import PhotoStore
from storage.report import Area, ReportReply, ReportRules, answer_report, begin_report

GANJINGZI = (38.9536, 121.5312)


@dataclass(frozen=True)
class Story:
    """One hidden danger: where, what, how bad, how long ago, and how far it has come."""

    site: str
    field: str
    description: str
    level: str  # general, major
    days_ago: int
    deadline_days: int  # one of the quick picks: 3, 7, 15, 30
    stage: str  # reported, rectifying, submitted, closed, rejected
    task: str = ""  # the code of the campaign task it is filed under (one of 甘井子区's)


# What the inspector writes for the five items (五落实) of a major hidden danger.
FIVE_ANSWERS = {
    "responsibility": "企业安全总监张明负责，王建跟踪督办",
    "measures": "修复防火堤，增设可燃气体报警装置",
    "funds": "企业自筹12万元",
    "time_limit": "两周内完成",
    "plan": "制定泄漏应急处置预案并组织演练",
}

STORIES = (
    Story(
        "大连石化储运公司",
        "hazardous_chemicals",
        "3号储罐区防火堤局部破损，未及时修复",
        "major",
        0,
        15,
        "reported",
        task="PR-01",
    ),
    Story(
        "甘井子区华北路加油站",
        "hazardous_chemicals",
        "卸油口静电接地装置损坏",
        "general",
        20,
        7,
        "reported",
        task="MU-01",
    ),
    Story(
        "泉水地铁站配套工地",
        "construction",
        "外脚手架未满挂密目式安全网",
        "general",
        2,
        7,
        "rectifying",
        task="SC-08",
    ),
    Story(
        "辛寨子街道燃气调压站",
        "town_gas",
        "调压箱锈蚀严重，未设置防撞设施",
        "major",
        12,
        3,
        "rectifying",
        task="SC-11",
    ),
    Story(
        "红旗西路商业综合体",
        "fire_protection",
        "消防通道被货物堵塞，应急照明失效",
        "general",
        6,
        7,
        "submitted",
        task="MU-15",
    ),
    Story(
        "革镇堡冷链物流园",
        "other",
        "氨制冷机房未安装泄漏报警装置",
        "general",
        9,
        7,
        "closed",
        task="SC-01",
    ),
    Story(
        "大连湾危险货物运输车辆停车场",
        "transportation",
        "停车场未设置防静电接地装置，消防器材过期",
        "general",
        25,
        15,
        "rejected",
        task="MU-02",
    ),
)


class DangerSeeder:
    """Walks each story through the same operations the fronts call."""

    def __init__(self, sessions: Sessions, telegram: FakeBotAPI, settings: Settings) -> None:
        self.sessions = sessions
        self.telegram = telegram
        self.store = PhotoStore(settings.photo_dir)
        box = settings.area_box
        self.rules = ReportRules(
            area=Area(*box) if box else None, number_prefix=settings.number_prefix
        )
        self.inspector = Account.telegram(INSPECTOR.telegram_id)
        self.supervisor = Account.telegram(SUPERVISOR.telegram_id)
        self.photos = 0

    async def seed_all(self) -> int:
        """Make every story's hidden danger; return how many."""
        for story in STORIES:
            start = clock.utcnow() - timedelta(days=story.days_ago)
            # Its report day, and each later step a little after it, on hdbot's clock.
            with clock.installed(clock.ShiftedClock(start)):
                danger_id = await self._report(story)
            progress = clock.ShiftedClock(start + timedelta(days=min(1, story.days_ago)))
            with clock.installed(progress):
                await self._carry_on(story, danger_id)
        return len(STORIES)

    async def _report(self, story: Story) -> int:
        async with self.sessions() as s:
            begun = await begin_report(s, account=self.inspector, update_id=None)
        assert begun.tasks is not None
        found = await self._text(story.task)  # typing searches the tasks by code and title
        assert found.tasks is not None and found.tasks.items, f"no open task {story.task}"
        await self._press(f"task:{found.tasks.items[0].id}")
        await self._text(story.site)
        await self._press(f"field:{story.field}")
        await self._text(story.description)
        await self._answer(Input(InputKind.PHOTO, photo=self._photo(story.site, fixed=False)))
        await self._press("done")
        latitude = GANJINGZI[0] + self.photos * 0.004
        await self._answer(
            Input(InputKind.LOCATION, latitude=latitude, longitude=GANJINGZI[1] + 0.01)
        )
        await self._press(f"level:{story.level}")
        await self._press(f"days:{story.deadline_days}")
        done = await self._press("submit")
        assert done.submitted is not None, "the demo's report was not submitted"
        return done.submitted.danger_id

    async def _carry_on(self, story: Story, danger_id: int) -> None:
        if story.stage == "reported":
            return
        await self._act(self.inspector, danger_id, Action.START)
        if story.stage == "rectifying":
            return
        await self._rectify(story, danger_id)
        if story.stage == "submitted":
            return
        if story.stage == "closed":
            await self._act(self.supervisor, danger_id, Action.APPROVE)
            return
        await self._act(self.supervisor, danger_id, Action.REJECT)
        await self._loop(
            self.supervisor, Input(InputKind.TEXT, text="防静电接地仍未接通，请整改后重新提交")
        )

    async def _rectify(self, story: Story, danger_id: int) -> None:
        await self._act(self.inspector, danger_id, Action.RECTIFY)
        if story.level == "major":
            for item in FIVE_ITEMS:
                await self._loop(self.inspector, Input(InputKind.TEXT, text=FIVE_ANSWERS[item]))
        after = self._photo(story.site, fixed=True)
        await self._loop(self.inspector, Input(InputKind.PHOTO, photo=after))
        await self._loop(self.inspector, Input(InputKind.BUTTON, button="done"))
        await self._loop(
            self.inspector, Input(InputKind.TEXT, text="已按要求整改完毕，现场复查合格")
        )
        await self._loop(self.inspector, Input(InputKind.BUTTON, button="submit"))

    # --- one answer each ------------------------------------------------------------------

    async def _answer(self, given: Input) -> ReportReply:
        async with self.sessions() as s:
            return await answer_report(
                s, account=self.inspector, update_id=None, given=given, rules=self.rules
            )

    async def _text(self, text: str) -> ReportReply:
        return await self._answer(Input(InputKind.TEXT, text=text))

    async def _press(self, button: str) -> ReportReply:
        return await self._answer(Input(InputKind.BUTTON, button=button))

    async def _act(self, account: Account, danger_id: int, action: Action) -> None:
        async with self.sessions() as s:
            await act(s, account=account, danger_id=danger_id, action=action, update_id=None)

    async def _loop(self, account: Account, given: Input) -> None:
        async with self.sessions() as s:
            await answer_action(s, account=account, update_id=None, given=given)

    def _photo(self, site: str, *, fixed: bool) -> NewPhoto:
        """A drawn photo, kept in the store and in the fake Telegram (as a person's photo)."""
        self.photos += 1
        caption = f"#{self.photos} {'after' if fixed else 'before'}"
        data = site_photo(self.photos, caption, fixed=fixed)
        stored = self.store.save(data)
        with self.telegram.state.lock:
            sizes = self.telegram.state.add_photo(data)
        largest = sizes[-1]
        return NewPhoto(
            file_id=largest.file_id,
            file_unique_id=largest.file_unique_id,
            sha256=stored.sha256,
            path=stored.path,
            thumb_path=stored.thumb_path,
            size=stored.size,
            width=stored.width,
            height=stored.height,
            exif_time=stored.exif_time,
            exif_lat=stored.exif_lat,
            exif_lon=stored.exif_lon,
            phash=stored.phash,
        )
