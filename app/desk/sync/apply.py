"""Writing rows that came from the district server into the desk database.

Never goes through the services, so applying a pulled row writes no outbox row. Rows for entities that
still have unsent commands in the outbox are skipped: the desk's own view is ahead of the server's, and the
push response carries the server's state once those commands are in. The caller owns the transaction (the
cursor is written in the same one).

Every row is checked before it is written (app/desk/sync/bad_rows.py); a row that fails the check, or fails
while being written, is set aside — listed on the 同步 page and in the log with its entity and the reason —
and the rest applies, so one malformed row never stops the pull. A failure of the desk's own database is
not a bad row: it fails the round, which is retried.
"""

from __future__ import annotations

import json
import logging
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import String, Table, cast, delete, func, insert, or_, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from app.core.payloads import WORKER_LOCAL_COLUMNS
from app.core.vocabulary import State
from app.core.wire import Change
from app.core.workdays import CalendarError, CalendarStore
from app.desk.catalog.store import BadCatalog, write_catalog
from app.desk.sync.bad_rows import BadRowLog, SetAsideRow, row_id, row_problem
from app.desk.sync.bulk import TableWriter
from models import (
    Attachment,
    AttachmentBlob,
    AuditEntry,
    Base,
    Case,
    CaseCounter,
    CaseEvent,
    Committee,
    OutboxEntry,
    Resident,
    Worker,
)
from models.outbox import OUTBOX_HELD, OUTBOX_PENDING

log = logging.getLogger(__name__)

# The files of a case forwarded to (or answered by) a colleague who works at this desk are fetched here
# (issue 15); every other desk downloads them only on demand. "Works at this desk": has logged in here before
# (app/desk/auth.py audits every login), the case's assignee, or — a case forwarded to a department's queue —
# a line colleague of that department.
WANTED_STATES = (State.FORWARDED, State.REPLIED)
LOGIN_OK = "login.ok"  # app/desk/auth.py's audit action for a successful login


def pending_entity_ids(s: Session, among: Iterable[str] | None = None) -> set[str]:
    """Ids of cases and residents that unsent outbox commands refer to, or commands the server holds (it waits
    for earlier ones from other desks: until they have run, this desk's view is ahead of the server's).
    ``among``: only these ids are asked about (the rows about to be written), so a long queue is not read whole."""
    # SQLite reads the two keys out of the JSON itself: decoding every unsent command in Python each time an
    # answer arrives made a long queue quadratic (issue 18: 20,000 queued commands, 9 s of a 45 s push).
    keys = (func.json_extract(OutboxEntry.args, "$.case_id"), func.json_extract(OutboxEntry.args, "$.id"))
    stmt = select(*keys).where(OutboxEntry.status.in_((OUTBOX_PENDING, OUTBOX_HELD)))
    if among is not None:
        wanted = sorted({str(i) for i in among})
        if not wanted:
            return set()
        stmt = stmt.where(or_(keys[0].in_(wanted), keys[1].in_(wanted)))
    return {str(value) for row in s.execute(stmt.distinct()) for value in row if value}


class QueuedIds:
    """:func:`pending_entity_ids` across the batches of one push, reading each unsent command once: the queue's
    commands as far as read, by mid, and how many of them name each id. Commands enqueued since are read at each
    ask (a new command always takes a higher mid); those the push answered are dropped by :meth:`done`. Anything
    else that changes the queue (mids renumbered, commands to send again, args rewritten by
    :func:`replace_identity`) must start a new one."""

    def __init__(self) -> None:
        self.by_mid: dict[int, tuple[str, ...]] = {}
        self.count: Counter[str] = Counter()
        self.seen = -1  # the highest mid read; -1: nothing read yet

    def _read(self, s: Session) -> None:
        keys = (func.json_extract(OutboxEntry.args, "$.case_id"), func.json_extract(OutboxEntry.args, "$.id"))
        top = s.scalar(select(func.max(OutboxEntry.mid))) or 0
        if top <= self.seen:
            return
        for mid, *values in s.execute(select(OutboxEntry.mid, *keys).where(
                OutboxEntry.mid > self.seen, OutboxEntry.mid <= top,
                OutboxEntry.status.in_((OUTBOX_PENDING, OUTBOX_HELD)))):
            ids = tuple({str(v) for v in values if v})
            self.by_mid[mid] = ids
            self.count.update(ids)
        self.seen = top

    def done(self, mids: Iterable[int]) -> None:
        """These commands are neither unsent nor held any more."""
        for mid in mids:
            ids = self.by_mid.pop(mid, ())
            self.count.subtract(ids)

    def among(self, s: Session, among: Iterable[str]) -> set[str]:
        """As ``pending_entity_ids(s, among)``."""
        self._read(s)
        return {i for i in {str(x) for x in among} if self.count[i] > 0}


_WRITERS: WeakKeyDictionary[Dialect, dict[str, TableWriter]] = WeakKeyDictionary()
_EXCLUDED = {"worker": WORKER_LOCAL_COLUMNS}  # desk-local columns: never written from a payload


def _write(s: Session, table: Table, rows: list[dict], *, upsert: bool = True) -> None:
    """Payload rows into ``table`` in one statement (app/desk/sync/bulk.py): inserted, or updated by id."""
    if not rows:
        return
    dialect = s.get_bind().dialect
    writers = _WRITERS.setdefault(dialect, {})
    if table.name not in writers:
        writers[table.name] = TableWriter(table, dialect, _EXCLUDED.get(table.name, frozenset()))
    writers[table.name].write(s.connection(), rows, upsert=upsert)


def _rewrite_outbox_ids(s: Session, old: uuid.UUID, new: uuid.UUID) -> None:
    """Commands not yet sent (or to be sent again) must name the id the server knows."""
    for entry in s.scalars(select(OutboxEntry).where(cast(OutboxEntry.args, String).like(f"%{old}%"))):
        entry.args = json.loads(json.dumps(entry.args).replace(str(old), str(new)))


def replace_identity(s: Session, table_name: str, old: uuid.UUID, new: uuid.UUID) -> None:
    """Point every reference to row ``old`` at row ``new`` (which must exist), then drop ``old``.

    Used when the server's record of the same committee, worker login or resident (same ID number) has a
    different id than the one this desk made up while offline. Nothing is lost: the references move.
    """
    target = Base.metadata.tables[table_name]
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is target:
                s.execute(update(table).where(fk.parent == old).values({fk.parent.key: new}))
    _rewrite_outbox_ids(s, old, new)
    s.execute(delete(target).where(target.c.id == old))


def workers_here(s: Session) -> list[tuple[uuid.UUID, list[str]]]:
    """(id, lines) of every worker who has logged in on this desk."""
    logged_in = select(AuditEntry.worker_id).where(AuditEntry.action == LOGIN_OK).distinct()
    return [(w, list(lines or ())) for w, lines in s.execute(select(Worker.id, Worker.lines)
                                                             .where(Worker.id.in_(logged_in)))]


def want_files(s: Session, case_ids: Iterable[uuid.UUID] | None = None,
               here: list[tuple[uuid.UUID, list[str]]] | None = None) -> int:
    """Mark wanted the live files of the cases (of ``case_ids``, or all) forwarded or replied to a colleague who
    works at this desk (:data:`WANTED_STATES`); never touches whether a file is present. How many were marked.
    Pulls call it for the cases and attachments they write; call it after a colleague's first login here too."""
    here = workers_here(s) if here is None else here
    if not here:
        return 0
    ids, departments = {w for w, _ in here}, {line for _, lines in here for line in lines}
    stmt = select(Case.id, Case.assignee_id, Case.department).where(Case.state.in_(WANTED_STATES))
    if case_ids is not None:
        stmt = stmt.where(Case.id.in_(list(case_ids)))
    mine = [cid for cid, assignee, department in s.execute(stmt)
            if assignee in ids or (assignee is None and department in departments)]
    if not mine:
        return 0
    files = s.execute(select(Attachment.sha256, Attachment.size, Attachment.mime).where(
        Attachment.case_id.in_(mine), Attachment.removed_at.is_(None))).all()
    shas = {sha for sha, _, _ in files}
    have = set(s.scalars(select(AttachmentBlob.sha256).where(AttachmentBlob.sha256.in_(shas))))
    new = {sha: {"sha256": sha, "size": size, "mime": mime, "present": False, "uploaded": False, "wanted": True}
           for sha, size, mime in files if sha not in have}
    if new:
        s.execute(insert(AttachmentBlob.__table__), list(new.values()))
    waiting = list(s.scalars(select(AttachmentBlob.sha256).where(
        AttachmentBlob.sha256.in_(have), AttachmentBlob.present.is_(False), AttachmentBlob.wanted.is_(False))))
    if waiting:
        s.execute(update(AttachmentBlob).where(AttachmentBlob.sha256.in_(waiting)).values(wanted=True))
    return len(new) + len(waiting)


class DeskApplier:
    """Applies server payloads within the caller's session; counts what it applied."""

    def __init__(self, s: Session, data_dir: Path, pending: set[str] | None = None):
        self.s, self.data_dir = s, Path(data_dir)
        self.pending = pending if pending is not None else pending_entity_ids(s)
        self.applied = 0
        self.skipped: list[str] = []
        self.set_aside: list[SetAsideRow] = []  # rows this desk could not apply (also in bad_rows' list)
        self._bad_rows = BadRowLog(self.data_dir)
        self._here: list[tuple[uuid.UUID, list[str]]] | None = None  # workers_here(), read once per applier
        self._written: list[tuple[tuple[str, str], dict]] = []  # cases and residents as written, in order
        self.replaced_identities = False  # replace_identity ran: unsent commands' args may name other ids now

    @property
    def written(self) -> dict[tuple[str, str], dict]:
        """(kind, id) -> the payload row written for it (the last one), of the cases and residents applied."""
        return dict(self._written)

    def apply_changes(self, changes: list[Change]) -> None:
        """Pulled change rows, in seq order; consecutive rows of one entity are written together."""
        run: list[Change] = []
        for ch in changes:
            if run and ch.entity != run[0].entity:
                self.apply_kind(run[0].entity, [c.data for c in run], [c.seq for c in run])
                run = []
            run.append(ch)
        if run:
            self.apply_kind(run[0].entity, [c.data for c in run], [c.seq for c in run])

    def apply_kind(self, kind: str | None, rows: list[Any], seqs: list[int] | None = None) -> None:
        """Rows of one entity: checked, then written together (a snapshot page of thousands of rows in a few
        statements); should that fail, the rows are halved until only those that cannot be written are left,
        and those are set aside (``seqs``: their change-log places, for the list)."""
        handler = {"committee": self.committees, "worker": self.workers, "resident": self.residents,
                   "case": self.cases, "calendar": self.calendars, "catalog": self.catalogs,
                   "attachment": self.attachments}.get(kind or "")
        if handler is None:
            log.warning("unknown entity %r from the server ignored (newer server?)", kind)
            return
        assert kind is not None
        places: list[int | None] = list(seqs) if seqs is not None else [None] * len(rows)
        checked = [(row, seq, row_problem(kind, row)) for row, seq in zip(rows, places, strict=True)]
        missing = self._reference_problems(kind, [row for row, _, problem in checked if not problem])
        good: list[tuple[dict, int | None]] = []
        for row, seq, problem in checked:
            problem = problem or missing.get(id(row))
            if problem:
                self._set_aside(kind, row, problem, seq)
            else:
                good.append((row, seq))
        if not good:
            return
        self._write_narrowing(handler, kind, good)
        bad = {r.id for r in self.set_aside if r.entity == kind}
        self._bad_rows.resolve(kind, {row_id(row) for row, _ in good} - bad)

    def _write_narrowing(self, handler, kind: str, rows: list[tuple[dict, int | None]]) -> None:
        """Write ``rows``; if a row is at fault, write each half on its own, down to the single rows that fail
        (set aside): a bad row in a page of 5,000 costs a few dozen statements, not 5,000."""
        fault = self._try(handler, [row for row, _ in rows])
        if fault is None:
            return
        if len(rows) == 1:
            self._set_aside(kind, rows[0][0], _write_problem(fault), rows[0][1])
            return
        half = len(rows) // 2
        self._write_narrowing(handler, kind, rows[:half])
        self._write_narrowing(handler, kind, rows[half:])

    def _try(self, handler, rows: list[dict]) -> BaseException | None:
        """Write ``rows`` in a savepoint. A fault of the rows: undone and returned; one of the desk: raised."""
        applied, skipped, written = self.applied, len(self.skipped), len(self._written)
        try:
            with self.s.begin_nested():
                handler(rows)
        except Exception as e:
            if not _row_fault(e):
                raise
            self.applied = applied
            del self.skipped[skipped:]
            del self._written[written:]
            return e
        return None

    def _reference_problems(self, kind: str, rows: list[Any]) -> dict[int, str]:
        """An attachment naming a case, resident or worker this desk does not have is set aside (listed); should
        the row come again once they are here (a snapshot's later pull does), it applies and its entry goes.
        Keyed by ``id(row)``; the ids of the whole page are looked up in one query per table."""
        if kind != "attachment" or not rows:
            return {}
        refs = (("case_id", Case, "所属案件不在本机（该案件尚未同步或未能同步）"),
                ("resident_id", Resident, "所属居民不在本机（该居民尚未同步或未能同步）"),
                ("added_by_id", Worker, "添加附件的工作人员账号不在本机"),
                ("removed_by_id", Worker, "移除附件的工作人员账号不在本机"))
        problems: dict[int, str] = {}
        wanted: dict[str, set[uuid.UUID]] = {key: set() for key, _, _ in refs}
        for row in rows:
            for key, _, _ in refs:
                value = row.get(key)
                if value is None:
                    continue
                try:
                    wanted[key].add(uuid.UUID(str(value)))
                except ValueError:
                    problems.setdefault(id(row), f"编号格式不正确（{key}）")
        known = {key: set(self.s.scalars(select(model.id).where(model.id.in_(wanted[key])))) if wanted[key] else set()
                 for key, model, _ in refs}
        for row in rows:
            if id(row) in problems:
                continue
            for key, _, missing in refs:
                value = row.get(key)
                if value is not None and uuid.UUID(str(value)) not in known[key]:
                    problems[id(row)] = missing
                    break
        return problems

    def _set_aside(self, kind: str, row: Any, reason: str, seq: int | None) -> None:
        self.set_aside.append(self._bad_rows.add(kind, row, reason, seq))

    @staticmethod
    def _last_by_id(rows: list[dict]) -> list[dict]:
        latest = {str(r["id"]): r for r in rows}
        return list(latest.values())

    def _merge_clashes(self, model, rows: list[dict], column: str) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """Local rows holding the same unique value under another id: free the value, remember the pair. The
        page's values are looked up in one query; a local row is merged into the first row that names it."""
        if not rows:
            return []
        field = getattr(model, column)
        local = {(committee, value): lid for lid, value, committee in self.s.execute(
            select(model.id, field, model.committee_id).where(field.in_({r[column] for r in rows})))}
        clashes, merged = [], set()
        for r in rows:
            found = local.get((uuid.UUID(r["committee_id"]), r[column]))
            if found is not None and str(found) != r["id"] and found not in merged:
                self.s.execute(update(model).where(model.id == found).values({column: f"{r[column]}#{str(found)[:8]}"}))
                clashes.append((found, uuid.UUID(r["id"])))
                merged.add(found)
        return clashes

    def committees(self, rows: list[dict]) -> None:
        rows = self._last_by_id(rows)
        clashes = []
        for r in rows:
            local = self.s.scalar(select(Committee.id).where(Committee.code == r["code"]))
            if local is not None and str(local) != r["id"]:
                self.s.execute(update(Committee).where(Committee.id == local).values(code=f"{r['code']}#old"))
                clashes.append((local, uuid.UUID(r["id"])))
        _write(self.s, Committee.__table__, rows)
        for old, new in clashes:
            replace_identity(self.s, "committee", old, new)
            self.replaced_identities = True
        self.applied += len(rows)

    def workers(self, rows: list[dict]) -> None:
        rows = self._last_by_id(rows)
        clashes = self._merge_clashes(Worker, rows, "login")
        _write(self.s, Worker.__table__, rows)  # its desk-local columns (lockout) never from a payload
        for old, new in clashes:
            replace_identity(self.s, "worker", old, new)
            self.replaced_identities = True
        self.applied += len(rows)

    def residents(self, rows: list[dict]) -> None:
        rows = [r for r in self._last_by_id(rows) if str(r["id"]) not in self.pending]
        clashes = self._merge_clashes(Resident, rows, "id_number")
        _write(self.s, Resident.__table__, rows)
        for old, new in clashes:
            replace_identity(self.s, "resident", old, new)
            self.replaced_identities = True
        self.applied += len(rows)
        self._written += [(("resident", str(r["id"])), r) for r in rows]

    def cases(self, rows: list[dict]) -> None:
        rows = [r for r in self._last_by_id(rows) if str(r["id"]) not in self.pending]
        rows = self._with_known_references(self._without_number_clashes(rows))
        if not rows:
            return
        _write(self.s, Case.__table__, rows)
        ids = [uuid.UUID(r["id"]) for r in rows]
        # The server's history replaces the desk's: every local event of these cases was pushed already.
        self.s.execute(delete(CaseEvent).where(CaseEvent.case_id.in_(ids)))
        _write(self.s, CaseEvent.__table__, [e for r in rows for e in r.get("events", [])], upsert=False)
        self._advance_counters([r["case_number"] for r in rows])
        self._want_files([uuid.UUID(r["id"]) for r in rows if r.get("state") in WANTED_STATES])
        self.applied += len(rows)
        self._written += [(("case", str(r["id"])), r) for r in rows]

    def _advance_counters(self, numbers: list[str]) -> None:
        """A desk restored from a backup must not hand out a case number the server already has from it."""
        top: dict[tuple[str, str], int] = {}
        for number in numbers:
            parts = number.rsplit("-", 3)
            if len(parts) == 4 and parts[3].isdigit():
                key = (parts[1], parts[2])
                top[key] = max(top.get(key, 0), int(parts[3]))
        for (device, day), seq in top.items():
            stmt = sqlite_insert(CaseCounter).values(device_code=device, day=day, last_seq=seq)
            self.s.execute(stmt.on_conflict_do_update(
                index_elements=["device_code", "day"],
                set_={"last_seq": func.max(CaseCounter.last_seq, stmt.excluded.last_seq)}))

    def _with_known_references(self, rows: list[dict]) -> list[dict]:
        """Cases whose workers and applicant are on this desk.

        A snapshot page can name a resident or worker created after the earlier pages were read; that case
        changed after the snapshot's cursor, so the pull that follows brings it again, after its references.
        """
        def refs(r):
            workers = {r.get("created_by_id"), r.get("assignee_id"), r.get("forwarded_by_id")}
            workers |= {e.get("worker_id") for e in r.get("events", [])}
            return {w for w in workers if w}, r.get("applicant_id")
        wanted_w = set().union(*(refs(r)[0] for r in rows)) if rows else set()
        wanted_r = {refs(r)[1] for r in rows} - {None}
        worker_ids = [uuid.UUID(w) for w in wanted_w]
        resident_ids = [uuid.UUID(x) for x in wanted_r]
        known_w = {str(i) for i in self.s.scalars(select(Worker.id).where(Worker.id.in_(worker_ids)))}
        known_r = {str(i) for i in self.s.scalars(select(Resident.id).where(Resident.id.in_(resident_ids)))}
        kept = []
        for r in rows:
            workers, applicant = refs(r)
            if workers <= known_w and (applicant is None or applicant in known_r):
                kept.append(r)
            else:
                log.warning("case %s names a worker or resident not yet on this desk; waiting for the pull", r["id"])
        return kept

    def _without_number_clashes(self, rows: list[dict]) -> list[dict]:
        """A case number used locally by another case (two desks shared a device code before enrolment)."""
        numbers = {r["case_number"]: (r["id"], str(r.get("committee_id"))) for r in rows}  # unique per committee
        clash = {n for cid, n, com in self.s.execute(select(Case.id, Case.case_number, Case.committee_id)
                                                     .where(Case.case_number.in_(numbers)))
                 if str(cid) != numbers[n][0] and str(com) == numbers[n][1]}
        for n in clash:
            log.error("case number %s from the server clashes with a local case; not applied", n)
            self.skipped.append(f"案件编号 {n} 与本机另一案件重复，未能同步，请联系区管理员")
        return [r for r in rows if r["case_number"] not in clash]

    def attachments(self, rows: list[dict]) -> None:
        """Attachments' metadata (issue 15). The bytes are not here: each live file gets an AttachmentBlob row
        that says so (present=False), wanted when its case is this desk's to decide (:func:`want_files`); the
        transfer (app/desk/sync/files.py) fetches wanted ones, and asks the server's status of the others
        (``uploaded`` once it holds the file whole: 可下载). A blob row that exists (this desk's own file) is left
        as it is."""
        rows = [r for r in self._last_by_id(rows) if str(r["id"]) not in self.pending]
        if not rows:
            return
        _write(self.s, Attachment.__table__, rows)
        live = {r["sha256"]: r for r in rows if r.get("removed_at") is None}
        have = set(self.s.scalars(select(AttachmentBlob.sha256).where(AttachmentBlob.sha256.in_(live))))
        new = [{"sha256": sha, "size": r["size"], "mime": r["mime"], "present": False, "uploaded": False,
                "wanted": False} for sha, r in live.items() if sha not in have]  # uploaded: once the server says so
        if new:
            self.s.execute(insert(AttachmentBlob.__table__), new)
        self._want_files({uuid.UUID(r["case_id"]) for r in rows if r.get("case_id") and r.get("removed_at") is None})
        self.applied += len(rows)

    def _want_files(self, case_ids) -> None:
        if not case_ids:
            return
        if self._here is None:
            self._here = workers_here(self.s)
        want_files(self.s, case_ids, self._here)

    def calendars(self, rows: list[dict]) -> None:
        """Holiday calendars go where the desk's CalendarStore reads imported files."""
        store = CalendarStore(self.data_dir)
        for r in rows:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"cn-{int(r['year'])}-v{int(r['version'])}.json"
                path.write_text(r["content"], encoding="utf-8")
                try:
                    store.import_file(path)
                except CalendarError as e:  # an older or equal version than the one in effect: nothing to do
                    log.info("calendar %s v%s not taken: %s", r["year"], r["version"], e)
            self.applied += 1

    def catalogs(self, rows: list[dict]) -> None:
        for r in rows:
            write_catalog(self.data_dir, r)
            self.applied += 1


def _row_fault(e: BaseException) -> bool:
    """True when ``e`` comes from the row being written (a value of the wrong type or shape, a constraint it
    breaks), False when it comes from the desk itself (its database or disk failing), which fails the round."""
    if isinstance(e, (IntegrityError, DataError)):
        return True
    if isinstance(e, DBAPIError):
        return False
    if isinstance(e, StatementError):  # raised while binding a value: the value is wrong
        return isinstance(e.orig, (ValueError, TypeError))
    return isinstance(e, (ValueError, TypeError, KeyError, AttributeError))


def _write_problem(e: BaseException) -> str:
    if isinstance(e, BadCatalog):
        return str(e)
    if isinstance(e, IntegrityError):
        return "与本机已有的数据冲突，无法写入"
    return f"内容无法写入本机（{type(e).__name__}）"
