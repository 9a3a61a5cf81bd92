"""Lookout's worker: consumes sample batches from RabbitMQ, COPYs them into
PostgreSQL/TimescaleDB exactly once, and keeps partitions and rollups maintained."""
