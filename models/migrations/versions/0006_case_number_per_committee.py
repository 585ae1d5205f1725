"""case numbers unique per committee, not in the whole database (issue 14, finding 2)

Reviewed by hand. SQLite cannot drop a table's UNIQUE constraint, and batch mode's copy of "case" fails with
foreign keys on (case_event and print_job reference it): models/sqlite_rebuild.py swaps the constraint in the
table's stored definition, keeping every row.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 01:10:00
"""
from alembic import op

from models.sqlite_rebuild import swap_constraint

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

GLOBAL = 'CONSTRAINT uq_case_case_number UNIQUE (case_number)'
PER_COMMITTEE = 'CONSTRAINT uq_case_committee_number UNIQUE (committee_id, case_number)'


def upgrade() -> None:
    swap_constraint(op.get_bind(), 'case', GLOBAL, PER_COMMITTEE)


def downgrade() -> None:
    # Refused (unique constraint failed) should two committees hold the same number: nothing is changed then.
    swap_constraint(op.get_bind(), 'case', PER_COMMITTEE, GLOBAL)
