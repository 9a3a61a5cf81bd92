"""The versioned schema (alembic migrations) and the storage mode it was built in.

The storage mode is chosen once, when the schema is first created: TimescaleDB when
the extension can be created (``STORAGE_MODE=auto``), plain PostgreSQL otherwise. It is
recorded in ``lookout_meta`` and every later start checks the setting against it.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from ..settings import DatabaseSettings, StorageMode
from .connection import connect

# Held by whoever runs migrations, so services starting together do not race.
MIGRATION_LOCK_ID = 0x6C6F6F6B  # "look"


class StorageModeError(RuntimeError):
    pass


def alembic_config(settings: DatabaseSettings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "lookout_common.db:migrations")
    cfg.attributes["database_url"] = settings.database_url
    cfg.attributes["requested_storage_mode"] = settings.storage_mode
    cfg.attributes["retention"] = (
        settings.retention_raw_days,
        settings.retention_1m_days,
        settings.retention_1h_days,
    )
    return cfg


def migrate(settings: DatabaseSettings) -> StorageMode:
    """Bring the schema to the newest version; safe to run again and concurrently."""
    command.upgrade(alembic_config(settings), "head")
    return stored_storage_mode(settings)


def stored_storage_mode(settings: DatabaseSettings) -> StorageMode:
    conn = connect(settings, application_name="lookout-schema", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT value FROM lookout_meta WHERE key = 'storage_mode'")
            row = cur.fetchone()
    finally:
        conn.close()
    if row is None:
        raise StorageModeError("the database has no Lookout schema yet: run `lookout migrate`")
    mode = StorageMode(row[0])
    if settings.storage_mode not in (StorageMode.AUTO, mode):
        raise StorageModeError(
            f"STORAGE_MODE={settings.storage_mode.value} but this database was created in "
            f"{mode.value} mode; use another database or set STORAGE_MODE=auto"
        )
    return mode


def resolve_storage_mode(cursor, requested: StorageMode) -> StorageMode:  # type: ignore[no-untyped-def]
    """Pick the mode for a new schema: TimescaleDB only where it can really be created."""
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'),"
        " current_setting('shared_preload_libraries') LIKE '%timescaledb%'"
    )
    available, preloaded = cursor.fetchone()
    usable = bool(available and preloaded)
    if requested is StorageMode.TIMESCALEDB and not usable:
        raise StorageModeError(
            "STORAGE_MODE=timescaledb but the server cannot load the extension "
            f"(available={bool(available)}, in shared_preload_libraries={bool(preloaded)})"
        )
    if requested is StorageMode.AUTO:
        return StorageMode.TIMESCALEDB if usable else StorageMode.POSTGRES
    return requested
