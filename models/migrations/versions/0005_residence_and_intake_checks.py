"""residence model on the resident; rule warnings and flexible acceptance on the case (issue 13)

Reviewed by hand: new columns only, each with a server default so existing rows stay valid.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

RESIDENT = [
    ('hukou_province', sa.String(40)), ('hukou_city', sa.String(40)), ('hukou_county', sa.String(40)),
    ('hukou_street', sa.String(60)), ('hukou_nature', sa.String(16)), ('residence_permit_no', sa.String(40)),
]


def upgrade() -> None:
    # Plain ADD/DROP COLUMN (SQLite 3.35+ and PostgreSQL): batch mode would copy "case", which other tables
    # reference, and the copy fails with foreign keys on.
    for name, type_ in RESIDENT:
        op.add_column('resident', sa.Column(name, type_, nullable=False, server_default=''))
    op.add_column('resident', sa.Column('residence_permit_expiry', sa.Date(), nullable=True))
    op.add_column('case', sa.Column('rule_warnings', sa.JSON(), nullable=False, server_default='[]'))
    op.add_column('case', sa.Column('warning_note', sa.Text(), nullable=False, server_default=''))
    op.add_column('case', sa.Column('acceptance_mode', sa.String(16), nullable=False, server_default=''))
    op.add_column('case', sa.Column('makeup_due', sa.Date(), nullable=True))
    op.add_column('case', sa.Column('makeup_materials', sa.JSON(), nullable=False, server_default='[]'))
    op.add_column('case', sa.Column('pledge_text', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    for name in ('pledge_text', 'makeup_materials', 'makeup_due', 'acceptance_mode', 'warning_note',
                 'rule_warnings'):
        op.drop_column('case', name)
    op.drop_column('resident', 'residence_permit_expiry')
    for name, _ in reversed(RESIDENT):
        op.drop_column('resident', name)
