"""``python -m lookout_ingest.statsd``: validate settings, listen for StatsD over UDP
until SIGTERM or SIGINT, then flush what was received and exit."""

from __future__ import annotations

import signal
from types import FrameType

from lookout_common.log_config import configure_logging
from lookout_common.settings import load_settings

from .server import StatsdServer
from .settings import StatsdSettings


def main() -> None:
    settings = load_settings(StatsdSettings)
    configure_logging(settings, "statsd")
    server = StatsdServer(settings)
    server.bind()
    if settings.statsd_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.statsd_metrics_port, addr=settings.statsd_host)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        server.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever()


if __name__ == "__main__":
    main()
