"""The query service's Socket.IO endpoint: connect (with the query API's identity),
``subscribe`` / ``unsubscribe``, and the server's events (``initial``, ``metric``,
``alert``, ``heartbeat``, ``result``, ``subscription_error``). The contract is in
docs/api.md ("Live push"); the design and the choice of gevent in docs/live.md.

One ``LiveServer`` per process. Subscriptions are kept here (none survive a reconnect:
the client re-subscribes). A background task re-evaluates the subscriptions that the
broker feed (feed.py) marks as touched, at most once per ``QUERY_LIVE_DEBOUNCE_S`` each,
one evaluation per distinct (query, range, step) whatever the number of watchers.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

import orjson
import redis
from flask import request
from flask_socketio import ConnectionRefusedError, SocketIO, join_room
from prometheus_client import Counter, Gauge, Histogram

from lookout_common.errors import LookoutError

from ..accounts import SESSION_COOKIE, Accounts, Principal
from ..encoding import PROMETHEUS
from ..params import RangeQuery
from ..promql.model import PromQLError
from ..query_runner import QueryRunner
from ..settings import QuerySettings
from .shared import SharedResults
from .subscriptions import Registry, SubscribeRefused, SubscriptionKey, parse_subscribe, window

log = logging.getLogger(__name__)


def refuse(error: dict[str, str]) -> ConnectionRefusedError:
    """A refused connection: the client's connect_error has the reason as its message
    and ``{"type", "message"}`` as its data."""
    return ConnectionRefusedError(error["message"], error)

CONNECTIONS = Gauge("live_connections_active", "Socket.IO connections open",
                    multiprocess_mode="livesum")
SUBSCRIPTIONS = Gauge("live_subscriptions_active", "Live subscriptions held",
                      multiprocess_mode="livesum")
EMITTED = Counter("live_events_emitted_total", "Socket.IO events emitted, by event", ["event"])
EVALUATION = Histogram("live_evaluation_seconds", "Time to re-evaluate one live subscription",
                       buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
REFUSED = Counter("live_connections_refused_total", "Socket.IO connections refused")


def now_ms() -> int:
    return int(time.time() * 1000)


class LiveServer:
    def __init__(self, socketio: SocketIO, settings: QuerySettings, runner: QueryRunner,
                 accounts: Accounts, recent: redis.Redis) -> None:
        self.socketio = socketio
        self.settings = settings
        self.runner = runner
        self.accounts = accounts
        self.recent = recent
        self.recent_key = f"{settings.redis_key_prefix}live:recent"
        self.instance = uuid.uuid4().hex
        self.room = f"instance:{self.instance}"
        self.registry = Registry()
        self.lock = threading.Lock()
        # key -> (newest sample time, newest commit time) in ms of the data that touched
        # it since its last run
        self.dirty: dict[SubscriptionKey, tuple[int | None, int]] = {}
        self.shared = SharedResults(recent, settings.redis_key_prefix)
        self.last_run: dict[SubscriptionKey, float] = {}
        self.wake = threading.Event()
        self._tasks_started = False

    # -- wiring -------------------------------------------------------------------------
    def install(self) -> None:
        sio = self.socketio
        sio.on_event("connect", self.on_connect)
        sio.on_event("disconnect", self.on_disconnect)
        sio.on_event("subscribe", self.on_subscribe)
        sio.on_event("unsubscribe", self.on_unsubscribe)

    def start_tasks(self) -> None:
        """The evaluator and heartbeat tasks (once, in the serving process)."""
        with self.lock:
            if self._tasks_started:
                return
            self._tasks_started = True
        self.socketio.start_background_task(self._evaluator)
        self.socketio.start_background_task(self._heartbeat)

    def emit(self, event: str, data: dict[str, Any], **kwargs: Any) -> None:
        data["server_time"] = now_ms()
        self.socketio.emit(event, data, **kwargs)
        EMITTED.labels(event).inc()

    # -- connections ----------------------------------------------------------------------
    def principal(self, auth: Any) -> Principal | None:
        """Who connects: an API token in ``auth``, else the session cookie. As for the
        query API, an unknown token counts as anonymous unless QUERY_AUTH_REQUIRED."""
        token = auth.get("token") if isinstance(auth, dict) else None
        if token:
            principal = self.accounts.token_user(str(token))
            if principal is None and self.settings.query_auth_required:
                raise refuse({"type": "unauthorized",
                              "message": "the API token is unknown or revoked"})
            return principal
        session_id = request.cookies.get(SESSION_COOKIE)
        if session_id:
            try:
                user_id = self.accounts.session_user_id(session_id)
            except LookoutError:  # Redis down: as if no session was presented
                user_id = None
            if user_id is not None:
                return self.accounts.user(user_id, "session")
        return None

    def on_connect(self, auth: Any = None) -> None:
        self.start_tasks()
        principal = self.principal(auth)
        if principal is None and self.settings.query_auth_required:
            REFUSED.inc()
            raise refuse({
                "type": "unauthorized",
                "message": "QUERY_AUTH_REQUIRED is set: sign in or connect with "
                           "auth {token: <API token>}"})
        sid: str = request.sid  # type: ignore[attr-defined]
        join_room(self.room)
        CONNECTIONS.inc()
        self.emit("initial", {"points": self.recent_points()}, to=sid)

    def on_disconnect(self, *_args: Any) -> None:
        sid: str = request.sid  # type: ignore[attr-defined]
        with self.lock:
            before = len(self.registry)
            self.registry.drop_connection(sid)
            SUBSCRIPTIONS.dec(before - len(self.registry))
        CONNECTIONS.dec()

    def recent_points(self) -> list[dict[str, Any]]:
        if self.settings.query_live_initial_points <= 0:
            return []
        try:
            raw: list[bytes] = self.recent.lrange(  # type: ignore[assignment]
                self.recent_key, -self.settings.query_live_initial_points, -1)
        except redis.RedisError as exc:
            log.warning("recent points unavailable", extra={"error": repr(exc)})
            return []
        return [orjson.loads(item) for item in raw]

    # -- subscriptions ----------------------------------------------------------------------
    def on_subscribe(self, payload: Any = None) -> dict[str, Any]:
        sid: str = request.sid  # type: ignore[attr-defined]
        try:
            req = parse_subscribe(payload)
        except SubscribeRefused as exc:
            return {"ok": False, "error": {"type": exc.kind, "message": exc.message}}
        with self.lock:
            known = req.id in self.registry.by_sid.get(sid, {})
            if not known and self.registry.count(sid) >= self.settings.query_live_max_subscriptions:
                return {"ok": False, "error": {
                    "type": "too_many_subscriptions",
                    "message": f"at most {self.settings.query_live_max_subscriptions} "
                               "subscriptions per connection (QUERY_LIVE_MAX_SUBSCRIPTIONS)"}}
            before = len(self.registry)
            self.registry.add(sid, req)
            SUBSCRIPTIONS.inc(len(self.registry) - before)
        # The first answer right away, for this subscriber only.
        self.socketio.start_background_task(self._answer_one, sid, req.id, req.key)
        return {"ok": True, "id": req.id}

    def on_unsubscribe(self, payload: Any = None) -> dict[str, Any]:
        sid: str = request.sid  # type: ignore[attr-defined]
        sub_id = payload.get("id") if isinstance(payload, dict) else None
        if not isinstance(sub_id, str):
            return {"ok": False, "error": {"type": "bad_data",
                                           "message": "unsubscribe takes {id: string}"}}
        with self.lock:
            removed = self.registry.remove(sid, sub_id)
            if removed:
                SUBSCRIPTIONS.dec()
        return {"ok": True}

    # -- evaluation ---------------------------------------------------------------------------
    def touched(self, metrics: list[str], data_time_ms: int | None,
                committed_ms: int) -> None:
        """The feed: new data for ``metrics`` was committed at ``committed_ms``."""
        with self.lock:
            keys = self.registry.touched(metrics)
            for key in keys:
                data_time, committed = self.dirty.get(key, (None, 0))
                self.dirty[key] = (max(filter(None, (data_time, data_time_ms)), default=None),
                                   max(committed, committed_ms))
        if keys:
            self.wake.set()

    def evaluate(self, key: SubscriptionKey, data_time_ms: int | None,
                 covers_ms: int | None) -> dict[str, Any]:
        """The ``result`` body of ``key`` now (without id and server_time). With
        ``covers_ms`` (the newest commit time of the batches that touched it), the
        evaluation may be another instance's that covers them (shared.py)."""
        start_ms, end_ms = window(key, now_ms())

        def run() -> dict[str, Any]:
            started = time.perf_counter()
            body = self.runner.range(RangeQuery(key.query, start_ms, end_ms, key.step_ms),
                                     PROMETHEUS, fresh=True)
            EVALUATION.observe(time.perf_counter() - started)
            data = orjson.loads(body)["data"]
            return {"resultType": data["resultType"], "result": data["result"]}

        data = run() if covers_ms is None else self.shared.get(key, start_ms, end_ms,
                                                                covers_ms, run)
        return {"query": key.query, "start": start_ms / 1000, "end": end_ms / 1000,
                "step": key.step_ms / 1000, "resultType": data["resultType"],
                "result": data["result"], "data_time": data_time_ms}

    def _answer(self, key: SubscriptionKey, data_time_ms: int | None, covers_ms: int | None,
                watchers: list[tuple[str, str]]) -> None:
        try:
            result = self.evaluate(key, data_time_ms, covers_ms)
        except (PromQLError, LookoutError) as exc:
            kind = getattr(exc, "error_type", None) or getattr(exc, "type", "execution")
            for sid, sub_id in watchers:
                self.emit("subscription_error",
                          {"id": sub_id, "error": {"type": kind, "message": str(exc)}}, to=sid)
            return
        except Exception as exc:  # the watchers hear of it; the loop goes on
            log.exception("live evaluation failed", extra={"query": key.query})
            for sid, sub_id in watchers:
                self.emit("subscription_error", {"id": sub_id, "error": {
                    "type": "internal", "message": f"evaluation failed: {exc!r}"}}, to=sid)
            return
        for sid, sub_id in watchers:
            self.emit("result", {"id": sub_id, **result}, to=sid)

    def _answer_one(self, sid: str, sub_id: str, key: SubscriptionKey) -> None:
        self._answer(key, None, None, [(sid, sub_id)])

    def _evaluator(self) -> None:
        while True:
            try:
                self._evaluate_due()
            except Exception:  # never let the task die: no subscription would update
                log.exception("live evaluator failed; continuing")
                self.socketio.sleep(1.0)

    def _evaluate_due(self) -> None:
        debounce = self.settings.query_live_debounce_s
        while True:
            self.wake.wait(timeout=1.0)
            self.wake.clear()
            now = time.monotonic()
            due: list[tuple[SubscriptionKey, tuple[int | None, int],
                            list[tuple[str, str]]]] = []
            next_due = None
            with self.lock:
                for key, touch in list(self.dirty.items()):
                    at = self.last_run.get(key, 0.0) + debounce
                    if at <= now:
                        del self.dirty[key]
                        self.last_run[key] = now
                        watchers = self.registry.watchers(key)
                        if watchers:
                            due.append((key, touch, watchers))
                    else:
                        next_due = at if next_due is None else min(next_due, at)
                # Forget run times of keys nobody watches any more.
                for key in [k for k in self.last_run if k not in self.registry.entries]:
                    del self.last_run[key]
            for key, (data_time, committed), watchers in due:
                self._answer(key, data_time, committed, watchers)
            if next_due is not None:
                self.socketio.sleep(max(0.0, next_due - time.monotonic()))
                self.wake.set()

    def _heartbeat(self) -> None:
        while True:
            self.socketio.sleep(self.settings.query_live_heartbeat_s)
            try:
                self.emit("heartbeat", {}, to=self.room)
            except Exception:  # the message queue may be down for a moment
                log.warning("heartbeat not sent", exc_info=True)
