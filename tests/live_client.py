"""A Socket.IO client of Lookout's live push, as the contract asks a client to behave:
it keeps its subscriptions and re-sends every ``subscribe`` after a reconnect (the
server keeps none across connections). Every event received is recorded with the
local time it arrived."""

from __future__ import annotations

import threading
import time
from typing import Any

import socketio

from .stack import wait_until

EVENTS = ("initial", "metric", "alert", "heartbeat", "result", "subscription_error")


class LiveClient:
    def __init__(self, url: str, *, socketio_path: str = "socket.io",
                 auth: dict[str, str] | None = None, reconnect_delay_s: float = 0.2) -> None:
        self.url = url
        self.path = socketio_path
        self.auth = auth
        self.sio = socketio.Client(reconnection=True, reconnection_delay=reconnect_delay_s,
                                   reconnection_delay_max=1, randomization_factor=0)
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.events: list[tuple[str, dict[str, Any], float]] = []
        self.connects = 0
        self.lock = threading.Lock()
        self.sio.on("connect", self._on_connect)
        for name in EVENTS:
            self.sio.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Any:
        def record(data: dict[str, Any]) -> None:
            with self.lock:
                self.events.append((name, data, time.time()))
        return record

    def _on_connect(self) -> None:
        self.connects += 1
        if self.connects > 1:  # a reconnect: subscribe again (in the background; an
            # ack cannot be awaited inside the client's event handler)
            threading.Thread(target=self._resubscribe, daemon=True).start()

    def _resubscribe(self) -> None:
        for payload in list(self.subscriptions.values()):
            self.sio.call("subscribe", payload, timeout=10)

    def connect(self, transports: list[str] | None = None) -> LiveClient:
        self.sio.connect(self.url, socketio_path=self.path, auth=self.auth,
                         transports=transports or ["websocket"], wait_timeout=10)
        return self

    def transport(self) -> str:
        return self.sio.transport()  # type: ignore[no-any-return]

    def subscribe(self, sub_id: str, query: str, range_s: float, step_s: float) -> Any:
        payload = {"id": sub_id, "query": query, "range": range_s, "step": step_s}
        ack = self.sio.call("subscribe", payload, timeout=10)
        if ack.get("ok"):
            self.subscriptions[sub_id] = payload
        return ack

    def unsubscribe(self, sub_id: str) -> Any:
        self.subscriptions.pop(sub_id, None)
        return self.sio.call("unsubscribe", {"id": sub_id}, timeout=10)

    def received(self, name: str, since: float = 0.0) -> list[dict[str, Any]]:
        with self.lock:
            return [data for event, data, at in self.events if event == name and at >= since]

    def wait_for(self, name: str, predicate: Any = lambda _data: True, timeout: float = 30,
                 since: float = 0.0) -> dict[str, Any]:
        found: list[dict[str, Any]] = []

        def check() -> bool:
            found[:] = [d for d in self.received(name, since) if predicate(d)]
            return bool(found)

        wait_until(check, timeout, f"a {name!r} event matching the test's condition")
        return found[0]

    def close(self) -> None:
        self.sio.disconnect()


def result_values(result: dict[str, Any]) -> list[float]:
    """Every value of a ``result`` event, all series, as floats."""
    return [float(v) for series in result["result"] for _, v in series["values"]]
