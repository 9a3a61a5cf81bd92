"""alembic environment: one connection, an advisory lock, the storage mode decided once."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from lookout_common.db.connection import sqlalchemy_url
from lookout_common.db.schema import MIGRATION_LOCK_ID, resolve_storage_mode

config = context.config


def run_migrations() -> None:
    engine = create_engine(
        sqlalchemy_url(config.attributes["database_url"]),
        poolclass=pool.NullPool,
    )
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        connection.commit()
        try:
            has_meta = connection.execute(text("SELECT to_regclass('lookout_meta')")).scalar()
            if has_meta:
                mode = connection.execute(
                    text("SELECT value FROM lookout_meta WHERE key = 'storage_mode'")
                ).scalar_one()
            else:
                raw = connection.connection.dbapi_connection
                with raw.cursor() as cur:  # type: ignore[union-attr]
                    mode = resolve_storage_mode(
                        cur, config.attributes["requested_storage_mode"]
                    ).value
            connection.commit()
            config.attributes["storage_mode"] = mode
            context.configure(connection=connection, target_metadata=None)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()


run_migrations()
