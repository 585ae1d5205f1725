"""outbox clock offset: the desk's clock offset as known when each command was queued

Reviewed by hand: one nullable column on ``outbox``; existing rows keep NULL ("not known"), so the server
falls back to the offset it measures at push time for them, as before.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 20:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clock_offset_s', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('clock_offset_s')
