"""Delivering notifications: a pool of threads so one slow or dead receiver never holds
up the others, retries with backoff (5xx and network errors; a 4xx is final), and a
circuit breaker per destination: after ``alerts_breaker_failures`` failed attempts in a
row the destination is not tried for ``alerts_breaker_reset_s``. A notification whose
last attempt failed marks its events ``notification_failed``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor

import pybreaker
from prometheus_client import Counter

from ..settings import AlertsSettings
from .grouping import Notification
from .senders import DeliveryFailed, PermanentDeliveryFailure, Sender

log = logging.getLogger(__name__)

DELIVERIES = Counter("alerts_notifications_total", "Notification deliveries by outcome",
                     ["type", "outcome"])
ATTEMPTS = Counter("alerts_notification_attempts_total", "Delivery attempts by outcome",
                   ["type", "outcome"])

# event ids, status, error
StatusRecorder = Callable[[list[int], str, str | None], None]


class NotificationDelivery:
    def __init__(self, settings: AlertsSettings, senders: Mapping[str, Sender],
                 record_status: StatusRecorder,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.senders = senders
        self.record_status = record_status
        self.delays = settings.retry_delays()
        self.sleep = sleep
        self._pool = ThreadPoolExecutor(settings.alerts_delivery_workers,
                                        thread_name_prefix="alert-delivery")
        self._breakers: dict[str, pybreaker.CircuitBreaker] = {}
        self._lock = threading.Lock()

    def breaker(self, destination: str) -> pybreaker.CircuitBreaker:
        with self._lock:
            if destination not in self._breakers:
                self._breakers[destination] = pybreaker.CircuitBreaker(
                    fail_max=self.settings.alerts_breaker_failures,
                    reset_timeout=self.settings.alerts_breaker_reset_s,
                    exclude=[PermanentDeliveryFailure], name=destination)
            return self._breakers[destination]

    def submit(self, n: Notification) -> Future[str]:
        return self._pool.submit(self.deliver, n)

    def deliver(self, n: Notification) -> str:
        """Send ``n`` with retries; returns and records the final status."""
        kind = n.target.kind
        breaker = self.breaker(n.target.key())
        send = self.senders[kind]
        error = "no attempt made"
        for attempt in range(len(self.delays) + 1):
            if attempt:
                self.sleep(self.delays[attempt - 1])
            try:
                breaker.call(send, n)
            except pybreaker.CircuitBreakerError as exc:
                error = f"circuit open for {n.target.key()}: {exc}"
                ATTEMPTS.labels(kind, "breaker_open").inc()
                break  # the destination is considered down: fail now, free the thread
            except PermanentDeliveryFailure as exc:
                error = str(exc)
                ATTEMPTS.labels(kind, "refused").inc()
                break
            except DeliveryFailed as exc:
                error = str(exc)
                ATTEMPTS.labels(kind, "failed").inc()
                log.warning("notification attempt %d to %s failed: %s", attempt + 1,
                            n.target.key(), error, extra={
                    "target": n.target.key(), "attempt": attempt + 1, "error": error})
                continue
            except Exception as exc:  # a bug in a sender must not kill the thread silently
                error = f"{type(exc).__name__}: {exc}"
                log.exception("notification sender crashed", extra={"target": n.target.key()})
                break
            ATTEMPTS.labels(kind, "sent").inc()
            DELIVERIES.labels(kind, "sent").inc()
            self.record_status(list(n.event_ids), "sent", None)
            return "sent"
        DELIVERIES.labels(kind, "failed").inc()
        log.error("notification to %s failed: %s", n.target.key(), error,
                  extra={"target": n.target.key(), "error": error})
        self.record_status(list(n.event_ids), "notification_failed", error[:1000])
        return "notification_failed"

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
