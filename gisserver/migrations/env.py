"""Alembic environment: one advisory lock so that concurrent `db migrate` runs take turns."""

from alembic import context
from sqlalchemy import create_engine, pool, text

from gisserver.core.db import Base
from gisserver.core.features import import_models

import_models()
config = context.config
MIGRATION_LOCK = 7_246_001


def include_object(obj, name, type_, reflected, compare_to):
    # PostGIS owns these; autogenerate must never try to drop them.
    return not (type_ == "table" and name in {"spatial_ref_sys"})


def run_migrations_online() -> None:
    engine = create_engine(config.attributes["url"], poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
        # The role's statement timeout (set for connections through a pooler) is for requests, not for a
        # migration rewriting a large table.
        connection.execute(text("SET statement_timeout = 0"))
        connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                include_object=include_object,
                transaction_per_migration=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
            connection.commit()
    engine.dispose()


run_migrations_online()
