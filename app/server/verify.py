"""The resident's progress page behind a document's QR code: ``GET /v/{case_number}?c=CODE``, no login.

It shows the state and the promised reply date only: the case number (printed on the receipt anyway), the state
and its plain sentence, the promised reply date and whether it has passed. Not the item (a name such as 低保 or
特困供养 would tell anyone holding a photo of the receipt the resident's situation), not the date of the last
step; never a name, an ID number, a note or a department's text. A wrong or missing code, a malformed number,
an unknown case and any other path under ``/v/`` (app/server/api.py) all get the same 404 page, so the page cannot
tell a guesser which case numbers exist. Requests are rate limited per client address
(every request, and failed look-ups more strictly); the verification code (8 characters from the desk) is what
keeps guessing out, the limits keep it slow.

Case numbers are unique per committee, and the server only takes a number that starts with its committee's code
and a hyphen (``app/server/mutations.py``; committee codes are letters and digits): the committee is found from
that prefix, so the look-up uses the (committee, case number) index and a number never reaches another
committee's case; the code then has to match (compared in constant time).

**Rating (好差评, issue 16).** A case that can take a rating (``app.core.ratings.rating_round``: 1, or 2 after a bad
rating's fix) shows a plain form — five levels with none chosen, the reasons of a low rating, a note — posted back to
the page's own address (``POST /v/{case}?c=CODE``: a form without an action keeps the query, so the page never
echoes the code). The server runs the same core action as a desk's rating (``Action.RATE``,
channel ``qr``, no worker: the rating is the resident's) under the change-log lock, with the follow-up deadlines of
a bad rating from the server's calendar and the committee's settings, and writes the case's change row, so the
committee's desks get the rating by pull. The event names no command (no desk made it), so a desk's next
command on the case is never held waiting for it. A wrong code gets the very not-found page a GET gets; bad input
a Chinese message page (400/422) and nothing changed; a case rated already the rule's own refusal.
"""

from __future__ import annotations

import datetime as dt
import hmac
import html
import logging
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from app.core import actions, limits
from app.core.commands import BadCommand, RateArgs
from app.core.errors import UserError
from app.core.machine import FORWARDED
from app.core.ratings import LEVEL_MISSING, check_reasons, followup_days, followup_deadlines, parse_level, rating_round
from app.core.requests import FEEDBACK_DUE_LABEL, is_request, request_state_label
from app.core.verify import CASE_NUMBER_LABEL, normalise_code, valid_case_number, valid_code
from app.core.vocabulary import (
    CHINA_TZ,
    RATING_REASONS,
    RATING_TITLE,
    SECOND_RATING_TITLE,
    STATE_LABELS,
    Action,
    RatingChannel,
    RatingLevel,
    State,
    chinese_date,
)
from app.core.workdays import WorkCalendar, parse_close_of_business
from app.server import ratelimit
from app.server.admin import server_calendar
from app.server.changes import ChangeWriter, scope_of
from app.server.db import ServerDB, take_lock
from models.server import Case, Committee

log = logging.getLogger(__name__)

# A resident opens the page once or twice; a household behind one address a few times. Failed look-ups are
# what a guesser produces: few are allowed.
VERIFY_PER_IP = ratelimit.Limit(30, 60.0)
VERIFY_FAILURES_PER_IP = ratelimit.Limit(10, 60.0)

NOT_FOUND = "未找到该办件，请核对回执上的二维码"
TITLE = "办理进度查询"

# One sentence per state, for the resident (the worker's labels stay as they are: STATE_LABELS).
STATE_HINTS = {
    State.DRAFT: "申请尚未受理。",
    State.PENDING_MATERIALS: "材料尚未齐全，请按一次性告知单补齐材料后到社区服务站办理。",
    State.ACCEPTED: "社区已受理您的申请。",
    State.RESOLVED: "您的申请已当场办结。",
    State.FORWARDED: "材料已转交承办部门，正在办理中；办理结果由社区通知您。",
    State.REPLIED: "承办部门已答复，社区将通知您办理结果。",
    State.CLOSED: "已办结，办理结果已告知。",
    State.REFUSED: "申请未予受理，详见不予受理告知单。",
    State.WITHDRAWN: "申请已撤回。",
}

# Strict headers: nothing loaded from elsewhere, the link (with its code) not passed on, not cached, not indexed.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    # The rating form posts to this server only.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'",
}


@dataclass(frozen=True)
class Progress:
    case_number: str
    state: str
    due_at: dt.datetime | None
    provisional: bool
    case_id: uuid.UUID | None = None
    rating_round: int | None = None  # which rating the case takes now (app/core/ratings.py), None: none
    rated: bool = False  # the resident has rated it (the level itself is not shown)
    # 诉求 (issue 20): a request shows its own words and its 24-hour feedback (or the promised time); no rating.
    request: bool = False
    feedback_due_at: dt.datetime | None = None
    first_feedback_at: dt.datetime | None = None
    promised_at: dt.datetime | None = None

    def overdue(self, now: dt.datetime) -> bool:
        """Past the promised reply time while the department has not answered yet."""
        return self.state == FORWARDED and self.due_at is not None and _utc(self.due_at) < _utc(now)


@dataclass(frozen=True)
class Page:
    status: int
    html: str
    headers: dict[str, str]


def _utc(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def find_progress(db: ServerDB, case_number: str, code: str) -> Progress | None:
    """The case with this number whose verification code is ``code``, else None (also for malformed input)."""
    case_number, code = (case_number or "").strip(), normalise_code(code)
    if not valid_case_number(case_number) or not valid_code(code):
        return None
    committee_code, sep, _ = case_number.partition("-")
    if not sep:
        return None
    with db.read_sessions() as s:
        committee = select(Committee.id).where(Committee.code == committee_code).scalar_subquery()
        candidates = s.scalars(select(Case).where(Case.committee_id == committee,
                                                  Case.case_number == case_number)).all()
        case = next((c for c in candidates if c.verification_code
                     and hmac.compare_digest(normalise_code(c.verification_code), code)), None)
        if case is None:
            return None
        if is_request(case):
            return Progress(case_number=case.case_number, state=case.state, due_at=None, provisional=False,
                            case_id=case.id, request=True, feedback_due_at=case.feedback_due_at,
                            first_feedback_at=case.first_feedback_at, promised_at=case.promised_at)
        return Progress(case_number=case.case_number, state=case.state, due_at=case.due_at,
                        provisional=case.deadline_provisional, case_id=case.id, rating_round=rating_round(case),
                        rated=case.rating is not None)


# ----- the page -----------------------------------------------------------------------------------------------------
_STYLE = """
*{box-sizing:border-box}
body{margin:0;background:#f3f5f8;color:#1f2933;font:16px/1.6 -apple-system,"PingFang SC","Microsoft YaHei",
"Noto Sans CJK SC","Source Han Sans SC",sans-serif}
main{max-width:32em;margin:0 auto;padding:1.2em 1em 2em}
h1{font-size:1.25em;margin:0 0 .8em;text-align:center}
.card{background:#fff;border-radius:10px;padding:1em 1.1em;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.state{font-size:1.4em;font-weight:bold;color:#175cd3;margin:.1em 0 .2em}
.hint{color:#52606d;margin:0 0 .8em}
dl{margin:0;display:grid;grid-template-columns:auto 1fr;gap:.45em 1em}
dt{color:#7b8794;white-space:nowrap}
dd{margin:0;overflow-wrap:anywhere}
.late{color:#b42318;font-weight:bold}
.none{text-align:center;padding:2em 1em}
.rate{margin-top:1.1em;padding-top:1em;border-top:1px solid #e4e7eb}
h2{font-size:1.1em;margin:0 0 .3em}
fieldset{border:0;margin:0 0 .9em;padding:0}
legend{font-weight:bold;padding:0;margin-bottom:.4em}
.sub{color:#52606d;font-size:.9em;margin:0 0 .6em}
.opt{display:flex;align-items:center;gap:.7em;min-height:3em;padding:.55em .9em;margin:.45em 0;
border:1px solid #cbd2d9;border-radius:8px;background:#fff;font-size:1.05em}
.opt input{width:1.4em;height:1.4em;margin:0;flex:none}
.opt:has(input:checked){border-color:#175cd3;background:#eef4ff}
.reasons .opt{min-height:2.6em;font-size:1em}
textarea{width:100%;min-height:6em;font:inherit;padding:.6em;border:1px solid #cbd2d9;border-radius:8px}
button{display:block;width:100%;min-height:3.2em;font:inherit;font-size:1.1em;font-weight:bold;color:#fff;
background:#175cd3;border:0;border-radius:8px;margin-top:.4em}
.done{color:#067647;font-weight:bold;margin:.8em 0 0}
.thanks{font-size:1.2em;font-weight:bold;color:#067647;margin:0 0 .4em}
footer{color:#9aa5b1;font-size:.85em;text-align:center;margin-top:1.2em}
"""


def _due_text(p: Progress) -> str:
    assert p.due_at is not None
    local = _utc(p.due_at).astimezone(CHINA_TZ)
    return f"{chinese_date(p.due_at)} {local:%H:%M} 前" + ("（暂定）" if p.provisional else "")


def _document(body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta name=\"robots\" content=\"noindex, nofollow\">"
            f"<title>{TITLE}</title><style>{_STYLE}</style></head>"
            f"<body><main><h1>{TITLE}</h1>{body}"
            "<footer>本页只显示办理进度和服务评价，不含个人信息。如有疑问请联系受理的社区服务站。</footer>"
            "</main></body></html>\n")


REQUEST_HINTS = {
    State.ACCEPTED: "社区已登记您的诉求，将在24小时内给您反馈。",
    State.IN_PROGRESS: "社区已给您反馈，正在处理中。",
    State.CLOSED: "您的诉求已办结。",
    State.WITHDRAWN: "诉求已撤回。",
}


def _request_html(p: Progress) -> str:
    e = html.escape
    rows = [(CASE_NUMBER_LABEL, e(p.case_number))]
    if p.first_feedback_at is None and p.feedback_due_at is not None:
        rows.append((FEEDBACK_DUE_LABEL, e(f"{chinese_date(p.feedback_due_at)} "
                                   f"{_utc(p.feedback_due_at).astimezone(CHINA_TZ):%H:%M} 前")))
    elif p.first_feedback_at is not None:
        rows.append(("已反馈", e(f"{chinese_date(p.first_feedback_at)} "
                                 f"{_utc(p.first_feedback_at).astimezone(CHINA_TZ):%H:%M}")))
        if p.promised_at is not None and p.state == State.IN_PROGRESS:
            rows.append(("预计处理", e(f"{chinese_date(p.promised_at)} "
                                       f"{_utc(p.promised_at).astimezone(CHINA_TZ):%H:%M} 前")))
    items = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    hint = REQUEST_HINTS.get(State(p.state), "") if p.state in STATE_LABELS else ""
    return _document(f'<div class="card"><div class="state">{e(request_state_label(p.state))}</div>'
                     f'<p class="hint">{e(hint)}</p><dl>{items}</dl></div>')


def progress_html(p: Progress, now: dt.datetime) -> str:
    if p.request:
        return _request_html(p)
    e = html.escape
    label = STATE_LABELS.get(p.state, p.state)
    hint = STATE_HINTS.get(State(p.state), "") if p.state in STATE_LABELS else ""
    rows = [(CASE_NUMBER_LABEL, e(p.case_number))]
    if p.due_at is not None:
        due = e(_due_text(p))
        if p.overdue(now):
            due += '<br><span class="late">已超过承诺答复时间，可向受理的社区服务站询问</span>'
        rows.append(("承诺答复", due))
    items = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    after = ""
    if p.rating_round is not None:
        after = rating_form_html(p)
    elif p.rated:
        after = f'<p class="done">{e(RATED_NOTE)}</p>'
    return _document(f'<div class="card"><div class="state">{e(label)}</div>'
                     f'<p class="hint">{e(hint)}</p><dl>{items}</dl>{after}</div>')


# ----- the rating form (issue 16) --------------------------------------------------------------------------------
RATE_NOTE_CHARS = 500  # the resident's own words on a phone: a few sentences
RATE_BODY_BYTES = 16 * 1024  # the form's fields percent-encoded (a 500-character note is about 4.5 KB)
RATE_FIELDS = 40
RATED_NOTE = "您已对本次服务作出评价，感谢您的反馈。"
BAD_ENCODING = "提交的内容无法识别（文字编码不是 UTF-8），请返回重新填写"
BAD_FORM = "提交的内容不符合要求，请返回评价页面重新填写"
NOTE_TOO_LONG = f"补充说明过长（最多 {RATE_NOTE_CHARS} 个字），请返回修改"
NOTE_UNSTORABLE = "补充说明含有无法保存的特殊字符，请返回修改"
FORM_TYPE = "application/x-www-form-urlencoded"


def rating_form_html(p: Progress) -> str:
    """Five levels with none chosen (GB/T 39734-2020: never steered), the reasons of a low rating, a note."""
    e = html.escape
    second = p.rating_round == 2
    title = SECOND_RATING_TITLE if second else RATING_TITLE
    intro = ("社区已对您上次的评价进行了整改，欢迎您再次评价。" if second else
             "欢迎您对本次服务作出评价（自愿参加，评价人信息依法予以保护）。评价提交后不能修改。")
    levels = "".join(f'<label class="opt"><input type="radio" name="level" value="{e(str(level))}" required>'
                     f"{e(level.label)}</label>" for level in RatingLevel)
    reasons = "" if second else (
        '<fieldset class="reasons"><legend>评价不高的原因（可多选）</legend>'
        '<p class="sub">选择“基本满意”“不满意”或“非常不满意”时填写，其他等级可不选。</p>'
        + "".join(f'<label class="opt"><input type="checkbox" name="reasons" value="{e(r)}">{e(r)}</label>'
                  for r in RATING_REASONS) + "</fieldset>")
    note = "" if second else (
        f'<fieldset><legend><label for="note">补充说明（选填）</label></legend>'
        f'<textarea id="note" name="note" maxlength="{RATE_NOTE_CHARS}" '
        f'placeholder="最多 {RATE_NOTE_CHARS} 字；请勿填写身份证号等个人信息"></textarea></fieldset>')
    # No action: the form posts to the page's own address, query (the code) included.
    return ('<form class="rate" method="post" accept-charset="utf-8">'
            f"<h2>{title}</h2><p class=\"sub\">{e(intro)}</p>"
            f'<input type="hidden" name="round" value="{p.rating_round}">'
            f"<fieldset><legend>评价等级</legend>{levels}</fieldset>{reasons}{note}"
            "<button type=\"submit\">提交评价</button></form>")


def thanks_html(level: RatingLevel, round_: int) -> str:
    e = html.escape
    what = "再次评价" if round_ == 2 else "评价"
    follow = ("<p class=\"hint\">社区将尽快与您联系，了解情况并改进。</p>" if level.bad and round_ == 1 else "")
    return _document(f'<div class="card none"><p class="thanks">感谢您的{what}！</p>'
                     f'<p class="hint">您的{what}：{e(level.label)}。评价提交后不能修改。</p>{follow}</div>')


class FormProblem(UserError):
    """The form as posted cannot be taken; Chinese message, shown on a page with ``status``."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RatingForm:
    round: int | None
    level: RatingLevel
    reasons: list[str]
    note: str


def parse_form(body: bytes, content_type: str) -> dict[str, list[str]]:
    """The posted fields (url-encoded, UTF-8), or FormProblem (400) for a body no form of ours sends."""
    if content_type.split(";", 1)[0].strip().lower() != FORM_TYPE:
        raise FormProblem(BAD_FORM, 400)
    if len(body) > RATE_BODY_BYTES:
        raise FormProblem(NOTE_TOO_LONG, 413)
    try:
        text = body.decode("ascii")  # a browser percent-encodes everything else
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict",
                          max_num_fields=RATE_FIELDS)
    except UnicodeDecodeError:
        raise FormProblem(BAD_ENCODING, 400) from None
    except ValueError:  # too many fields
        raise FormProblem(BAD_FORM, 400) from None
    fields: dict[str, list[str]] = {}
    for key, value in pairs:
        fields.setdefault(key, []).append(value)
    return fields


def _one(fields: dict[str, list[str]], key: str) -> str:
    values = fields.get(key) or [""]
    if len(values) > 1:
        raise FormProblem(BAD_FORM, 400)
    return values[0]


def check_form(fields: dict[str, list[str]]) -> RatingForm:
    """The rating the form holds, checked by the core rules; FormProblem (422) for what a resident can fix."""
    level_text = _one(fields, "level").strip()
    if not level_text:
        raise FormProblem(LEVEL_MISSING)
    try:
        level = parse_level(level_text)
        reasons = check_reasons(level, [r.strip() for r in fields.get("reasons", []) if r.strip()])
    except UserError as e:
        raise FormProblem(str(e)) from None
    note = _one(fields, "note").strip()
    if len(note) > RATE_NOTE_CHARS:
        raise FormProblem(NOTE_TOO_LONG)
    if limits.has_unstorable(note):
        raise FormProblem(NOTE_UNSTORABLE)
    round_text = _one(fields, "round").strip()
    if round_text not in ("", "1", "2"):
        raise FormProblem(BAD_FORM, 400)
    return RatingForm(round=int(round_text) if round_text else None, level=level,
                      reasons=reasons, note=note)


class ResidentEnv:
    """The server's side of the resident's own rating: no colleague, no resident or reply deadline is involved;
    a bad rating's follow-up deadlines come from the server's calendar and the committee's settings."""

    def __init__(self, committee: Committee, calendar: WorkCalendar, now: dt.datetime):
        self.committee, self.calendar = committee, calendar
        self.audit: dict[str, Any] = {"received_at": now.isoformat(), "source": "progress_page"}

    def colleague(self, worker_id: uuid.UUID) -> None:
        return None

    def resident_id(self, resident_id: uuid.UUID | None) -> uuid.UUID | None:
        return None

    def deadline(self, at: dt.datetime) -> tuple[dt.datetime, bool]:
        raise actions.ActionRefused("评价不改变答复期限")

    def _close_of_business(self) -> dt.time:
        return parse_close_of_business(self.committee.close_of_business)

    def followup_deadlines(self, at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        return followup_deadlines(at, self.calendar, followup_days(self.committee.settings), self._close_of_business())


def record_rating(db: ServerDB, case_id: uuid.UUID, form: RatingForm, now: dt.datetime) -> int:
    """The resident's rating through the core action, with the case's change row, in one transaction under the
    change-log lock (as a push). Returns the round rated; UserError (the rule's Chinese refusal) changes nothing."""
    with db.sessions.begin() as s:
        committee_id = s.scalar(select(Case.committee_id).where(Case.id == case_id))
        if committee_id is not None:  # before the case is read: a push of its committee may be changing it
            take_lock(s, scope_of(committee_id))
        case = s.get_one(Case, case_id, options=[selectinload(Case.events)])
        committee = s.get_one(Committee, case.committee_id)
        wanted = form.round or rating_round(case) or 1
        cmd = RateArgs(case_id=case.id, case_number=case.case_number, level=str(form.level), round=wanted,
                       channel=str(RatingChannel.QR), reasons=form.reasons, comment=form.note)
        actions.perform(case, Action.RATE, cmd, actor=actions.Actor(id=None, roles=()), at=now,
                        env=ResidentEnv(committee, server_calendar(s), now))
        s.flush()  # the new event's id, for the payload
        ChangeWriter(s, now).case(case)
        return wanted


def message_html(text: str) -> str:
    return _document(f'<div class="card none">{html.escape(text)}</div>')


def page(db: ServerDB, limiter: ratelimit.SlidingWindow, client_ip: str, case_number: str, code: str,
         now: dt.datetime) -> Page:
    """The answer to one request: 200 with the progress, 404 not found (whatever the reason), 429 too many."""
    every, failed = ("verify-ip", client_ip), ("verify-failed-ip", client_ip)
    waits = [w for key, limit in ((every, VERIFY_PER_IP), (failed, VERIFY_FAILURES_PER_IP))
             if (w := limiter.retry_after(key, limit)) is not None]
    if waits:
        wait = max(waits)
        return Page(429, message_html(f"查询过于频繁，请 {wait} 秒后再试"), {**HEADERS, "Retry-After": str(wait)})
    limiter.record(every, VERIFY_PER_IP)
    try:
        found = find_progress(db, case_number, code)
    except SQLAlchemyError as e:  # the database is away: a page, never a traceback
        log.warning("progress page: database error %s", type(e).__name__)
        return Page(503, message_html("暂时无法查询，请稍后再试"), {**HEADERS, "Retry-After": "30"})
    if found is None:
        limiter.record(failed, VERIFY_FAILURES_PER_IP)
        return Page(404, message_html(NOT_FOUND), dict(HEADERS))
    return Page(200, progress_html(found, now), dict(HEADERS))


def rate(db: ServerDB, limiter: ratelimit.SlidingWindow, client_ip: str, case_number: str, code: str,
         body: bytes, content_type: str, now: dt.datetime) -> Page:
    """The answer to a posted rating: a thank-you page; the GET's 404 page for a wrong code or unknown case
    (whatever else the form holds); 400/413/422 with a Chinese message for bad input; 409 when the case cannot
    take this rating (rated already); 429 too many. Rate limited with the page's own limits."""
    every, failed = ("verify-ip", client_ip), ("verify-failed-ip", client_ip)
    waits = [w for key, limit in ((every, VERIFY_PER_IP), (failed, VERIFY_FAILURES_PER_IP))
             if (w := limiter.retry_after(key, limit)) is not None]
    if waits:
        wait = max(waits)
        return Page(429, message_html(f"提交过于频繁，请 {wait} 秒后再试"), {**HEADERS, "Retry-After": str(wait)})
    limiter.record(every, VERIFY_PER_IP)
    try:
        found = find_progress(db, case_number, code)
        if found is None or found.case_id is None:
            limiter.record(failed, VERIFY_FAILURES_PER_IP)
            return Page(404, message_html(NOT_FOUND), dict(HEADERS))
        form = check_form(parse_form(body, content_type))
        rated = record_rating(db, found.case_id, form, now)
    except FormProblem as e:
        return Page(e.status, message_html(str(e)), dict(HEADERS))
    except (BadCommand, ValidationError):  # the core's own limits (app/core/commands.py) caught what slipped by
        return Page(422, message_html(BAD_FORM), dict(HEADERS))
    except UserError as e:  # the rule refuses: rated already, or nothing to rate yet
        return Page(409, message_html(str(e)), dict(HEADERS))
    except SQLAlchemyError as e:
        log.warning("rating page: database error %s", type(e).__name__)
        return Page(503, message_html("暂时无法提交，请稍后再试"), {**HEADERS, "Retry-After": "30"})
    log.info("case %s rated on the progress page (round %s)", found.case_number, rated)
    return Page(200, thanks_html(form.level, rated), dict(HEADERS))
