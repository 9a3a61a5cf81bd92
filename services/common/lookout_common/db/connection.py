"""Opening connections and creating the database itself."""

from __future__ import annotations

import time

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from ..settings import DatabaseSettings


def connect(
    settings: DatabaseSettings, *, application_name: str, autocommit: bool = False
) -> psycopg2.extensions.connection:
    conn = psycopg2.connect(
        settings.database_url,
        application_name=application_name,
        connect_timeout=5,
        keepalives=1,
        keepalives_idle=30,
    )
    conn.autocommit = autocommit
    return conn


def sqlalchemy_url(database_url: str) -> str:
    """The same URL for SQLAlchemy, naming the psycopg2 driver explicitly."""
    _scheme, rest = database_url.split("://", 1)
    return f"postgresql+psycopg2://{rest}"


def ensure_database(database_url: str) -> bool:
    """Create the database named in ``database_url`` if it is missing; True if created."""
    params = psycopg2.extensions.parse_dsn(database_url)
    name = params.get("dbname") or params.get("user") or "postgres"
    params["dbname"] = "postgres"
    conn = psycopg2.connect(**params, connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone():
                return False
            try:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except psycopg2.errors.DuplicateDatabase:
                return False  # created concurrently by another service
            return True
    finally:
        conn.close()


def drop_database(database_url: str) -> None:
    params = psycopg2.extensions.parse_dsn(database_url)
    name = params["dbname"]
    params["dbname"] = "postgres"
    conn = psycopg2.connect(**params, connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            cur.execute(statement.format(sql.Identifier(name)))
    finally:
        conn.close()


def check_database(settings: DatabaseSettings) -> float:
    """Run ``SELECT 1``; return the latency in seconds (for readiness)."""
    started = time.perf_counter()
    conn = connect(settings, application_name="lookout-health", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
    finally:
        conn.close()
    return time.perf_counter() - started
