"""Helper process of ``make bench-live``: many Socket.IO clients as gevent greenlets.

    python -m benchmarks.live_clients URL COUNT SECONDS

Connects COUNT clients (WebSocket transport) to URL, holds them SECONDS, and prints one
JSON line: how many connected and, for every ``metric`` message holding a
``bench_probe`` point, the delay from its ``server_time`` to its arrival (seconds).
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
import socketio  # noqa: E402


def clients_worker(url: str, count: int, seconds: float) -> None:
    """Helper process: ``count`` clients as greenlets; prints one JSON line of results."""
    delays: list[float] = []
    connected = [0]

    def one() -> None:
        client = socketio.Client(reconnection=False)

        @client.on("metric")
        def on_metric(data: dict[str, Any]) -> None:
            if any(p["name"] == "bench_probe" for p in data["points"]):
                delays.append(time.time() - data["server_time"] / 1000)

        try:
            client.connect(url, transports=["websocket"], wait_timeout=30)
        except Exception:
            return
        connected[0] += 1
        gevent.sleep(seconds)
        client.disconnect()

    greenlets = []
    for _ in range(count):
        greenlets.append(gevent.spawn(one))
        gevent.sleep(0.005)
    gevent.joinall(greenlets, timeout=seconds + 120)
    print(json.dumps({"connected": connected[0], "delays": delays}), flush=True)


if __name__ == "__main__":
    clients_worker(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
