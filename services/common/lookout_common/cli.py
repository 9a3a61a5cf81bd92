"""The ``lookout`` command: set up the database and the broker, print definitions."""

from __future__ import annotations

import json

import click
import pika

from .broker import connection_parameters, declare_topology, topology_definitions
from .db.connection import ensure_database
from .db.schema import migrate
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


@main.command("broker-definitions")
def broker_definitions_command() -> None:
    """Print the topology as RabbitMQ definitions JSON (infra/rabbitmq/definitions.json)."""
    settings = load_settings(SetupSettings)
    click.echo(json.dumps(topology_definitions(settings), indent=2))
