"""Swapping one constraint of a SQLite table in a migration, keeping every row (SQLite cannot ALTER constraints).

Alembic's batch mode copies the rows into a new table and then drops the old one; when other tables reference
it (``case_event`` and ``print_job`` reference ``case``) that drop fails with foreign keys on, and inside the
upgrade's transaction the pragma cannot be turned off. Here the rows are kept aside, the old table is dropped
with the foreign-key checks deferred to the commit, and the table is made again from its own stored definition
with the one constraint swapped and filled again, which settles every reference before the commit checks them.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection


def swap_constraint(conn: Connection, table: str, old: str, new: str) -> None:
    """Replace the constraint text ``old`` of ``table``'s stored CREATE TABLE with ``new``. Refused (and
    nothing changed, the caller's transaction rolls back) if a row breaks the new constraint."""
    table_sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar_one()
    if old not in table_sql:
        raise RuntimeError(f'unexpected definition of table "{table}": {old} not found')
    indexes = [sql for (sql,) in conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,))]
    keep = f"_keep_{table}"
    # Column order and declared types are the stored table's, so the rows go back exactly as they were.
    conn.exec_driver_sql(f'CREATE TEMP TABLE "{keep}" AS SELECT * FROM "{table}"')
    conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # switches itself off at the commit
    conn.exec_driver_sql(f'DROP TABLE "{table}"')
    conn.exec_driver_sql(table_sql.replace(old, new))
    conn.exec_driver_sql(f'INSERT INTO "{table}" SELECT * FROM "{keep}"')
    conn.exec_driver_sql(f'DROP TABLE "{keep}"')
    for sql in indexes:
        conn.exec_driver_sql(sql)
