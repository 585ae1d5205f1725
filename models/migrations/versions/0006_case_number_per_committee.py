"""case numbers unique per committee, not in the whole database (issue 14, finding 2)

Reviewed by hand. SQLite cannot drop a table's UNIQUE constraint, so "case" is rebuilt from its own stored
definition with the one constraint swapped, keeping every row. Batch mode would copy the rows into a new
table and then drop the old one, which "case_event" and "print_job" reference: with foreign keys on (they are,
inside the upgrade's transaction, where the pragma cannot change) that drop fails. Here the old table is
dropped first with the foreign-key checks deferred to the commit, then the new one is filled again, which
settles every reference before the commit checks them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 01:10:00
"""
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

GLOBAL = 'CONSTRAINT uq_case_case_number UNIQUE (case_number)'
PER_COMMITTEE = 'CONSTRAINT uq_case_committee_number UNIQUE (committee_id, case_number)'


def _rebuild_case(old: str, new: str) -> None:
    conn = op.get_bind()
    table_sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'case'").scalar_one()
    if old not in table_sql:
        raise RuntimeError(f'unexpected definition of table "case": {old} not found')
    indexes = [sql for (sql,) in conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'case' AND sql IS NOT NULL")]
    # Column order and declared types are the stored table's, so the rows go back exactly as they were.
    conn.exec_driver_sql('CREATE TEMP TABLE _case_0006 AS SELECT * FROM "case"')
    conn.exec_driver_sql('PRAGMA defer_foreign_keys = ON')  # until this transaction commits
    conn.exec_driver_sql('DROP TABLE "case"')
    conn.exec_driver_sql(table_sql.replace(old, new))
    conn.exec_driver_sql('INSERT INTO "case" SELECT * FROM _case_0006')
    conn.exec_driver_sql('DROP TABLE _case_0006')
    for sql in indexes:
        conn.exec_driver_sql(sql)


def upgrade() -> None:
    _rebuild_case(GLOBAL, PER_COMMITTEE)


def downgrade() -> None:
    # Refused (unique constraint failed) should two committees hold the same number: nothing is changed then.
    _rebuild_case(PER_COMMITTEE, GLOBAL)
