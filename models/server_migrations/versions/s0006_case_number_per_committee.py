"""case numbers unique per committee, not in the whole district (issue 14, finding 2)

Reviewed by hand: one unique constraint replaced by another (PostgreSQL; no rows change).

Revision ID: s0006
Revises: s0005
Create Date: 2026-12-02 01:10:00
"""
from alembic import op


revision = 's0006'
down_revision = 's0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint('uq_case_case_number', 'case', type_='unique')
    op.create_unique_constraint('uq_case_committee_number', 'case', ['committee_id', 'case_number'])


def downgrade() -> None:
    # Refused (unique violation) should two committees hold the same number: nothing is changed then.
    op.drop_constraint('uq_case_committee_number', 'case', type_='unique')
    op.create_unique_constraint('uq_case_case_number', 'case', ['case_number'])
