"""change streams (issue 18): the change log ordered per committee, not per district

Reviewed by hand. One lock row per stream (a committee's, and the district's reference data under scope "*"),
each with the stream's newest seq; on PostgreSQL seqs now come from the sequence server_change_seq, which
starts after every seq handed out so far, so an old cursor "<seq>-<tag>" still names the same row.

Revision ID: s0010
Revises: s0009
Create Date: 2026-12-03 07:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = 's0010'
down_revision = 's0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('server_change_stream',
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('scope', name=op.f('pk_server_change_stream'))
    )
    bind = op.get_bind()
    bind.execute(sa.text(
        "INSERT INTO server_change_stream (scope, last_seq) "
        "SELECT scope, MAX(seq) FROM server_change GROUP BY scope"))
    bind.execute(sa.text(
        "INSERT INTO server_change_stream (scope, last_seq) SELECT '*', 0 "
        "WHERE NOT EXISTS (SELECT 1 FROM server_change_stream WHERE scope = '*')"))
    if bind.dialect.name == "postgresql":
        top = bind.execute(sa.text(
            "SELECT GREATEST(COALESCE((SELECT MAX(seq) FROM server_change), 0), "
            "COALESCE((SELECT MAX(last_seq) FROM server_sync_lock), 0))")).scalar_one()
        bind.execute(sa.text(f"CREATE SEQUENCE server_change_seq AS BIGINT START WITH {int(top) + 1}"))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text(
            "UPDATE server_sync_lock SET last_seq = GREATEST(last_seq, COALESCE((SELECT MAX(seq) FROM server_change), 0))"))
        bind.execute(sa.text("DROP SEQUENCE IF EXISTS server_change_seq"))
    op.drop_table('server_change_stream')
