"""releases (issue 17): the packages of the desk program the district publishes

Reviewed by hand: one new table, no row changes. One row per platform and version; the bytes live in the
attachments folder under releases/, by sha256.

Revision ID: s0009
Revises: s0008
Create Date: 2026-12-02 21:00:00
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = 's0009'
down_revision = 's0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('server_release',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('sort_key', sa.String(length=32), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('published_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_server_release')),
    sa.UniqueConstraint('platform', 'version', name='uq_server_release_platform_version')
    )
    with op.batch_alter_table('server_release', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_server_release_sha256'), ['sha256'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('server_release', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_server_release_sha256'))
    op.drop_table('server_release')
