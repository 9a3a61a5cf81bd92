"""The StatsD UDP listener: datagrams in, one broker message per flush interval out.

One thread receives and aggregates: it drains the socket (non-blocking, up to
``DRAIN_BATCH`` datagrams between clock checks), parses and aggregates in place, and
at each interval boundary (multiples of ``STATSD_FLUSH_INTERVAL_S`` since the epoch;
the first interval runs from start-up to the first boundary) turns the aggregates
into a batch. Nothing
on that thread waits for the network, so the kernel's receive buffer
(``STATSD_RECEIVE_BUFFER_BYTES``, 8 MiB) only has to cover a flush.

A second thread publishes the flushed batches, oldest first, through
``ConfirmingPublisher`` (persistent, confirmed). While the broker is down it retries
the same message (same message id, so the worker can tell a repeat) with capped
exponential backoff and keeps later flushes queued, up to
``STATSD_MAX_PENDING_FLUSHES``; beyond that the oldest is dropped and counted. On
SIGTERM the listener flushes the interval in progress and gives the publisher
``shutdown_timeout_s`` to empty the queue.
"""

from __future__ import annotations

import collections
import logging
import select
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import Counter, Gauge

from lookout_common.broker import REQUEST_ID_HEADER, BrokerUnavailable, ConfirmingPublisher
from lookout_common.codec import CONTENT_TYPE, encode_batch

from .aggregator import StatsdAggregator
from .parser import StatsdParser
from .settings import StatsdSettings

log = logging.getLogger(__name__)

PROTOCOL = "statsd"
DRAIN_BATCH = 512  # datagrams read between two looks at the clock
MAX_DATAGRAM = 65535
MAX_LOGGED_BAD_LINES = 5  # examples per interval in the warning

BAD_LINES = Counter("statsd_bad_lines_seen_total", "StatsD lines that could not be parsed")
PACKETS = Counter("statsd_packets_received_total", "StatsD datagrams received")
LINES = Counter("statsd_metrics_received_total", "StatsD lines received (good and bad)")
IGNORED = Counter("statsd_ignored_lines_total",
                  "DogStatsD service checks and events (counted, not stored)", ["kind"])
FLUSHES = Counter("statsd_flushes_total", "Flush intervals closed")
PUBLISHED = Counter("statsd_flushes_published_total", "Flushes confirmed by the broker")
SAMPLES = Counter("statsd_samples_published_total", "Samples in flushes the broker confirmed")
RETRIES = Counter("statsd_publish_retries_total", "Failed publish attempts (retried)")
DROPPED = Counter("statsd_flushes_dropped_total",
                  "Flushes dropped: the pending queue was full, or shutdown came first")
PENDING = Gauge("statsd_pending_flushes", "Flushes waiting for the broker")


class Publisher(Protocol):
    def publish(self, body: bytes, *, message_id: str, content_type: str,
                headers: Mapping[str, Any] | None = None) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class PendingFlush:
    message_id: str
    body: bytes
    samples: int
    interval_start_ms: int


def align_down(ms: int, interval_ms: int) -> int:
    return ms - ms % interval_ms


class StatsdServer:
    def __init__(self, settings: StatsdSettings, publisher: Publisher | None = None, *,
                 clock: Callable[[], float] = time.time, shutdown_timeout_s: float = 10.0,
                 retry_initial_s: float = 0.5, retry_max_s: float = 30.0) -> None:
        self.settings = settings
        self.publisher: Publisher = publisher or ConfirmingPublisher(
            settings, name="lookout-statsd")
        self._clock = clock
        self._interval_ms = max(1, round(settings.statsd_flush_interval_s * 1000))
        self.aggregator = StatsdAggregator(
            flush_interval_s=settings.statsd_flush_interval_s,
            percentiles=settings.percentiles,
            # The first interval starts now, not at the boundary before: a restart within
            # an interval must not stamp the time the previous process's last flush had.
            interval_start_ms=self._now_ms(),
        )
        self.parser = StatsdParser(settings.statsd_prefix,
                                   name_suffix_room=self.aggregator.longest_suffix)
        self._shutdown_timeout_s = shutdown_timeout_s
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._socket: socket.socket | None = None
        self.receive_buffer_bytes = 0
        self._stopping = threading.Event()
        self._pending: collections.deque[PendingFlush] = collections.deque()
        self._pending_changed = threading.Condition()
        self._publisher_done = threading.Event()
        self._bad_examples: list[str] = []
        self._bad_in_interval = 0
        self._collisions_logged = 0
        # Totals, readable by tests and the benchmark without /metrics.
        self.packets_received = 0
        self.lines_received = 0
        self.bad_lines = 0

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    # -- socket -----------------------------------------------------------------------
    def bind(self) -> tuple[str, int]:
        """Open the UDP socket; returns the address it listens on."""
        host, port = self.settings.statsd_host, self.settings.statsd_port
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_DGRAM)[0]
        sock = socket.socket(family, kind, proto)
        wanted = self.settings.statsd_receive_buffer_bytes
        try:  # beyond net.core.rmem_max; needs CAP_NET_ADMIN
            sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), wanted)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, wanted)
        # Linux reports twice the size asked for (it counts its own bookkeeping).
        granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2
        if granted < wanted:
            log.warning("statsd receive buffer smaller than asked for; raise "
                        "net.core.rmem_max to avoid drops under bursts",
                        extra={"wanted_bytes": wanted, "granted_bytes": granted})
        sock.bind(address)
        sock.setblocking(False)
        self._socket = sock
        self.receive_buffer_bytes = granted
        bound = sock.getsockname()
        log.info("statsd listening", extra={"address": f"{bound[0]}:{bound[1]}",
                                            "receive_buffer_bytes": granted,
                                            "flush_interval_s":
                                            self.settings.statsd_flush_interval_s})
        return bound[0], bound[1]

    # -- the receiving thread ---------------------------------------------------------
    def serve_forever(self) -> None:
        """Receive and flush until ``stop()``; then flush what is left and wait (up to
        the shutdown timeout) for the broker to take the queued flushes."""
        if self._socket is None:
            self.bind()
        sock = self._socket
        assert sock is not None
        publisher_thread = threading.Thread(target=self._publish_loop,
                                            name="statsd-publisher", daemon=True)
        publisher_thread.start()
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        recv = sock.recv
        parse = self.parser.parse_datagram
        add = self.aggregator.add
        next_flush_ms = (align_down(self.aggregator.interval_start_ms, self._interval_ms)
                         + self._interval_ms)
        try:
            while not self._stopping.is_set():
                now_ms = self._now_ms()
                if now_ms >= next_flush_ms:
                    self.flush(next_flush_ms)
                    next_flush_ms = align_down(now_ms, self._interval_ms) + self._interval_ms
                    continue
                if not poller.poll(min(next_flush_ms - now_ms, 250)):
                    continue
                packets = lines = bad = service_checks = events = 0
                for _ in range(DRAIN_BATCH):
                    try:
                        data = recv(MAX_DATAGRAM)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError as exc:  # e.g. a queued ICMP error; the socket goes on
                        log.warning("statsd receive error", extra={"error": str(exc)})
                        break
                    result = parse(data, now_ms)
                    add(result.events)
                    packets += 1
                    lines += result.lines
                    if result.bad_lines:
                        bad += result.bad_lines
                        room = MAX_LOGGED_BAD_LINES - len(self._bad_examples)
                        self._bad_examples.extend(result.errors[:max(room, 0)])
                    service_checks += result.service_checks
                    events += result.dogstatsd_events
                self._count(packets, lines, bad, service_checks, events)
        finally:
            self.flush(max(self._now_ms(), self.aggregator.interval_start_ms + 1))
            sock.close()
            with self._pending_changed:
                self._pending_changed.notify_all()
            publisher_thread.join(self._shutdown_timeout_s + 1)
            lost = len(self._pending)
            if lost:
                DROPPED.inc(lost)
                log.error("statsd flushes not published before shutdown",
                          extra={"flushes": lost,
                                 "samples": sum(p.samples for p in self._pending)})
            self.publisher.close()

    def _count(self, packets: int, lines: int, bad: int, service_checks: int,
               events: int) -> None:
        self.aggregator.record(packets=packets, lines=lines, bad_lines=bad)
        self.packets_received += packets
        self.lines_received += lines
        self.bad_lines += bad
        self._bad_in_interval += bad
        PACKETS.inc(packets)
        LINES.inc(lines)
        if bad:
            BAD_LINES.inc(bad)
        if service_checks:
            IGNORED.labels("service_check").inc(service_checks)
        if events:
            IGNORED.labels("event").inc(events)

    @property
    def pending_flushes(self) -> list[PendingFlush]:
        with self._pending_changed:
            return list(self._pending)

    def stop(self) -> None:
        """Ask the loop to finish (safe from a signal handler or another thread)."""
        self._stopping.set()

    def flush(self, now_ms: int) -> PendingFlush:
        """Close the interval: aggregate, encode, queue for the publisher."""
        interval_start = self.aggregator.interval_start_ms
        collisions = self.aggregator.collisions
        batch = self.aggregator.flush(now_ms)
        pending = PendingFlush(uuid.uuid4().hex, encode_batch(batch), len(batch),
                               interval_start)
        FLUSHES.inc()
        if self._bad_in_interval:
            log.warning("bad statsd lines", extra={"count": self._bad_in_interval,
                                                   "examples": self._bad_examples})
            self._bad_in_interval, self._bad_examples = 0, []
        if self.aggregator.collisions > collisions:
            log.warning("statsd metrics of different types make the same series; the "
                        "first was kept", extra={"collisions":
                                                 self.aggregator.collisions - collisions})
        with self._pending_changed:
            if len(self._pending) >= self.settings.statsd_max_pending_flushes:
                dropped = self._pending.popleft()
                DROPPED.inc()
                log.error("statsd pending queue full, oldest flush dropped",
                          extra={"interval_start_ms": dropped.interval_start_ms,
                                 "samples": dropped.samples})
            self._pending.append(pending)
            PENDING.set(len(self._pending))
            self._pending_changed.notify_all()
        return pending

    # -- the publishing thread --------------------------------------------------------
    def _publish_loop(self) -> None:
        delay = self._retry_initial_s
        give_up_at: float | None = None
        while True:
            with self._pending_changed:
                while not self._pending and not self._stopping.is_set():
                    self._pending_changed.wait(1.0)
                if not self._pending:
                    break  # stopping and nothing left
                item = self._pending[0]
            if self._stopping.is_set() and give_up_at is None:
                give_up_at = time.monotonic() + self._shutdown_timeout_s
            try:
                self.publisher.publish(
                    item.body, message_id=item.message_id, content_type=CONTENT_TYPE,
                    headers={REQUEST_ID_HEADER: f"statsd-{item.interval_start_ms}",
                             "x-lookout-protocol": PROTOCOL},
                )
            except Exception as exc:  # BrokerUnavailable, or anything a publisher raises
                RETRIES.inc()
                if not isinstance(exc, BrokerUnavailable):
                    log.exception("unexpected error publishing a statsd flush")
                if give_up_at is not None and time.monotonic() + delay > give_up_at:
                    break
                log.warning("statsd flush not published, retrying",
                            extra={"error": str(exc), "retry_in_s": delay,
                                   "pending_flushes": len(self._pending)})
                if give_up_at is None:  # sleep, but wake up for a shutdown
                    self._stopping.wait(delay)
                else:
                    time.sleep(delay)
                delay = min(delay * 2, self._retry_max_s)
                continue
            delay = self._retry_initial_s
            PUBLISHED.inc()
            SAMPLES.inc(item.samples)
            with self._pending_changed:
                try:
                    self._pending.remove(item)
                except ValueError:  # dropped meanwhile for room; it made it anyway
                    pass
                PENDING.set(len(self._pending))
        self._publisher_done.set()
