"""The words OneDesk's parts share: case states, actions, roles, document kinds, sync command names.

Each is a ``StrEnum`` (its values are what the database and the wire hold) with one Chinese label table.
China time is defined here once. Nothing here imports another OneDesk module, so every layer may use it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _china_tz() -> tzinfo:
    """Asia/Shanghai, or fixed UTC+8 where the OS has no tz database (Windows without tzdata); China has no DST."""
    try:
        return ZoneInfo("Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return timezone(timedelta(hours=8), "CST")


CHINA_TZ: tzinfo = _china_tz()


def chinese_date(when: date | datetime | None) -> str:
    """``2026年2月24日``: an instant as the China-time day it falls on (a naive one is UTC), or a day; "" for None."""
    if when is None:
        return ""
    if isinstance(when, datetime):
        when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(CHINA_TZ).date()
    return f"{when.year}年{when.month}月{when.day}日"


class _Labelled(StrEnum):
    """A StrEnum whose members have a Chinese label in :data:`LABELS`."""

    @property
    def label(self) -> str:
        return LABELS[type(self)][self]


class CaseKind(_Labelled):
    """What a case is (``Case.kind``): a service item's case, or a resident's 诉求 (issue 20)."""

    SERVICE = "service"
    REQUEST = "request"


class Urgency(_Labelled):
    """A 诉求's urgency (``Case.urgency``)."""

    NORMAL = "normal"
    URGENT = "urgent"


class FeedbackChannel(_Labelled):
    """How the resident of a 诉求 was told (``Case.feedback_channel``)."""

    PHONE = "phone"
    IN_PERSON = "in_person"
    SMS = "sms"


class State(_Labelled):
    DRAFT = "draft"
    PENDING_MATERIALS = "pending_materials"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"
    FORWARDED = "forwarded"
    REPLIED = "replied"
    IN_PROGRESS = "in_progress"  # a 诉求 with its first feedback given, not solved yet (issue 20)
    CLOSED = "closed"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class Action(_Labelled):
    CREATE_DRAFT = "create_draft"
    SAVE_DRAFT = "save_draft"
    AWAIT_MATERIALS = "await_materials"
    ACCEPT = "accept"
    RESOLVE = "resolve"
    FORWARD = "forward"
    ACKNOWLEDGE = "acknowledge"
    REASSIGN = "reassign"
    REPLY = "reply"
    CLOSE = "close"
    REFUSE = "refuse"
    WITHDRAW = "withdraw"
    REOPEN = "reopen"
    NOTE = "note"
    RECEIVE_MAKEUP = "receive_makeup"  # 容缺受理: the material the applicant pledged to bring was handed in
    # Issue 16: 好差评 and the supervisor's follow-up of a bad rating; 催办 of an overdue forwarded case.
    RATE = "rate"  # the resident's rating (round 1), or their second rating after the fix (round 2)
    FOLLOWUP_CALLBACK = "followup_callback"  # 差评回访: the supervisor called the resident back
    FOLLOWUP_FIX = "followup_fix"  # 差评整改: what was done about it
    REMIND = "remind"  # 催办: a reminder to the assignee of a forwarded case
    # Issue 20: a resident's 诉求 (a case of kind "request") and its 24-hour feedback.
    REGISTER_REQUEST = "register_request"  # 诉求登记: DRAFT → ACCEPTED, the clock starts
    HAND_OVER = "hand_over"  # 转交处理: to an external handler (物业…); the 块长 stays responsible
    GIVE_FEEDBACK = "give_feedback"  # 反馈居民: the (first) feedback to the resident → IN_PROGRESS
    CLOSE_REQUEST = "close_request"  # 办结 a request with its result


class Role(_Labelled):
    FRONT_DESK = "front_desk"
    LINE = "line"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class DocKind(_Labelled):
    RECEIPT = "receipt"
    COMPLETION = "completion"
    NOTICE = "notice"
    REFUSAL = "refusal"
    REPLY = "reply"
    CERTIFICATE = "certificate"  # a 证明 the committee issues (MZ-15), after the case is resolved
    APPLICATION = "application"  # the item's application form, prefilled from the answers, for the resident to sign
    MAKEUP_NOTICE = "makeup_notice"  # 容缺受理告知书, two copies (applicant's and the window's) on one PDF
    PLEDGE = "pledge"  # 告知承诺书: the pledge the applicant signed instead of the proofs it replaces
    PACKET = "packet"  # 申请材料清单 (issue 15): the answers and the materials as received, for the department
    REQUEST_SLIP = "request_slip"  # 诉求受理单 (issue 20): a 诉求's number, category, place, 24-hour feedback time


class AcceptanceMode(StrEnum):
    """How a case was accepted (``Case.acceptance_mode``; rules.md §8). The values are the names on paper."""

    ORDINARY = ""
    DEFERRED = "容缺受理"  # a minor material missing, brought later on the applicant's written pledge
    PLEDGE = "告知承诺制"  # a standard pledge signed instead of the proofs the item lists


class RatingLevel(_Labelled):
    """The five levels of GB/T 39734-2020 (一次一评). "未评价" is the absence of a rating, never a level."""

    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    BASIC = "basic"
    DISSATISFIED = "dissatisfied"
    VERY_DISSATISFIED = "very_dissatisfied"

    @property
    def bad(self) -> bool:
        """差评 (不满意 / 非常不满意): followed up by the supervisor."""
        return self in (RatingLevel.DISSATISFIED, RatingLevel.VERY_DISSATISFIED)

    @property
    def good(self) -> bool:
        """Counts as satisfied in the 满意率 (非常满意, 满意, 基本满意)."""
        return not self.bad


class RatingChannel(_Labelled):
    """Where a rating was given."""

    DESK = "desk"  # the resident-facing rating window at the desk
    QR = "qr"  # the receipt's QR page on the district server
    PHONE = "phone"  # told to the supervisor on the follow-up call (second rating only)


UNRATED_LABEL = "未评价"
RATING_TITLE = "服务评价"  # the heading of the rating on paper and on the QR page
SECOND_RATING_TITLE = "整改后再次评价"  # the second rating, after a bad rating's fix
# Reasons a resident may tick for a low rating (基本满意 and below); short, from the 好差评 forms.
RATING_REASONS: tuple[str, ...] = (
    "等候时间长", "态度不好", "一次没有说清楚", "材料要求多", "办理时间长", "结果不满意", "其他",
)


class ReplyResult(_Labelled):
    APPROVED = "approved"
    REFUSED = "refused"
    NEED_MORE = "need_more"


class InformMethod(_Labelled):
    PHONE = "phone"
    SMS = "sms"
    VISIT = "visit"
    IN_PERSON = "in_person"


class Mutation(StrEnum):
    """Names of the commands a desk pushes. A case action's command is ``Mutation.for_action(action)``."""

    RESIDENT_UPSERT = "resident.upsert.v1"
    CASE_CREATE = "case.create.v1"
    CASE_SAVE_DRAFT = "case.save_draft.v1"
    CASE_AWAIT_MATERIALS = "case.await_materials.v1"
    CASE_ACCEPT = "case.accept.v1"
    CASE_RESOLVE = "case.resolve.v1"
    CASE_FORWARD = "case.forward.v1"
    CASE_ACKNOWLEDGE = "case.acknowledge.v1"
    CASE_REASSIGN = "case.reassign.v1"
    CASE_REPLY = "case.reply.v1"
    CASE_CLOSE = "case.close.v1"
    CASE_REFUSE = "case.refuse.v1"
    CASE_WITHDRAW = "case.withdraw.v1"
    CASE_REOPEN = "case.reopen.v1"
    CASE_NOTE = "case.note.v1"
    CASE_RECEIVE_MAKEUP = "case.receive_makeup.v1"
    CASE_RATE = "case.rate.v1"
    CASE_FOLLOWUP_CALLBACK = "case.followup_callback.v1"
    CASE_FOLLOWUP_FIX = "case.followup_fix.v1"
    CASE_REMIND = "case.remind.v1"
    CASE_REGISTER_REQUEST = "case.register_request.v1"
    CASE_HAND_OVER = "case.hand_over.v1"
    CASE_GIVE_FEEDBACK = "case.give_feedback.v1"
    CASE_CLOSE_REQUEST = "case.close_request.v1"
    # 块区 (issue 20): a committee's blocks and their 块长, set at a desk by a 站长/admin.
    COMMITTEE_BLOCKS = "committee.blocks.v1"
    # Attachments (issue 15): the metadata travels as commands, after the case's; the bytes follow apart.
    ATTACHMENT_ADD = "attachment.add.v1"
    ATTACHMENT_REMOVE = "attachment.remove.v1"

    @classmethod
    def for_action(cls, action: Action) -> Mutation:
        return _ACTION_MUTATIONS[Action(action)]

    @property
    def label(self) -> str:
        """What the 同步 page calls the command: its action's label, or its own for create/save/resident."""
        action = self.action
        return action.label if action else _OWN_LABELS[self]

    @property
    def action(self) -> Action | None:
        """The case action a ``case.<action>.v1`` command performs; None for create/save/resident commands."""
        return _MUTATION_ACTIONS.get(self)


_ACTION_MUTATIONS: dict[Action, Mutation] = {
    Action.CREATE_DRAFT: Mutation.CASE_CREATE, Action.SAVE_DRAFT: Mutation.CASE_SAVE_DRAFT,
    Action.AWAIT_MATERIALS: Mutation.CASE_AWAIT_MATERIALS, Action.ACCEPT: Mutation.CASE_ACCEPT,
    Action.RESOLVE: Mutation.CASE_RESOLVE, Action.FORWARD: Mutation.CASE_FORWARD,
    Action.ACKNOWLEDGE: Mutation.CASE_ACKNOWLEDGE, Action.REASSIGN: Mutation.CASE_REASSIGN,
    Action.REPLY: Mutation.CASE_REPLY, Action.CLOSE: Mutation.CASE_CLOSE, Action.REFUSE: Mutation.CASE_REFUSE,
    Action.WITHDRAW: Mutation.CASE_WITHDRAW, Action.REOPEN: Mutation.CASE_REOPEN, Action.NOTE: Mutation.CASE_NOTE,
    Action.RECEIVE_MAKEUP: Mutation.CASE_RECEIVE_MAKEUP, Action.RATE: Mutation.CASE_RATE,
    Action.FOLLOWUP_CALLBACK: Mutation.CASE_FOLLOWUP_CALLBACK, Action.FOLLOWUP_FIX: Mutation.CASE_FOLLOWUP_FIX,
    Action.REMIND: Mutation.CASE_REMIND, Action.REGISTER_REQUEST: Mutation.CASE_REGISTER_REQUEST,
    Action.HAND_OVER: Mutation.CASE_HAND_OVER, Action.GIVE_FEEDBACK: Mutation.CASE_GIVE_FEEDBACK,
    Action.CLOSE_REQUEST: Mutation.CASE_CLOSE_REQUEST,
}
# Transition commands (create and save_draft carry a whole case and are handled apart).
_MUTATION_ACTIONS: dict[Mutation, Action] = {
    m: a for a, m in _ACTION_MUTATIONS.items() if a not in (Action.CREATE_DRAFT, Action.SAVE_DRAFT)
}

_OWN_LABELS = {Mutation.CASE_CREATE: "新建案件", Mutation.CASE_SAVE_DRAFT: "保存草稿",
               Mutation.RESIDENT_UPSERT: "登记/修改居民信息", Mutation.ATTACHMENT_ADD: "添加附件",
               Mutation.ATTACHMENT_REMOVE: "移除附件", Mutation.COMMITTEE_BLOCKS: "设置块区"}

LABELS: dict[type, dict] = {
    State: {
        State.DRAFT: "草稿", State.PENDING_MATERIALS: "待补材料", State.ACCEPTED: "已受理",
        State.RESOLVED: "当场办结", State.FORWARDED: "已转办", State.REPLIED: "已答复", State.IN_PROGRESS: "处理中",
        State.CLOSED: "已办结",
        State.REFUSED: "不予受理", State.WITHDRAWN: "已撤回",
    },
    Action: {
        Action.CREATE_DRAFT: "开始办理", Action.SAVE_DRAFT: "保存草稿", Action.AWAIT_MATERIALS: "一次性告知，待补材料",
        Action.ACCEPT: "受理", Action.RESOLVE: "当场办结", Action.FORWARD: "转办", Action.ACKNOWLEDGE: "签收",
        Action.REASSIGN: "改派", Action.REPLY: "答复", Action.CLOSE: "告知居民并办结", Action.REFUSE: "不予受理",
        Action.WITHDRAW: "撤回", Action.REOPEN: "重新打开", Action.NOTE: "备注",
        Action.RECEIVE_MAKEUP: "容缺材料已补交", Action.RATE: "评价", Action.FOLLOWUP_CALLBACK: "差评回访",
        Action.FOLLOWUP_FIX: "差评整改", Action.REMIND: "催办",
        Action.REGISTER_REQUEST: "诉求登记", Action.HAND_OVER: "转交处理", Action.GIVE_FEEDBACK: "反馈居民",
        Action.CLOSE_REQUEST: "办结",
    },
    CaseKind: {CaseKind.SERVICE: "服务事项", CaseKind.REQUEST: "诉求"},
    Urgency: {Urgency.NORMAL: "一般", Urgency.URGENT: "紧急"},
    FeedbackChannel: {FeedbackChannel.PHONE: "电话", FeedbackChannel.IN_PERSON: "当面",
                      FeedbackChannel.SMS: "短信"},
    Role: {Role.FRONT_DESK: "前台社工", Role.LINE: "条线社工", Role.SUPERVISOR: "站长", Role.ADMIN: "管理员"},
    DocKind: {
        DocKind.RECEIPT: "受理回执", DocKind.COMPLETION: "办结单", DocKind.NOTICE: "一次性告知单",
        DocKind.REFUSAL: "不予受理告知单", DocKind.REPLY: "答复告知", DocKind.CERTIFICATE: "证明",
        DocKind.APPLICATION: "申请表", DocKind.MAKEUP_NOTICE: "容缺受理告知书", DocKind.PLEDGE: "告知承诺书",
        DocKind.PACKET: "申请材料清单", DocKind.REQUEST_SLIP: "诉求受理单",
    },
    RatingLevel: {
        RatingLevel.VERY_SATISFIED: "非常满意", RatingLevel.SATISFIED: "满意", RatingLevel.BASIC: "基本满意",
        RatingLevel.DISSATISFIED: "不满意", RatingLevel.VERY_DISSATISFIED: "非常不满意",
    },
    RatingChannel: {RatingChannel.DESK: "窗口评价器", RatingChannel.QR: "扫码评价", RatingChannel.PHONE: "回访电话"},
    ReplyResult: {
        ReplyResult.APPROVED: "同意/已办理", ReplyResult.REFUSED: "不予批准", ReplyResult.NEED_MORE: "需居民补充",
    },
    InformMethod: {InformMethod.PHONE: "电话", InformMethod.SMS: "短信", InformMethod.VISIT: "上门",
                   InformMethod.IN_PERSON: "居民到窗口领取"},
}

STATE_LABELS: dict[str, str] = {str(k): v for k, v in LABELS[State].items()}
ROLE_LABELS: dict[str, str] = {str(k): v for k, v in LABELS[Role].items()}
DOC_TITLES: dict[str, str] = {str(k): v for k, v in LABELS[DocKind].items()}
REPLY_RESULTS: dict[str, str] = {str(k): v for k, v in LABELS[ReplyResult].items()}
INFORM_METHODS: dict[str, str] = {str(k): v for k, v in LABELS[InformMethod].items()}
RATING_LABELS: dict[str, str] = {str(k): v for k, v in LABELS[RatingLevel].items()}
URGENCY_LABELS: dict[str, str] = {str(k): v for k, v in LABELS[Urgency].items()}
FEEDBACK_CHANNELS: dict[str, str] = {str(k): v for k, v in LABELS[FeedbackChannel].items()}
# A 诉求's fixed fields (issue 20 contract): item code and mode of every request case.
REQUEST_ITEM_CODE = "SQ"
REQUEST_MODE = "诉求"


def rating_label(level: str | None) -> str:
    """A stored rating as the resident chose it, or 未评价."""
    return RATING_LABELS.get(level or "", UNRATED_LABEL)


def role_names(roles) -> str:
    """Chinese names of roles for messages and the status bar, e.g. ``前台社工、站长``."""
    return "、".join(ROLE_LABELS.get(str(r), str(r)) for r in roles)
