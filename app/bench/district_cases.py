"""One case of ``bench district``: its row, its events and its change row (app/bench/district_rows.py).

The lifecycle is built forward in time from the mix of app/bench/report.py, in microseconds since the epoch;
ratings, follow-ups and reminders are dated on their own, so :meth:`_Case.finish` puts the history in time
order and gives each event its states, as ``apply_transition`` would have.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from app.bench.district_rows import (
    CATALOG_VERSION,
    DAY,
    DEVICE_CODE,
    ENCODERS,
    HOUR,
    MIN,
    NOW_US,
    US,
    Dumped,
    copy_text,
    iso,
)
from app.bench.report import LEVELS, ON_SPOT, TO_FORWARD
from app.core.ratings import FollowupDays
from app.core.vocabulary import RATING_REASONS, AcceptanceMode, Action, RatingLevel, State

if TYPE_CHECKING:
    from app.bench.district_rows import CommitteeState, Generator

# Every column of a case row that the lifecycle may leave as it is (NOT NULL ones with their default).
_BASE: dict[str, Any] = {
    "official_number": None, "agent": None, "draft_step": 0, "accepted_at": None, "assignee_id": None,
    "assignee_queue": None, "forwarded_by_id": None, "forwarded_at": None, "forward_note": "", "due_at": None,
    "deadline_provisional": False, "acknowledged_at": None, "replied_at": None, "reply_result": None,
    "reply_text": "", "result_text": "", "refusal_reason": "", "redirect_to": "", "inform_method": None,
    "closed_at": None, "rule_warnings": [], "warning_note": "", "acceptance_mode": "", "makeup_due": None,
    "makeup_materials": [], "pledge_text": "", "rating": None, "rated_at": None, "rating_channel": "",
    "rating_reasons": [], "rating_note": "", "followup_callback_due": None, "followup_fix_due": None,
    "followup_called_at": None, "followup_call_note": "", "followup_fixed_at": None, "followup_fix_note": "",
    "followup_by_id": None, "second_rating": None, "second_rated_at": None, "reminded_at": None, "remind_count": 0,
    "kind": "service", "request_category": None, "block_code": "", "urgency": None, "feedback_due_at": None,
    "first_feedback_at": None, "feedback_channel": None, "promised_at": None, "external_handler": None,
}
_FOLLOWUP = FollowupDays()
_WARNING = [{"level": "warn", "message": "申请人户籍不在本街道，是否符合条件由业务部门审核"}]
_CASE_LINE = ENCODERS["case"].line
_EVENT_LINE = ENCODERS["case_event"].line
_S = {s: str(s) for s in State}
# A case's answers and materials (the item's, a few KB) are dumped once per item and spliced in where these
# stand: in the row, in the accept event's detail and in the change row's payload.
_DATA, _MATERIALS = "@@data@@", "@@materials@@"
_DATA_AT, _MATERIALS_AT = json.dumps(_DATA), json.dumps(_MATERIALS)
_TEXTS: dict[str, tuple[str, str, str, str]] = {}


def _texts(g: Generator, code: str) -> tuple[str, str, str, str]:
    """The item's answers and materials as JSON, and as COPY values."""
    got = _TEXTS.get(code)
    if got is None:
        fields, materials = g.templates[code]
        data, mats = json.dumps(fields), json.dumps(materials)
        got = _TEXTS[code] = (data, mats, copy_text(data), copy_text(mats))
    return got
_A = {a: str(a) for a in Action}


class _Case:
    def __init__(self, g: Generator, com: CommitteeState, row: dict[str, Any]) -> None:
        self.g, self.com, self.row = g, com, row
        self.events: list[list[Any]] = []  # [at, worker, action, to_state, note, detail]

    def event(self, action: Action, at: int, worker: str | None, to: State | None = None, note: str = "",
              **detail: Any) -> None:
        """``to``: the state the action moves the case to; None for one that leaves it (rate, remind, …)."""
        self.events.append([at, worker, _A[action], None if to is None else _S[to], note, detail])

    def finish(self) -> tuple[list[str], list[str], int]:
        """The case's COPY line, its events' lines, and when its last change was committed; the change row
        (the case's payload with its events) is handed to the generator."""
        g, row = self.g, self.row
        rng, uid = g.rng, g.uid
        self.events.sort(key=lambda e: e[0])  # stable: same-instant events keep the order they were made in
        data, mats, data_copy, mats_copy = _texts(g, row["item_code"])
        state: str | None = None
        lines, pieces = [], []
        dumps = json.dumps
        for seq, (at, worker, action, to, note, detail) in enumerate(self.events, 1):
            to = to or state or ""
            # the audit the server adds to every event it applies (app/server/mutations.py ServerEnv.audit)
            detail.update(client_time=iso(at - 400_000), received_at=iso(at + rng.randrange(2, 90) * US),
                          clock_offset_s=0.4, clock_offset_from="desk", device=DEVICE_CODE,
                          mutation_id=uid(at))
            head: dict[str, Any] = {"id": uid(at), "case_id": row["id"], "seq": seq, "at": iso(at),
                                    "worker_id": worker, "action": action, "from_state": state, "to_state": to,
                                    "note": note}
            detail_json = Dumped(dumps(detail))
            pieces.append(f'{dumps(head)[:-1]}, "detail": {detail_json}}}')  # = dumps(head + detail)
            head["detail"] = detail_json
            line = _EVENT_LINE(head, plain=True)
            lines.append(line.replace(_DATA_AT, data_copy, 1).replace(_MATERIALS_AT, mats_copy, 1)
                         if _DATA_AT in line else line)
            state = to
        last = self.events[-1][0]
        row.update(state=state or "", updated_at=iso(last), version=len(lines))
        # = dumps(row + {"events": [...]}), the events' JSON made once
        payload = f'{dumps(row)[:-1]}, "events": [{", ".join(pieces)}]}}'
        committed = last + rng.randrange(3, 120) * US
        g.change(committed, self.com.id, "case", row["id"], payload.replace(_DATA_AT, data).replace(_MATERIALS_AT,
                                                                                                     mats))
        g.counts["case_event"] = g.counts.get("case_event", 0) + len(lines)
        case_line = _CASE_LINE(row, plain=True).replace(_DATA_AT, data_copy, 1).replace(_MATERIALS_AT, mats_copy, 1)
        return [case_line], lines, committed


def build_case(g: Generator, com: CommitteeState, day: dt.date, day_start: int, k: int
               ) -> tuple[int, int, list[str], list[str]]:
    """The ``k``-th case of ``com`` on ``day`` (``day_start``: its China midnight): (created, k, row line,
    event lines)."""
    rng = g.rng
    code, name, dept, mode = rng.choice(ON_SPOT if rng.random() < 0.45 else TO_FORWARD)
    created = day_start + 8 * HOUR + 30 * MIN + int(rng.random() * 500 * MIN)
    desk = com.desk[rng.randrange(len(com.desk))]
    if not com.residents or rng.random() < 0.125:
        applicant = g.resident(com, created - rng.randrange(2, 15) * MIN)
    else:
        applicant = com.residents[rng.randrange(len(com.residents))]
    row = dict(_BASE)
    row.update(id=g.uid(created), committee_id=com.id, case_number=f"{com.code}-{DEVICE_CODE}-{day:%Y%m%d}-{k:04d}",
               item_code=code, item_name=name, catalog_version=CATALOG_VERSION, department=dept, mode=mode,
               state="", applicant_id=applicant, data=_DATA, materials=_MATERIALS, created_by_id=desk,
               origin_device_code=DEVICE_CODE, verification_code=f"{rng.getrandbits(32):08X}",
               created_at=iso(created))
    if rng.random() < 0.04:
        row["agent"] = {"name": "代办人", "id_number": "", "relation": "子女", "phone": "13900000000"}
    b = _Case(g, com, row)
    b.event(Action.CREATE_DRAFT, created, desk, State.DRAFT)
    _intake(b, created, desk, mode, dept)
    case_lines, event_lines, _committed = b.finish()
    return created, k, case_lines, event_lines


def _intake(b: _Case, created: int, desk: str, mode: str, dept: str) -> None:
    rng, row = b.g.rng, b.row
    r = rng.random()
    if r < 0.02:  # refused at the window: never accepted, no case of any period
        b.event(Action.REFUSE, created + 8 * MIN, desk, State.REFUSED, reason="不符合申请条件")
        row["refusal_reason"], row["closed_at"] = "不符合申请条件", iso(created + 8 * MIN)
        return
    if r < 0.03:  # 一次性告知: waiting for materials
        b.event(Action.AWAIT_MATERIALS, created + 10 * MIN, desk, State.PENDING_MATERIALS, data=_DATA,
                materials=_MATERIALS, missing=["户口簿"])
        return
    accepted = created + int(rng.uniform(3, 20) * MIN)
    detail: dict[str, Any] = {"data": row["data"], "materials": row["materials"], "missing": []}
    flex = rng.random()
    if flex < 0.03:
        due = (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=accepted + 8 * HOUR + 7 * DAY)).date()
        row.update(acceptance_mode=str(AcceptanceMode.DEFERRED), makeup_materials=["户口簿复印件"],
                   makeup_due=due.isoformat())
        detail.update(acceptance_mode=str(AcceptanceMode.DEFERRED), makeup_materials=["户口簿复印件"],
                      makeup_due=due.isoformat(), credit_checked=True)
    elif flex < 0.05:
        row.update(acceptance_mode=str(AcceptanceMode.PLEDGE), pledge_text="本人承诺所填信息真实")
        detail.update(acceptance_mode=str(AcceptanceMode.PLEDGE), pledge_text="本人承诺所填信息真实")
    if rng.random() < 0.03:  # the resident insisted despite a warning: the department decides
        row.update(rule_warnings=_WARNING, warning_note="居民坚持申请")
        detail.update(rule_warnings=_WARNING, warning_note="居民坚持申请")
    row["accepted_at"] = iso(accepted)
    b.event(Action.ACCEPT, accepted, desk, State.ACCEPTED, **detail)
    r = rng.random()
    if r < 0.02:
        b.event(Action.WITHDRAW, accepted + 15 * MIN, desk, State.WITHDRAWN, note="居民决定暂不申请")
        row["closed_at"] = iso(accepted + 15 * MIN)
    elif r < 0.03:
        b.event(Action.REFUSE, accepted + 20 * MIN, desk, State.REFUSED, reason="材料不符合要求")
        row["refusal_reason"], row["closed_at"] = "材料不符合要求", iso(accepted + 20 * MIN)
    elif r < 0.035:
        pass  # 在办: accepted, no outcome chosen yet
    elif mode == "即办":
        done = accepted + int(rng.uniform(4, 30) * MIN)
        b.event(Action.RESOLVE, done, desk, State.RESOLVED, result_text="已办结")
        row["result_text"], row["closed_at"] = "已办结", iso(done)
        _rate(b, done, desk)
    else:
        _forwarded(b, accepted + int(rng.uniform(2, 12) * MIN), desk, dept)


def _forwarded(b: _Case, at: int, desk: str, dept: str) -> None:
    g, row = b.g, b.row
    rng = g.rng
    rated = False
    for round_ in range(3):
        lines = b.com.by_line[dept]
        line = lines[rng.randrange(len(lines))]
        due = g.due(at)
        assignee = None if rng.random() < 0.2 else line
        row.update(assignee_id=assignee, assignee_queue=dept, forwarded_by_id=desk, forwarded_at=iso(at),
                   due_at=iso(due), deadline_provisional=False, acknowledged_at=None, forward_note="请审核")
        b.event(Action.FORWARD, at, desk, State.FORWARDED, note="请审核", assignee_id=assignee, queue=dept,
                due_at=iso(due), provisional=False, forwarded_at=iso(at))
        if round_ == 0 and rng.random() < 0.55:  # rated at the desk with the receipt
            rated = True
            _rate(b, at + 2 * MIN, desk)
        if rng.random() < 0.01 and at + 30 * DAY < NOW_US:  # withdrawn while the department works on it
            end = at + int(rng.uniform(1, 5) * DAY)
            b.event(Action.WITHDRAW, end, desk, State.WITHDRAWN, note="居民撤回申请")
            row["closed_at"] = iso(end)
            return
        ack = at + int(rng.uniform(0.5, 20) * HOUR)
        if ack > NOW_US:
            return
        row.update(assignee_id=line, acknowledged_at=iso(ack))
        b.event(Action.ACKNOWLEDGE, ack, line, assignee_id=line)
        r = rng.random()
        if r < 0.85:  # on time: before the deadline
            replied = ack + int((due - ack) * rng.uniform(0.05, 0.98)) if due > ack else ack + 10 * MIN
        elif r < 0.88:  # on the due day, after close of business: late
            replied = due + int(rng.uniform(5, 120) * MIN)
        elif r < 0.995:
            replied = due + int(rng.uniform(0.1, 4) * DAY)
        else:  # forgotten: still open long after its deadline
            replied = NOW_US + DAY
        if replied > NOW_US:
            _remind(b, due, desk)
            return
        again = round_ < 2 and rng.random() < 0.05
        result = "need_more" if again else ("refused" if rng.random() < 0.1 else "approved")
        row.update(replied_at=iso(replied), reply_result=result, reply_text="经审核，已办理")
        b.event(Action.REPLY, replied, line, State.REPLIED, result=result, text="经审核，已办理", attachments=[])
        if again:
            at = replied + int(rng.uniform(0.5, 24) * HOUR)
            if at > NOW_US:
                return
            continue
        closed = replied + int(rng.uniform(0.5, 48) * HOUR)
        if closed > NOW_US:
            return
        row.update(inform_method="phone", closed_at=iso(closed))
        b.event(Action.CLOSE, closed, desk, State.CLOSED, inform_method="phone")
        if not rated:
            _rate(b, closed, desk)
        return


def _remind(b: _Case, due: int, desk: str) -> None:
    """Open past its deadline: the 站长 sends a 催办 on some (once or twice)."""
    rng, row = b.g.rng, b.row
    if due >= NOW_US or rng.random() < 0.5:
        return
    for k in range(rng.choice((1, 1, 2))):
        at = due + int((k + 1) * rng.uniform(0.5, 1.5) * DAY)
        if at >= NOW_US:
            return
        row["reminded_at"], row["remind_count"] = iso(at), row["remind_count"] + 1
        b.event(Action.REMIND, at, b.com.boss, note="请尽快答复", remind_count=row["remind_count"])


def _rate(b: _Case, at: int, desk: str) -> None:
    """一次一评 on ~70 % of the cases finished at the desk; a bad one gets its follow-up."""
    g, row = b.g, b.row
    rng = g.rng
    if rng.random() >= 0.7 or at > NOW_US:
        return
    level: RatingLevel = LEVELS[rng.randrange(len(LEVELS))]
    channel = "qr" if rng.random() < 0.1 else "desk"
    at = at + (int(rng.uniform(1, 72) * HOUR) if channel == "qr" else MIN)
    if at > NOW_US:
        return
    reasons = [] if level in (RatingLevel.VERY_SATISFIED, RatingLevel.SATISFIED) else \
        rng.sample(RATING_REASONS[:-1], rng.choice((1, 1, 2)))
    row.update(rating=str(level), rated_at=iso(at), rating_channel=channel, rating_reasons=reasons)
    detail: dict[str, Any] = {"level": str(level), "round": 1, "channel": channel, "reasons": reasons,
                              "comment": ""}
    rater = None if channel == "qr" else desk
    if not level.bad:
        b.event(Action.RATE, at, rater, **detail)
        return
    callback_due, fix_due = g.due(at, _FOLLOWUP.callback_days), g.due(at, _FOLLOWUP.fix_days)
    row.update(followup_callback_due=iso(callback_due), followup_fix_due=iso(fix_due))
    b.event(Action.RATE, at, rater, followup_callback_due=iso(callback_due), followup_fix_due=iso(fix_due),
            **detail)
    boss = b.com.boss
    called = callback_due - int(rng.uniform(1, 20) * HOUR) if rng.random() < 0.9 \
        else callback_due + int(rng.uniform(1, 3) * DAY)
    called = max(called, at + 30 * MIN)
    if called > NOW_US:
        return
    row.update(followup_called_at=iso(called), followup_call_note="已电话回访", followup_by_id=boss)
    b.event(Action.FOLLOWUP_CALLBACK, called, boss, note="已电话回访", called_at=iso(called))
    fixed = called + int(rng.uniform(1, 12) * DAY)
    if fixed > NOW_US or rng.random() < 0.05:
        return
    row.update(followup_fixed_at=iso(fixed), followup_fix_note="已整改")
    b.event(Action.FOLLOWUP_FIX, fixed, boss, note="已整改", fixed_at=iso(fixed))
    if rng.random() < 0.6:
        second = fixed + int(rng.uniform(1, 48) * HOUR)
        if second <= NOW_US:
            level2 = (RatingLevel.SATISFIED, RatingLevel.BASIC, RatingLevel.VERY_SATISFIED)[rng.randrange(3)]
            row.update(second_rating=str(level2), second_rated_at=iso(second))
            b.event(Action.RATE, second, boss, level=str(level2), round=2, channel="phone")
