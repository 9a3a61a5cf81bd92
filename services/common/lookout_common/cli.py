"""The ``lookout`` command: set up the database and the broker, print definitions."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

import click
import pika
import psycopg2.extensions

from . import credentials
from .broker import (
    DEAD_LETTER_QUEUE,
    connection_parameters,
    declare_topology,
    topology_definitions,
)
from .db.connection import connect, ensure_database
from .db.schema import migrate
from .dlq import DeadLetterQueue
from .log_config import configure_logging
from .settings import BaseServiceSettings, BrokerSettings, DatabaseSettings, load_settings


class SetupSettings(BaseServiceSettings, DatabaseSettings, BrokerSettings):
    pass


@click.group()
def main() -> None:
    """Lookout administration."""


@main.command("migrate")
@click.option("--create-database/--no-create-database", default=True,
              help="Create the database named in DATABASE_URL if it is missing.")
def migrate_command(create_database: bool) -> None:
    """Create or upgrade the schema (safe to re-run)."""
    settings = load_settings(SetupSettings)
    configure_logging(settings, "lookout-cli")
    if create_database and ensure_database(settings.database_url):
        click.echo("created the database")
    mode = migrate(settings)
    click.echo(f"schema is up to date (storage mode: {mode.value})")


@main.command("setup-broker")
def setup_broker_command() -> None:
    """Declare the exchanges and queues (safe to re-run)."""
    settings = load_settings(SetupSettings)
    connection = pika.BlockingConnection(connection_parameters(settings, "lookout-cli"))
    try:
        declare_topology(connection.channel(), settings)
    finally:
        connection.close()
    click.echo("broker topology declared")


@main.group("credentials")
def credentials_group() -> None:
    """Ingest credentials agents push with (when INGEST_AUTH=on)."""


@contextmanager
def _credentials_db() -> Iterator[psycopg2.extensions.connection]:
    """A connection for the credentials commands; their errors become CLI errors."""
    conn = connect(load_settings(SetupSettings), application_name="lookout-cli")
    try:
        yield conn
    except credentials.CredentialError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        conn.close()


@credentials_group.command("create-token")
@click.argument("name")
def create_token_command(name: str) -> None:
    """Create a bearer token NAME; prints the token once."""
    with _credentials_db() as conn:
        token = credentials.create_token(conn, name)
    click.echo(f"token for {name} (shown once): {token}")
    click.echo(f"use it as:  Authorization: Bearer {token}")


@credentials_group.command("ensure-token")
@click.argument("name")
@click.option("--from-env", "env_var", required=True,
              help="Environment variable holding the token (at least 32 characters).")
def ensure_token_command(name: str, env_var: str) -> None:
    """Create token NAME with a secret from the environment, if it does not exist yet
    (for deployments that hand the same secret to an agent, e.g. compose's producer)."""
    secret = os.environ.get(env_var, "")
    if not secret:
        raise click.ClickException(f"{env_var} is empty")
    with _credentials_db() as conn:
        created = credentials.ensure_token(conn, name, secret)
    click.echo(f"token {name} {'created' if created else 'already present'}")


@credentials_group.command("create-basic")
@click.argument("name")
@click.option("--username", required=True)
def create_basic_command(name: str, username: str) -> None:
    """Create a basic-auth pair NAME for USERNAME; prints the password once."""
    with _credentials_db() as conn:
        password = credentials.create_basic(conn, name, username)
    click.echo(f"basic auth for {name} (shown once): username {username} password {password}")


@credentials_group.command("list")
def list_command() -> None:
    """List credentials (never their secrets)."""
    with _credentials_db() as conn:
        for c in credentials.list_credentials(conn):
            state = f"revoked {c.revoked_at:%Y-%m-%d %H:%M}" if c.revoked_at else "active"
            user = f" user={c.username}" if c.username else ""
            click.echo(f"{c.name}\t{c.kind}{user}\tcreated {c.created_at:%Y-%m-%d %H:%M}\t{state}")


@credentials_group.command("revoke")
@click.argument("name")
def revoke_command(name: str) -> None:
    """Revoke credential NAME (ingest stops accepting it within 30 s)."""
    with _credentials_db() as conn:
        credentials.revoke(conn, name)
    click.echo(f"revoked {name}")


@main.group("api-tokens")
def api_tokens_group() -> None:
    """API tokens of query-service users, for scripts (Authorization: Bearer)."""


@api_tokens_group.command("create")
@click.argument("name")
@click.option("--user", "username", required=True, help="The user the token acts as.")
def create_api_token_command(name: str, username: str) -> None:
    """Create API token NAME acting as USER; prints the token once."""
    with _credentials_db() as conn:
        token = credentials.create_api_token(conn, name, username)
    click.echo(f"API token {name} for {username} (shown once): {token}")
    click.echo(f"use it as:  Authorization: Bearer {token}")


@main.group("dlq")
def dlq_group() -> None:
    """The dead-letter queue (metrics.dlq): list, show, replay, purge."""


def _dlq() -> DeadLetterQueue:
    return DeadLetterQueue(load_settings(SetupSettings))


@dlq_group.command("list")
@click.option("--limit", default=100, show_default=True, help="At most this many messages.")
def dlq_list_command(limit: int) -> None:
    """One line per dead-lettered message: id, when, why."""
    queue = _dlq()
    messages = queue.peek(limit)
    total = queue.count()
    for m in messages:
        when = f"{m.published_at:%Y-%m-%d %H:%M:%S}" if m.published_at else "-"
        click.echo(f"{m.message_id or '-'}\t{when}\t{len(m.body)} bytes\t{m.reason}")
    click.echo(f"{total} message(s) in {DEAD_LETTER_QUEUE}"
               + (f", first {len(messages)} shown" if total > len(messages) else ""))


@dlq_group.command("show")
@click.argument("message_id")
def dlq_show_command(message_id: str) -> None:
    """Headers, reason and content of one message."""
    message = _dlq().find(message_id)
    if message is None:
        raise click.ClickException(f"no message {message_id!r} in {DEAD_LETTER_QUEUE}")
    click.echo(f"message id:   {message.message_id}")
    click.echo(f"published at: {message.published_at}")
    click.echo(f"reason:       {message.reason}")
    click.echo(f"content:      {message.summary()}")
    for key, value in sorted(message.headers.items()):
        click.echo(f"header {key}: {value}")


def _selection(message_ids: tuple[str, ...], everything: bool) -> list[str] | None:
    if everything == bool(message_ids):
        raise click.UsageError("give message ids or --all (not both)")
    return None if everything else list(message_ids)


@dlq_group.command("replay")
@click.argument("message_ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every message in the queue.")
def dlq_replay_command(message_ids: tuple[str, ...], everything: bool) -> None:
    """Put messages back on the ingest path (after fixing why they failed)."""
    outcome = _dlq().replay(_selection(message_ids, everything))
    missing = set(message_ids) - set(outcome.done)
    click.echo(f"replayed {len(outcome.done)}, left {outcome.kept} in {DEAD_LETTER_QUEUE}"
               + (f"; not found: {', '.join(sorted(missing))}" if missing else ""))


@dlq_group.command("purge")
@click.argument("message_ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every message in the queue.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def dlq_purge_command(message_ids: tuple[str, ...], everything: bool, yes: bool) -> None:
    """Delete messages from the DLQ for good."""
    selection = _selection(message_ids, everything)
    if not yes:
        click.confirm(f"delete {'every message' if selection is None else len(selection)} "
                      f"from {DEAD_LETTER_QUEUE} for good?", abort=True)
    outcome = _dlq().purge(selection)
    click.echo(f"purged {len(outcome.done)}, left {outcome.kept} in {DEAD_LETTER_QUEUE}")


@main.command("broker-definitions")
def broker_definitions_command() -> None:
    """Print the topology as RabbitMQ definitions JSON (infra/rabbitmq/definitions.json)."""
    settings = load_settings(SetupSettings)
    click.echo(json.dumps(topology_definitions(settings), indent=2))
