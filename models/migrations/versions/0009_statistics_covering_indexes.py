"""Covering indexes for the statistics on the desk (issue 16): a year's 台账 and figures read from two indexes

The 统计 page, the 台账 workbook and the monthly report read every case of a period and the forward / reply /
withdraw / resolve / accept events of those cases. Read from the tables, that is most of the database's pages
(each decrypted by SQLCipher) and one index seek per case; read from these two indexes, it is two range reads
of compact pages. Desk-only (prefix ix_desk_, not in the models' metadata): the server's PostgreSQL has its own
plans, and the expression (a forwarding's due_at inside the event's JSON detail) is SQLite's.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 17:20:00
"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# app/core/stats.py reads these columns (and json_extract(detail, '$.due_at') exactly so written).
EVENT_INDEX = ("CREATE INDEX IF NOT EXISTS ix_desk_event_stats ON case_event "
               "(action, at, case_id, seq, worker_id, json_extract(detail, '$.due_at'))")
CASE_INDEX = ('CREATE INDEX IF NOT EXISTS ix_desk_case_stats ON "case" '
              "(committee_id, accepted_at, id, state, item_code, item_name, department, forwarded_at, "
              "acceptance_mode, rating, followup_fixed_at, case_number, assignee_id, assignee_queue, applicant_id, "
              "updated_at)")


def upgrade() -> None:
    op.execute(EVENT_INDEX)
    op.execute(CASE_INDEX)


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_desk_case_stats")
    op.execute("DROP INDEX IF EXISTS ix_desk_event_stats")
