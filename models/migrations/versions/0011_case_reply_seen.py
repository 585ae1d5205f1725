"""case_reply_seen (issue 19): which department replies the desk has read

Reviewed by hand: one new desk-only table, no row changes (the index drop autogenerate proposes is the
migration-only covering index ix_desk_case_stats of 0009, kept).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 11:15:14
"""
from alembic import op
import sqlalchemy as sa
import models.base

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_reply_seen',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('replied_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seen_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('worker_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_case_reply_seen_case_id_case')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_case_reply_seen_worker_id_worker')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_reply_seen'))
    )


def downgrade() -> None:
    op.drop_table('case_reply_seen')
