"""case numbers unique per committee, not in the whole district (issue 14, finding 2)

Reviewed by hand: one unique constraint replaced by another, no row changes. PostgreSQL alters the constraint;
SQLite (a test or lab server) swaps it in the table's stored definition: models/sqlite_rebuild.py.

Revision ID: s0006
Revises: s0005
Create Date: 2026-12-02 01:10:00
"""
from alembic import op

from models.sqlite_rebuild import swap_constraint

revision = 's0006'
down_revision = 's0005'
branch_labels = None
depends_on = None

GLOBAL = ('uq_case_case_number', ['case_number'])
PER_COMMITTEE = ('uq_case_committee_number', ['committee_id', 'case_number'])


def _swap(old: tuple[str, list[str]], new: tuple[str, list[str]]) -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        text = 'CONSTRAINT {} UNIQUE ({})'
        swap_constraint(bind, 'case', text.format(old[0], ', '.join(old[1])), text.format(new[0], ', '.join(new[1])))
        return
    op.drop_constraint(old[0], 'case', type_='unique')
    op.create_unique_constraint(new[0], 'case', new[1])


def upgrade() -> None:
    _swap(GLOBAL, PER_COMMITTEE)


def downgrade() -> None:
    # Refused (unique violation) should two committees hold the same number: nothing is changed then.
    _swap(PER_COMMITTEE, GLOBAL)
