"""district indexes (issue 18): the district report's range reads at district size

Reviewed by hand; chosen from ``python main.py bench district`` (app/bench/district.py: 300 committees,
5 million cases, 26 million events, the plans in its JSON). Before them the district's month report read
every event of the district (a parallel seq scan of case_event, 16 GB, for the 244,000 events it wanted),
scanned the whole of ix_case_committee_accepted for the month's cases (no committee named, so the index's
leading column could not narrow it), and fetched the case row of every bad rating ever given to find the
few follow-ups still open (ix_case_followup_due holds them all, fixed or not).

- ix_srv_case_event_action_at (action, at): app/core/stats_read.py reads a period's forward/reply/withdraw
  events by time; one range per action.
- case_event.case_id n_distinct = -0.19 (PostgreSQL): a case has about five events. ANALYZE's sample of 26
  million events guessed 100,000 cases instead of 5 million, so reading the events of 500 cases looked like
  131,000 rows and the planner ANDed uq_case_event_case_seq with the whole of the index above (5.5 million
  entries, 0.5 s) instead of reading the 500 cases' events alone (6 ms). A ratio, so it holds as the log grows.
- ix_srv_case_accepted (accepted_at): the period's cases of every committee, and those of them changed since.
- ix_srv_case_followup_open (followup_callback_due, followup_fix_due), only the follow-ups not yet fixed, with
  the other columns app/core/stats.py _overdue_followups reads: its WHERE implies the predicate, and the
  planner takes this small index only when it can answer from it alone (an index-only scan; a plain partial
  index lost to ix_case_followup_due on its cost estimate, and that plan fetched 130,000 case rows at 5 million
  cases). A column read there and missing here falls back to that plan: same rows, slower.

Server-only (ix_srv_, kept out of autogenerate by models.server.include_server_object): the desk has its own
covering indexes for these reads (desk migration 0009) and a single committee's follow-ups. Plain CREATE
INDEX: the server upgrades at start-up, before it serves; at 5 million cases the three take about a minute.

Revision ID: s0011
Revises: s0010
Create Date: 2026-12-03 08:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = 's0011'
down_revision = 's0010'
branch_labels = None
depends_on = None

OPEN_FOLLOWUP = sa.text('followup_fixed_at IS NULL AND followup_callback_due IS NOT NULL')
FOLLOWUP_READ = ['followup_called_at', 'followup_fixed_at', 'rating', 'committee_id', 'case_number', 'item_name',
                 'id']


def upgrade() -> None:
    op.create_index('ix_srv_case_event_action_at', 'case_event', ['action', 'at'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE case_event ALTER COLUMN case_id SET (n_distinct = -0.19)')
        op.execute('ANALYZE case_event')
    op.create_index('ix_srv_case_accepted', 'case', ['accepted_at'])
    op.create_index('ix_srv_case_followup_open', 'case', ['followup_callback_due', 'followup_fix_due'],
                    postgresql_include=FOLLOWUP_READ, postgresql_where=OPEN_FOLLOWUP, sqlite_where=OPEN_FOLLOWUP)


def downgrade() -> None:
    op.drop_index('ix_srv_case_followup_open', table_name='case')
    op.drop_index('ix_srv_case_accepted', table_name='case')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE case_event ALTER COLUMN case_id RESET (n_distinct)')
    op.drop_index('ix_srv_case_event_action_at', table_name='case_event')
