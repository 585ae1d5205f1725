"""known_release (issue 17): the packages of the program the district published, as the last pull named them

Reviewed by hand: one new desk-only table, no row changes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 21:00:00
"""
from alembic import op
import sqlalchemy as sa
import models.base

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('known_release',
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('published_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('learned_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('platform', name=op.f('pk_known_release'))
    )


def downgrade() -> None:
    op.drop_table('known_release')
