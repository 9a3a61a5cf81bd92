"""Part of `make run`: wait until the front door answers, then say where to look."""

from __future__ import annotations

import os
import signal
import sys
import time

import requests

port = os.environ.get("HTTP_PORT", "8080")
base = f"http://127.0.0.1:{port}"
deadline = time.monotonic() + 180
pending = {"/health/ingest", "/health/query"}
while pending and time.monotonic() < deadline:
    for path in list(pending):
        try:
            if requests.get(base + path, timeout=2).status_code == 200:
                pending.discard(path)
        except requests.RequestException:
            pass
    time.sleep(1)
if pending:
    print(f"Lookout did not come up: {', '.join(sorted(pending))} not ready at {base}",
          file=sys.stderr)
    sys.exit(1)
mgmt = os.environ.get("RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:15672")
print(f"""
  Lookout is running:      {base}
  Ingest JSON metrics:     curl -X POST {base}/api/v1/metrics -d '[{{"name":"demo","value":1}}]'
  Metric catalogue:        {base}/api/v1/metrics
  RabbitMQ (DLQ):          {mgmt}  (guest/guest, queue metrics.dlq)
  Press Ctrl-C to stop everything.
""", flush=True)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
try:
    signal.pause()
except KeyboardInterrupt:
    pass
