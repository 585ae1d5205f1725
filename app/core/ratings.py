"""好差评 (rules.md §3, GB/T 39734-2020 一次一评), written once for the desk and the district server.

A case is rated once by the resident (round 1): at the desk's resident-facing window, or later on the receipt's QR
page. "未评价" is the absence of a rating. A bad rating (不满意 / 非常不满意) opens a follow-up assigned to the
committee's 站长: call the resident back within ``callback_days`` working days, fix within ``fix_days`` working days
(the district's settings, ``Committee.settings["followup"]``); after the fix the resident may rate once more
(round 2). Nothing here touches a session: the actions (app/core/actions.py) change the case, these read it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import UserError
from app.core.vocabulary import RATING_LABELS, RATING_REASONS, RatingChannel, RatingLevel, State, rating_label
from app.core.workdays import DEFAULT_CLOSE_OF_BUSINESS, WorkCalendar, compute_deadline

# Round 1 may be given once the resident's business at the desk is done: 当场办结, 转办 (receipt in hand), or
# after the department's reply (告知办结). Round 2 follows a recorded fix, whatever the case's state.
RATABLE_STATES = frozenset({State.RESOLVED, State.FORWARDED, State.REPLIED, State.CLOSED})
DEFAULT_CALLBACK_DAYS = 1
DEFAULT_FIX_DAYS = 15
MAX_FOLLOWUP_DAYS = 60
SETTINGS_KEY = "followup"


class FollowupStage:
    """Where a bad rating's follow-up stands (``followup_stage``)."""

    CALLBACK = "callback"  # waiting for the 站长's call to the resident
    FIX = "fix"  # called back; the fix is owed
    DONE = "done"  # fixed (a second rating may still come)


STAGE_LABELS = {FollowupStage.CALLBACK: "待回访", FollowupStage.FIX: "待整改", FollowupStage.DONE: "已整改"}


class SettingsError(UserError):
    """A follow-up setting outside what the district may choose; Chinese message."""


@dataclass(frozen=True)
class FollowupDays:
    callback_days: int = DEFAULT_CALLBACK_DAYS
    fix_days: int = DEFAULT_FIX_DAYS

    def as_settings(self) -> dict[str, int]:
        return {"callback_days": self.callback_days, "fix_days": self.fix_days}


def check_followup_days(callback_days: Any, fix_days: Any) -> FollowupDays:
    """The district's choice, checked: whole working days, 1–60, the fix not before the call-back."""
    for value, name in ((callback_days, "回访期限"), (fix_days, "整改期限")):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_FOLLOWUP_DAYS:
            raise SettingsError(f"{name}须为 1 到 {MAX_FOLLOWUP_DAYS} 之间的整数个工作日")
    if fix_days < callback_days:
        raise SettingsError("整改期限不能短于回访期限")
    return FollowupDays(callback_days, fix_days)


def followup_days(settings: dict | None) -> FollowupDays:
    """The committee's follow-up deadlines from its settings; the defaults (1 and 15) when unset or unusable."""
    raw = (settings or {}).get(SETTINGS_KEY)
    if not isinstance(raw, dict):
        return FollowupDays()
    try:
        return check_followup_days(raw.get("callback_days", DEFAULT_CALLBACK_DAYS),
                                   raw.get("fix_days", DEFAULT_FIX_DAYS))
    except SettingsError:
        return FollowupDays()


def followup_deadlines(at: dt.datetime, calendar: WorkCalendar, days: FollowupDays,
                       close_of_business: dt.time = DEFAULT_CLOSE_OF_BUSINESS) -> tuple[dt.datetime, dt.datetime]:
    """Call-back and fix deadlines of a bad rating given at ``at``: counted like the reply deadline (rules.md §1),
    from the first working day after the rating's day, each at close of business of its last working day."""
    callback = compute_deadline(at, calendar, days=days.callback_days, close_of_business=close_of_business)
    fix = compute_deadline(at, calendar, days=days.fix_days, close_of_business=close_of_business)
    return callback.due, fix.due


LEVEL_MISSING = "请选择评价等级（非常满意、满意、基本满意、不满意、非常不满意）"


def parse_level(value: Any) -> RatingLevel:
    try:
        return RatingLevel(str(value))
    except ValueError:
        raise UserError(LEVEL_MISSING) from None


def is_bad(level: str | None) -> bool:
    return level in (RatingLevel.DISSATISFIED, RatingLevel.VERY_DISSATISFIED)


def is_good(level: str | None) -> bool:
    return level in (RatingLevel.VERY_SATISFIED, RatingLevel.SATISFIED, RatingLevel.BASIC)


def reasons_allowed(level: str | None) -> bool:
    """Reasons are asked for a low rating only (基本满意 and below)."""
    return level in (RatingLevel.BASIC, RatingLevel.DISSATISFIED, RatingLevel.VERY_DISSATISFIED)


def check_reasons(level: str, reasons: list[str]) -> list[str]:
    """The ticked reasons, de-duplicated; refused when one is not on the list. None are kept for a high rating."""
    unknown = [r for r in reasons if r not in RATING_REASONS]
    if unknown:
        raise UserError("评价原因不在可选范围内：" + "、".join(unknown))
    return list(dict.fromkeys(reasons)) if reasons_allowed(level) else []


def rating_round(case: Any) -> int | None:
    """Which rating the case may take now: 1 (not rated, business done), 2 (bad rating fixed, no second rating
    yet), or None (already rated, or nothing to rate yet)."""
    state = getattr(case, "state", None)
    if getattr(case, "rating", None) is None:
        return 1 if state in RATABLE_STATES else None
    if getattr(case, "followup_fixed_at", None) is not None and getattr(case, "second_rating", None) is None:
        return 2
    return None


def check_round(case: Any, wanted: int) -> None:
    """Refuse a rating the case cannot take: rated already (never changed), or not finished at the desk."""
    now = rating_round(case)
    if now == wanted:
        return
    if wanted == 1 and getattr(case, "rating", None) is not None:
        raise UserError("该案件已评价，评价提交后不能修改")
    if wanted == 1:
        raise UserError("案件办结或转办后才能评价")
    if getattr(case, "second_rating", None) is not None:
        raise UserError("该案件已再次评价，评价提交后不能修改")
    raise UserError("差评整改完成后才能再次评价")


def check_channel(channel: Any, wanted_round: int) -> RatingChannel:
    try:
        ch = RatingChannel(str(channel))
    except ValueError:
        raise UserError("评价渠道有误") from None
    if ch == RatingChannel.PHONE and wanted_round == 1:
        raise UserError("首次评价须由居民本人在评价器或扫码页面提交")
    return ch


def followup_stage(case: Any) -> str | None:
    """None when the case has no bad first rating; else where its follow-up stands."""
    if not is_bad(getattr(case, "rating", None)):
        return None
    if getattr(case, "followup_fixed_at", None) is not None:
        return FollowupStage.DONE
    if getattr(case, "followup_called_at", None) is not None:
        return FollowupStage.FIX
    return FollowupStage.CALLBACK


def followup_next_due(case: Any) -> dt.datetime | None:
    """The deadline the follow-up is working to now (call-back, then fix); None when done or none."""
    stage = followup_stage(case)
    if stage == FollowupStage.CALLBACK:
        return getattr(case, "followup_callback_due", None)
    if stage == FollowupStage.FIX:
        return getattr(case, "followup_fix_due", None)
    return None


def followup_overdue(case: Any, now: dt.datetime) -> bool:
    due = followup_next_due(case)
    return due is not None and due < now


@dataclass(frozen=True)
class RatingView:
    """A case's rating as screens and paper show it (no identity of the evaluator beyond the case)."""

    level: str | None = None
    at: dt.datetime | None = None
    channel: str = ""
    reasons: list[str] = field(default_factory=list)
    note: str = ""
    followup_stage: str | None = None
    callback_due: dt.datetime | None = None
    fix_due: dt.datetime | None = None
    called_at: dt.datetime | None = None
    call_note: str = ""
    fixed_at: dt.datetime | None = None
    fix_note: str = ""
    second_level: str | None = None
    second_at: dt.datetime | None = None
    next_round: int | None = None

    @property
    def label(self) -> str:
        return rating_label(self.level)

    @property
    def second_label(self) -> str:
        return RATING_LABELS.get(self.second_level or "", "")

    @property
    def stage_label(self) -> str:
        return STAGE_LABELS.get(self.followup_stage or "", "")


def rating_view(case: Any) -> RatingView:
    return RatingView(
        level=case.rating, at=case.rated_at, channel=case.rating_channel or "", reasons=list(case.rating_reasons or []),
        note=case.rating_note or "", followup_stage=followup_stage(case), callback_due=case.followup_callback_due,
        fix_due=case.followup_fix_due, called_at=case.followup_called_at, call_note=case.followup_call_note or "",
        fixed_at=case.followup_fixed_at, fix_note=case.followup_fix_note or "", second_level=case.second_rating,
        second_at=case.second_rated_at, next_round=rating_round(case))
