"""What one pushed batch refers to, loaded before its commands run (issue 18).

A batch's commands name cases (by id, or a new case's number) and residents (by id, or as a case's
applicant). Loading them one command at a time cost several round trips each — and every query first flushed
what the commands before it had changed. :func:`load` reads them in one query per table; the handlers in
app/server/mutations.py then find them here, and what the batch creates is added as it goes, so a case
created earlier in the batch is never selected again. Used only by the optimistic run of a batch (no
savepoints): a run with a savepoint per command could roll back what this knows, so it asks the database.

What is not known here (a held command's case, say) is read from the database as before.

A case the batch creates is not added to the session: the ORM's unit of work costs more per row than the
rest of the command. Its row and its events are written with one multi-row INSERT per table just before
the session next flushes (:func:`write_new_cases`, a ``before_flush`` hook the push installs): at the end of
the batch, or earlier should a query need the session flushed, in which case they are attached to the
session as they are written, so that later commands change them through the ORM like any loaded case.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, select
from sqlalchemy.orm import Session, make_transient_to_detached, selectinload

from app.core.vocabulary import Mutation
from app.core.wire import MutationIn
from app.server.db import among, bulk_insert
from models.server import Case, CaseEvent, Resident, ResidentAlias


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None  # the handler sets the command aside with a proper reason


@dataclass
class Known:
    cases: dict[uuid.UUID, Case] = field(default_factory=dict)
    absent_cases: set[uuid.UUID] = field(default_factory=set)
    numbers: dict[str, bool] = field(default_factory=dict)  # a number the batch creates under: taken already?
    residents: dict[uuid.UUID, Resident] = field(default_factory=dict)
    absent_residents: set[uuid.UUID] = field(default_factory=set)
    aliases: dict[uuid.UUID, uuid.UUID | None] = field(default_factory=dict)  # id -> the resident it merged into
    unwritten: dict[uuid.UUID, Case] = field(default_factory=dict)  # created by the batch, not in the session yet
    final: bool = False  # the batch's last flush: what is written now is not changed again, so not attached

    def case(self, s: Session, case_id: uuid.UUID) -> Case | None:
        if case_id in self.cases:
            return self.cases[case_id]
        if case_id in self.absent_cases:
            return None
        return s.get(Case, case_id, options=[selectinload(Case.events)])

    def number_taken(self, s: Session, committee_id: uuid.UUID, number: str) -> bool:
        if number not in self.numbers:
            self.numbers[number] = s.scalar(select(Case.id).where(
                Case.committee_id == committee_id, Case.case_number == number).limit(1)) is not None
        return self.numbers[number]

    def add_case(self, case: Case, *, new: bool = False) -> None:
        """``new``: created by the batch; written by :func:`write_new_cases`, not by the session's flush."""
        if new:
            self.unwritten[case.id] = case
        self.cases[case.id] = case
        self.absent_cases.discard(case.id)
        self.numbers[case.case_number] = True

    def canonical(self, s: Session, resident_id: uuid.UUID) -> uuid.UUID:
        if resident_id not in self.aliases:
            alias = s.get(ResidentAlias, resident_id)
            self.aliases[resident_id] = alias.resident_id if alias else None
        return self.aliases[resident_id] or resident_id

    def resident(self, s: Session, resident_id: uuid.UUID) -> Resident | None:
        rid = self.canonical(s, resident_id)
        if rid in self.residents:
            return self.residents[rid]
        if rid in self.absent_residents:
            return None
        return s.get(Resident, rid)

    def add_resident(self, r: Resident) -> None:
        self.residents[r.id] = r
        self.absent_residents.discard(r.id)

    def add_alias(self, alias_id: uuid.UUID, resident_id: uuid.UUID) -> None:
        self.aliases[alias_id] = resident_id


def _named(mutations: Iterable[MutationIn]) -> tuple[set[uuid.UUID], set[str], set[uuid.UUID]]:
    """(case ids, new case numbers, resident ids) the commands name in their raw args."""
    cases: set[uuid.UUID] = set()
    numbers: set[str] = set()
    residents: set[uuid.UUID] = set()
    for m in mutations:
        args = m.args if isinstance(m.args, dict) else {}
        if m.name in (Mutation.CASE_CREATE, Mutation.CASE_SAVE_DRAFT):
            ids = [args.get("id")]
            residents.update(r for r in [_uuid(args.get("applicant_id"))] if r)
            if isinstance(args.get("case_number"), str):
                numbers.add(args["case_number"])
        elif m.name == Mutation.RESIDENT_UPSERT:
            ids = []
            residents.update(r for r in [_uuid(args.get("id"))] if r)
        else:
            ids = [args.get("case_id")]
            residents.update(r for r in [_uuid(args.get("resident_id"))] if r)
        cases.update(c for c in map(_uuid, ids) if c)
    return cases, numbers, residents


def load(s: Session, committee_id: uuid.UUID, mutations: list[MutationIn]) -> Known:
    """Everything the batch's commands name, in one query per table (cases with their events, the committee's
    case numbers among those the batch creates, residents and the aliases among their ids)."""
    case_ids, numbers, resident_ids = _named(mutations)
    known = Known()
    if case_ids:
        found = s.scalars(select(Case).where(among(s, Case.id, case_ids)).options(selectinload(Case.events)))
        known.cases = {c.id: c for c in found}
        known.absent_cases = case_ids - set(known.cases)
    if numbers:
        taken = set(s.scalars(select(Case.case_number).where(Case.committee_id == committee_id,
                                                               among(s, Case.case_number, numbers))))
        known.numbers = {n: n in taken for n in numbers}
    if resident_ids:
        known.aliases = dict.fromkeys(resident_ids)
        for alias in s.scalars(select(ResidentAlias).where(among(s, ResidentAlias.alias_id, resident_ids))):
            known.aliases[alias.alias_id] = alias.resident_id
        wanted = {known.aliases[r] or r for r in resident_ids}
        known.residents = {r.id: r for r in s.scalars(select(Resident).where(among(s, Resident.id, wanted)))}
        known.absent_residents = wanted - set(known.residents)
    return known


_MISSING = object()


def _row(obj: Case | CaseEvent, columns: list[Column]) -> dict[str, Any]:
    """``obj``'s column values as the unit of work would insert them: an attribute never set, or None where
    the column's type does not store None as a value (JSON does: ``null``), gets the column's Python default,
    and the object gets it too (payloads read it), as after a flush. Written into the object's dict: the object
    is not in the session, and once attached it holds the value as loaded, not as a change to flush."""
    values = obj.__dict__
    row: dict[str, Any] = {}
    for c in columns:
        value = values.get(c.key, _MISSING)
        if value is _MISSING or (value is None and not c.type.should_evaluate_none):
            default = c.default
            if default is None:
                value = None
            else:
                value = default.arg if default.is_scalar else default.arg(None)  # type: ignore[attr-defined]
                values[c.key] = value  # as loaded, not as changed: the object is not in the session yet
        row[c.key] = value
    return row


def write_new_cases(s: Session, known: Known) -> None:
    """The cases the batch created since the last call, and their events, in one INSERT per table. Before the
    batch's last flush they are attached to the session afterwards (as if loaded), so later commands' changes
    to them are flushed as UPDATEs and INSERTs of their new events."""
    cases, known.unwritten = list(known.unwritten.values()), {}
    if not cases:
        return
    case_columns, event_columns = list(Case.__table__.columns), list(CaseEvent.__table__.columns)
    case_rows = [_row(c, case_columns) for c in cases]
    events = [e for c in cases for e in c.events]
    for c in cases:
        for e in c.events:
            e.case_id = c.id  # the relationship sets it when the session flushes; here, it is done by hand
    event_rows = [_row(e, event_columns) for e in events]
    bulk_insert(s, Case.__table__, case_rows)
    bulk_insert(s, CaseEvent.__table__, event_rows)
    if not known.final:
        for obj in (*cases, *events):
            make_transient_to_detached(obj)
        for c in cases:
            s.add(c)  # its events come along (cascade): persistent, unchanged
