"""report rollup (issue 18): per committee × China day × item counters of the month reports

The district's month report counted every case and event of the month in Python (seconds at district size).
app/server/rollup.py keeps, for the months a report asked for, the counters app/core/stats.py would count of
each committee-day's cases (per item and the day's total "*"), the judged forwardings by deadline day, the
cases left to count live (a forwarding still open), the months kept and how far each change stream was read.
Server-only tables, filled lazily by the first report of a month: nothing to backfill here.

Revision ID: s0012
Revises: s0011
Create Date: 2026-12-03 12:10:00
"""
from alembic import op
import sqlalchemy as sa

import models.base

revision = 's0012'
down_revision = 's0011'
branch_labels = None
depends_on = None

COUNTS = ("cases", "on_spot", "forwarded", "in_progress", "withdrawn", "deferred", "pledge", "forwardings",
          "replied_on_time", "replied_late", "ratable", "rated", "satisfied", "bad", "bad_fixed",
          "level_very_satisfied", "level_satisfied", "level_basic", "level_dissatisfied",
          "level_very_dissatisfied", "replied")


def upgrade() -> None:
    op.create_table(
        'server_report_cell',
        sa.Column('committee_id', sa.Uuid(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('item_code', sa.String(length=40), nullable=False),
        sa.Column('item_name', sa.String(length=200), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS],
        sa.Column('reply_seconds', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('committee_id', 'day', 'item_code', name=op.f('pk_server_report_cell')),
    )
    op.create_index('ix_srv_report_cell_item_day', 'server_report_cell', ['item_code', 'day'])
    op.create_table(
        'server_report_due',
        sa.Column('committee_id', sa.Uuid(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('due_day', sa.Date(), nullable=False),
        sa.Column('on_time', sa.Integer(), nullable=False),
        sa.Column('judged', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('committee_id', 'day', 'due_day', name=op.f('pk_server_report_due')),
    )
    op.create_index('ix_srv_report_due_day', 'server_report_due', ['day'])
    op.create_table(
        'server_report_live',
        sa.Column('case_id', sa.Uuid(), nullable=False),
        sa.Column('committee_id', sa.Uuid(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('case_id', name=op.f('pk_server_report_live')),
    )
    op.create_index('ix_srv_report_live_day', 'server_report_live', ['day', 'committee_id'])
    op.create_table(
        'server_report_month',
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('built_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('month', name=op.f('pk_server_report_month')),
    )
    op.create_table(
        'server_report_stream',
        sa.Column('scope', sa.String(length=40), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('scope', name=op.f('pk_server_report_stream')),
    )


def downgrade() -> None:
    op.drop_table('server_report_stream')
    op.drop_table('server_report_month')
    op.drop_index('ix_srv_report_live_day', table_name='server_report_live')
    op.drop_table('server_report_live')
    op.drop_index('ix_srv_report_due_day', table_name='server_report_due')
    op.drop_table('server_report_due')
    op.drop_index('ix_srv_report_cell_item_day', table_name='server_report_cell')
    op.drop_table('server_report_cell')
