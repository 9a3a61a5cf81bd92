"""The "ingested" event: after a batch committed, the worker tells the query instances
which metrics it touched, over which time span, with the newest few points, so live
subscriptions are re-evaluated only when their data changed (docs/live.md).

Published on the ``metrics.ingested`` fanout exchange, transient (the event is only
useful now), after the commit and the ack: a publish that fails is logged and counted
and never touches the stored data or the messages' acknowledgement.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from prometheus_client import Counter

from lookout_common.broker import INGESTED_EXCHANGE

from .store import InboundMessage

log = logging.getLogger(__name__)

EVENT_CONTENT_TYPE = "application/json"
ANNOUNCED = Counter("worker_ingested_events_total",
                    "'ingested' events published for live push, by outcome", ["outcome"])


def ingested_event(messages: Sequence[InboundMessage], max_points: int) -> dict[str, Any] | None:
    """The event for the committed ``messages``: metric names, time span, sample count
    and the newest ``max_points`` points (``{name, labels, value, timestamp}``)."""
    metrics: set[str] = set()
    start_ms, end_ms, samples = math.inf, -math.inf, 0
    newest: list[tuple[int, int, int]] = []  # (time, message number, sample index)
    for number, message in enumerate(messages):
        batch = message.batch
        if not len(batch):
            continue
        samples += len(batch)
        metrics.update(batch.series[i].metric for i in np.unique(batch.index))
        start_ms = min(start_ms, int(batch.time_ms.min()))
        end_ms = max(end_ms, int(batch.time_ms.max()))
        # The newest points of this message; the overall newest are picked below.
        take = min(max_points, len(batch))
        for i in np.argsort(batch.time_ms, kind="stable")[-take:]:
            newest.append((int(batch.time_ms[i]), number, int(i)))
    if not samples:
        return None
    newest.sort()
    points = []
    for t, number, i in newest[-max_points:] if max_points else []:
        batch = messages[number].batch
        series = batch.series[batch.index[i]]
        value = float(batch.value[i])
        points.append({"name": series.metric, "labels": dict(series.labels),
                       "value": value if math.isfinite(value) else _special(value),
                       "timestamp": t})
    return {"metrics": sorted(metrics), "start_ms": int(start_ms), "end_ms": int(end_ms),
            "samples": samples, "points": points, "committed_ms": int(time.time() * 1000)}


def _special(value: float) -> str:
    """JSON has no NaN or infinity: the strings the ingest API accepts for them."""
    if value != value:
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


def publish_ingested(channel: BlockingChannel, messages: Sequence[InboundMessage],
                     max_points: int) -> None:
    """Announce a committed batch; never raises for a broker failure (logs, counts)."""
    event = ingested_event(messages, max_points)
    if event is None:
        return
    try:
        channel.basic_publish(
            INGESTED_EXCHANGE, "", json.dumps(event, separators=(",", ":")).encode(),
            pika.BasicProperties(content_type=EVENT_CONTENT_TYPE,
                                 delivery_mode=pika.DeliveryMode.Transient))
    except (pika.exceptions.AMQPError, OSError) as exc:
        # The batch is committed and acked already; the live view misses one update.
        ANNOUNCED.labels("failed").inc()
        log.warning("'ingested' event not published", extra={"error": repr(exc)})
        return
    ANNOUNCED.labels("ok").inc()
