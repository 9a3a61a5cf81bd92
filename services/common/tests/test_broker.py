"""The topology on a real broker: declared idempotently, queue type configurable."""

import pika
import pytest

from lookout_common.broker import (
    DEAD_LETTER_QUEUE,
    INGEST_QUEUE,
    TopologyMismatch,
    connection_parameters,
    declare_topology,
)
from lookout_common.settings import BrokerSettings, QueueType
from lookout_common.testing import vhost_of


@pytest.mark.parametrize("queue_type", [QueueType.CLASSIC, QueueType.QUORUM])
def test_topology_declared_twice_with_the_configured_queue_type(amqp_url, rabbit_admin, queue_type):
    settings = BrokerSettings(amqp_url=amqp_url, broker_queue_type=queue_type,
                              broker_queue_max_length=1234)
    connection = pika.BlockingConnection(connection_parameters(settings, "test"))
    try:
        declare_topology(connection.channel(), settings)
        declare_topology(connection.channel(), settings)
    finally:
        connection.close()
    queue = rabbit_admin.queue(vhost_of(amqp_url), INGEST_QUEUE)
    assert queue["durable"] is True
    assert queue["type"] == queue_type.value
    assert queue["arguments"]["x-max-length"] == 1234
    assert queue["arguments"]["x-overflow"] == "reject-publish"
    assert queue["arguments"]["x-dead-letter-exchange"] == "metrics.dlx"
    assert rabbit_admin.queue(vhost_of(amqp_url), DEAD_LETTER_QUEUE)["type"] == queue_type.value


def test_changed_queue_arguments_are_named(amqp_url):
    first = BrokerSettings(amqp_url=amqp_url, broker_queue_max_length=10)
    connection = pika.BlockingConnection(connection_parameters(first, "test"))
    try:
        declare_topology(connection.channel(), first)
        with pytest.raises(TopologyMismatch, match=r"queue metrics\.ingest exists with other arguments"):
            declare_topology(connection.channel(),
                             BrokerSettings(amqp_url=amqp_url, broker_queue_max_length=20))
    finally:
        connection.close()
