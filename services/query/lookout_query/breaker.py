"""Circuit breakers around the query service's dependencies (the database, Redis).

The state machine is pybreaker's: closed → after ``fail_max`` consecutive outage errors
open → after ``reset_s`` half-open, where one probe call decides between closed again
and open for another ``reset_s``. Only *outages* count (connection refused or lost, the
server shutting down); a query the database refuses or cuts off by its statement
timeout is the query's fault and leaves the breaker alone.

pybreaker holds one lock for the whole guarded call, which would let a process run one
database read at a time. So calls in the closed state run outside it and only report
their outcome to pybreaker (a quick call under its lock), and in the open and half-open
states at most one caller — the probe — goes through pybreaker at all: everyone else
is refused at once with ``BreakerOpen``, never queued behind a probe that may hang.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg2
import psycopg2.errors
import pybreaker
import sqlalchemy.exc
from prometheus_client import Counter

from .promql.model import PromQLError

T = TypeVar("T")

BREAKER_OPENED = Counter("query_breaker_opened_total",
                         "Times a circuit breaker opened, by dependency", ["dependency"])
BREAKER_REFUSED = Counter("query_breaker_refused_total",
                          "Calls refused at once because a breaker was open, by dependency",
                          ["dependency"])


class BreakerOpen(Exception):
    """The dependency is considered down; the call was not attempted."""


class DatabaseUnavailable(PromQLError):
    """The database cannot be reached (or its breaker is open): 503, retry later."""

    error_type = "unavailable"
    status = 503

    def __init__(self, message: str, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def is_database_outage(exc: BaseException) -> bool:
    """Errors that say the database is unreachable, not that the query was wrong."""
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc
    if isinstance(exc, (sqlalchemy.exc.TimeoutError, sqlalchemy.exc.DisconnectionError)):
        return True  # no pooled connection came free, or one broke on checkout
    if isinstance(exc, psycopg2.errors.QueryCanceled):
        return False  # statement_timeout: the query was too slow, the server is fine
    return isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError))


class _StateCounter(pybreaker.CircuitBreakerListener):  # type: ignore[misc]
    def __init__(self, dependency: str) -> None:
        self.dependency = dependency

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        if new_state is not None and new_state.name == pybreaker.STATE_OPEN:
            BREAKER_OPENED.labels(self.dependency).inc()


def _succeed() -> None:
    return None


def _fail(exc: BaseException) -> None:
    raise exc


class DependencyBreaker:
    """Guards calls to one dependency; see the module's docstring."""

    def __init__(self, dependency: str, *, fail_max: int, reset_s: float,
                 is_outage: Callable[[BaseException], bool]) -> None:
        self.dependency = dependency
        self.reset_s = reset_s
        self._is_outage = is_outage
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=fail_max, reset_timeout=reset_s, name=dependency,
            exclude=[lambda exc: not is_outage(exc)], throw_new_error_on_trip=False,
            listeners=[_StateCounter(dependency)],
        )
        self._probe = threading.Lock()

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open``."""
        return str(self._breaker.current_state)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._breaker.current_state == pybreaker.STATE_CLOSED:
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                # Any other error came from a dependency that answered: a success here.
                self._report(exc if self._is_outage(exc) else None)
                raise
            self._report(None)
            return result
        if not self._probe.acquire(blocking=False):
            BREAKER_REFUSED.labels(self.dependency).inc()
            raise BreakerOpen(f"{self.dependency} is unavailable (a probe is under way)")
        try:
            return self._breaker.call(fn, *args, **kwargs)  # type: ignore[no-any-return]
        except pybreaker.CircuitBreakerError:
            BREAKER_REFUSED.labels(self.dependency).inc()
            raise BreakerOpen(f"{self.dependency} is unavailable (circuit open; "
                              f"next attempt within {self.reset_s:g} s)") from None
        finally:
            self._probe.release()

    def _report(self, exc: BaseException | None) -> None:
        """Tell pybreaker how a call made outside it went."""
        # pybreaker re-raises the failure (or refuses when it opened meanwhile): the
        # outcome is recorded either way, and the caller raises on its own.
        with contextlib.suppress(BaseException):
            if exc is None:
                self._breaker.call(_succeed)
            else:
                self._breaker.call(_fail, exc)


class GuardedQuerier:
    """The storage reader with every database call behind the database breaker; an
    outage (or an open breaker) becomes ``DatabaseUnavailable``."""

    def __init__(self, querier: Any, breaker: DependencyBreaker) -> None:
        self._querier = querier
        self._breaker = breaker

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._querier, name)
        if not callable(target):
            return target

        def guarded(*args: Any, **kwargs: Any) -> Any:
            return guard_database(self._breaker, target, *args, **kwargs)

        return guarded


def guard_database(breaker: DependencyBreaker, fn: Callable[..., T], *args: Any,
                   **kwargs: Any) -> T:
    retry_after = max(1, round(breaker.reset_s))
    try:
        return breaker.call(fn, *args, **kwargs)
    except BreakerOpen as exc:
        raise DatabaseUnavailable(str(exc), retry_after) from None
    except Exception as exc:
        if is_database_outage(exc):
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DatabaseUnavailable(f"the database is unavailable: {reason}",
                                      retry_after) from exc
        raise
