"""Alembic environment for the district server database (app/server/db.py passes a connection in).

Its own folder and its own version table, so a desk database and a server database can never be confused.
"""

from alembic import context
from sqlalchemy import engine_from_config, pool

import models  # noqa: F401  (registers the shared desk tables)
from models.server import include_server_object, server_target_metadata

VERSION_TABLE = "server_alembic_version"
config = context.config
target_metadata = server_target_metadata()


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,  # the default server database is SQLite
        compare_type=True,
        include_object=include_server_object,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    section = config.get_section(config.config_ini_section, {})
    engine = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool, hide_parameters=True)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      version_table=VERSION_TABLE, render_as_batch=True, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
