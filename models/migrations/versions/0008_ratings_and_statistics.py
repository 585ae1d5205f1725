"""好差评 ratings, the bad-rating follow-up and 催办 on the case; statistics indexes (issue 16)

Reviewed by hand: new columns only, each nullable or with a server default so existing rows stay valid.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:40:00
"""
from alembic import op
import sqlalchemy as sa

import models.base

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

TIMES = ('rated_at', 'followup_callback_due', 'followup_fix_due', 'followup_called_at', 'followup_fixed_at',
         'second_rated_at', 'reminded_at')


def upgrade() -> None:
    # Plain ADD COLUMN (see 0005): batch mode would copy "case", which other tables reference.
    op.add_column('case', sa.Column('rating', sa.String(20), nullable=True))
    op.add_column('case', sa.Column('rating_channel', sa.String(8), nullable=False, server_default=''))
    op.add_column('case', sa.Column('rating_reasons', sa.JSON(), nullable=False, server_default='[]'))
    op.add_column('case', sa.Column('rating_note', sa.Text(), nullable=False, server_default=''))
    op.add_column('case', sa.Column('followup_call_note', sa.Text(), nullable=False, server_default=''))
    op.add_column('case', sa.Column('followup_fix_note', sa.Text(), nullable=False, server_default=''))
    op.add_column('case', sa.Column('followup_by_id', sa.Uuid(), nullable=True))
    op.add_column('case', sa.Column('second_rating', sa.String(20), nullable=True))
    op.add_column('case', sa.Column('remind_count', sa.Integer(), nullable=False, server_default='0'))
    for name in TIMES:
        op.add_column('case', sa.Column(name, models.base.UTCDateTime(timezone=True), nullable=True))
    op.create_index('ix_case_committee_accepted', 'case', ['committee_id', 'accepted_at'])
    op.create_index('ix_case_followup_due', 'case', ['followup_callback_due', 'followup_fix_due'])


def downgrade() -> None:
    op.drop_index('ix_case_followup_due', table_name='case')
    op.drop_index('ix_case_committee_accepted', table_name='case')
    for name in (*reversed(TIMES), 'remind_count', 'second_rating', 'followup_by_id', 'followup_fix_note',
                 'followup_call_note', 'rating_note', 'rating_reasons', 'rating_channel', 'rating'):
        op.drop_column('case', name)
