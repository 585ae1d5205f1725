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
    with op.batch_alter_table('resident', schema=None) as batch_op:
        for name, type_ in RESIDENT:
            batch_op.add_column(sa.Column(name, type_, nullable=False, server_default=''))
        batch_op.add_column(sa.Column('residence_permit_expiry', sa.Date(), nullable=True))
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rule_warnings', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('warning_note', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('acceptance_mode', sa.String(16), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('makeup_due', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('makeup_materials', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('pledge_text', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        for name in ('pledge_text', 'makeup_materials', 'makeup_due', 'acceptance_mode', 'warning_note',
                     'rule_warnings'):
            batch_op.drop_column(name)
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.drop_column('residence_permit_expiry')
        for name, _ in reversed(RESIDENT):
            batch_op.drop_column(name)
