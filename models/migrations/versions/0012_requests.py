"""诉求 (issue 20): a case's kind and a request's category, 块区, urgency, 24-hour clock and handler

Reviewed by hand: new columns only, each nullable or with a server default so existing rows (all service
cases) stay valid; one index for the open requests by their clock.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 21:20:00
"""
from alembic import op
import sqlalchemy as sa

import models.base

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

TIMES = ('feedback_due_at', 'first_feedback_at', 'promised_at')


def upgrade() -> None:
    # Plain ADD COLUMN (see 0005): batch mode would copy "case", which other tables reference.
    op.add_column('case', sa.Column('kind', sa.String(8), nullable=False, server_default='service'))
    op.add_column('case', sa.Column('request_category', sa.String(16), nullable=True))
    op.add_column('case', sa.Column('block_code', sa.String(16), nullable=False, server_default=''))
    op.add_column('case', sa.Column('urgency', sa.String(8), nullable=True))
    op.add_column('case', sa.Column('feedback_channel', sa.String(16), nullable=True))
    op.add_column('case', sa.Column('external_handler', sa.JSON(), nullable=True))
    for name in TIMES:
        op.add_column('case', sa.Column(name, models.base.UTCDateTime(timezone=True), nullable=True))
    op.create_index('ix_case_kind_state', 'case', ['kind', 'state', 'feedback_due_at'])


def downgrade() -> None:
    op.drop_index('ix_case_kind_state', table_name='case')
    for name in (*reversed(TIMES), 'external_handler', 'feedback_channel', 'urgency', 'block_code',
                 'request_category', 'kind'):
        op.drop_column('case', name)
