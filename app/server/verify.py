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
"""

from __future__ import annotations

import datetime as dt
import hmac
import html
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.core.machine import FORWARDED
from app.core.verify import CASE_NUMBER_LABEL, normalise_code, valid_case_number, valid_code
from app.core.vocabulary import CHINA_TZ, STATE_LABELS, State, chinese_date
from app.server import ratelimit
from app.server.db import ServerDB
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
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
}


@dataclass(frozen=True)
class Progress:
    case_number: str
    state: str
    due_at: dt.datetime | None
    provisional: bool

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
        return Progress(case_number=case.case_number, state=case.state, due_at=case.due_at,
                        provisional=case.deadline_provisional)


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
            "<footer>本页只显示办理进度，不含个人信息。如有疑问请联系受理的社区服务站。</footer>"
            "</main></body></html>\n")


def progress_html(p: Progress, now: dt.datetime) -> str:
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
    return _document(f'<div class="card"><div class="state">{e(label)}</div>'
                     f'<p class="hint">{e(hint)}</p><dl>{items}</dl></div>')


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
