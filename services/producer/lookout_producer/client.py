"""The HTTP client of the JSON ingest API: one POST per batch, retried by urllib3.

What is retried (``ingest_retry``), with exponential backoff capped at 10 s, or the
server's ``Retry-After`` (capped at 60 s) when it sends one:

* connection errors (ingest or nginx down or restarting);
* 429, 502, 503 and 504 (the ingest API answers 503 while the broker is down);
* a few read errors: a batch carries its own timestamps and the store drops a
  (series, time) it already holds, so sending it twice is harmless.

Forty attempts ride out an outage of several minutes. Any other answer is final:
a 4xx is the producer's mistake, logged with the API's error message and counted
as rejected. Samples count as acknowledged only on a 2xx.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import RequestHistory, Retry

from .points import MetricPoint

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
CONNECT_TIMEOUT_S = 5.0


class Outcome(StrEnum):
    ACKNOWLEDGED = "acknowledged"  # 2xx
    REJECTED = "rejected"  # 4xx other than 429: resending cannot help
    FAILED = "failed"  # retries exhausted, 5xx or no answer


@dataclass
class SendTotals:
    requests: int = 0  # batches sent (a retried batch counts once)
    retries: int = 0  # attempts beyond the first
    acknowledged: int = 0  # samples, 2xx
    rejected: int = 0  # samples, 4xx
    failed: int = 0  # samples, given up


class SendStats:
    """Counters shared by the clients of several sender threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals = SendTotals()

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self._totals, name, getattr(self._totals, name) + n)

    def snapshot(self) -> SendTotals:
        with self._lock:
            return SendTotals(**{f.name: getattr(self._totals, f.name)
                                 for f in fields(SendTotals)})


class ObservedRetry(Retry):
    """urllib3's ``Retry`` that reports each retry it decides on (for counts and logs)."""

    def __init__(self, *args: Any, on_retry: Callable[[RequestHistory], None] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_retry = on_retry

    def new(self, **kw: Any) -> ObservedRetry:
        retry = super().new(**kw)
        retry.on_retry = self.on_retry
        return retry

    def increment(self, *args: Any, **kwargs: Any) -> ObservedRetry:
        retry = super().increment(*args, **kwargs)  # raises once the budget is spent
        if self.on_retry is not None and retry.history:
            self.on_retry(retry.history[-1])
        return retry


def ingest_retry(
    total: int = 40,
    backoff_factor: float = 0.5,
    backoff_max: float = 10.0,
    on_retry: Callable[[RequestHistory], None] | None = None,
) -> ObservedRetry:
    return ObservedRetry(
        total=total,
        connect=None,  # bounded by total
        read=3,
        redirect=0,
        status=None,
        other=0,
        allowed_methods=frozenset({"POST"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        backoff_max=backoff_max,
        backoff_jitter=0.25,
        respect_retry_after_header=True,
        retry_after_max=60,
        raise_on_status=False,  # hand back the last answer once retries are spent
        raise_on_redirect=False,
        on_retry=on_retry,
    )


class IngestClient:
    """Posts batches to ``metrics_url`` over one keep-alive session (one per thread)."""

    def __init__(
        self,
        metrics_url: str,
        *,
        timeout_s: float = 30.0,
        stats: SendStats | None = None,
        retry_total: int = 40,
        backoff_factor: float = 0.5,
        token: str = "",
    ) -> None:
        self.metrics_url = metrics_url
        self.timeout = (min(CONNECT_TIMEOUT_S, timeout_s), timeout_s)
        self.stats = stats or SendStats()
        self.session = requests.Session()
        adapter = HTTPAdapter(
            max_retries=ingest_retry(retry_total, backoff_factor, on_retry=self._on_retry),
            pool_connections=1,
            pool_maxsize=1,
        )
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"Content-Type": "application/json",
                                     "User-Agent": "lookout-producer"})
        if token:  # ingest with INGEST_AUTH=on
            self.session.headers["Authorization"] = f"Bearer {token}"

    def __enter__(self) -> IngestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def send_points(self, points: Sequence[MetricPoint]) -> Outcome:
        return self.send(orjson.dumps([p.as_json() for p in points]), len(points))

    def send(self, body: bytes, samples: int) -> Outcome:
        """POST one JSON array of ``samples`` samples; retries happen inside."""
        request_id = uuid.uuid4().hex
        self.stats.add(requests=1)
        try:
            response = self.session.post(
                self.metrics_url, data=body, timeout=self.timeout,
                headers={"X-Request-ID": request_id},
            )
        except requests.RequestException as exc:
            self.stats.add(failed=samples)
            log.error("gave up sending a batch: %s", exc, extra={
                "request_id": request_id, "samples": samples, "error": str(exc)})
            return Outcome.FAILED
        status = response.status_code
        if 200 <= status < 300:
            self.stats.add(acknowledged=samples)
            return Outcome.ACKNOWLEDGED
        error = _error_message(response)
        if 400 <= status < 500 and status not in RETRY_STATUSES:
            self.stats.add(rejected=samples)
            log.error("ingest rejected a batch: HTTP %s %s", status, error, extra={
                "request_id": request_id, "status": status, "samples": samples,
                "error": error})
            return Outcome.REJECTED
        self.stats.add(failed=samples)
        log.error("gave up sending a batch: HTTP %s %s", status, error, extra={
            "request_id": request_id, "status": status, "samples": samples, "error": error})
        return Outcome.FAILED

    def _on_retry(self, attempt: RequestHistory) -> None:
        self.stats.add(retries=1)
        reason = f"HTTP {attempt.status}" if attempt.status else str(attempt.error)
        log.warning("retrying a batch: %s", reason, extra={
            "url": self.metrics_url, "status": attempt.status,
            "error": None if attempt.error is None else str(attempt.error)})


def _error_message(response: requests.Response) -> str:
    """The ``error.message`` of a Lookout JSON error, else the start of the body."""
    try:
        doc = response.json()
        message = doc["error"]["message"]
        if isinstance(message, str):
            return message
    except (ValueError, KeyError, TypeError):
        pass
    return response.text[:500]
