"""Fixtures for every test in the repository: real PostgreSQL, RabbitMQ and Redis,
isolated per test (see lookout_common.testing)."""

pytest_plugins = ["lookout_common.testing"]
