import pika

from lookout_common.broker import (
    INGEST_EXCHANGE,
    INGEST_ROUTING_KEY,
    connection_parameters,
    declare_topology,
)
from lookout_worker.queue_probe import QUEUE_DEPTH, QueueDepthProbe
from lookout_worker.settings import WorkerSettings


def test_probe_reports_ingest_and_dlq_depth(amqp_url):
    settings = WorkerSettings(amqp_url=amqp_url)
    connection = pika.BlockingConnection(connection_parameters(settings, "test"))
    try:
        channel = connection.channel()
        declare_topology(channel, settings)
        channel.confirm_delivery()
        for _ in range(3):
            channel.basic_publish(INGEST_EXCHANGE, INGEST_ROUTING_KEY, b"x",
                                  pika.BasicProperties(delivery_mode=2))
        channel.basic_publish("metrics.dlx", "", b"y", pika.BasicProperties(delivery_mode=2))
        assert QueueDepthProbe(settings).probe_once(connection) == {
            "metrics.ingest": 3, "metrics.dlq": 1}
    finally:
        connection.close()
    assert QUEUE_DEPTH.labels("metrics.ingest")._value.get() == 3
    assert QUEUE_DEPTH.labels("metrics.dlq")._value.get() == 1
