"""``python -m lookout_worker``: migrate, then consume until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from flask import Flask
from werkzeug.serving import make_server

from lookout_common import __version__
from lookout_common.broker import check_broker
from lookout_common.db.connection import check_database
from lookout_common.db.schema import migrate
from lookout_common.log_config import configure_logging
from lookout_common.settings import load_settings
from lookout_common.web import health_blueprint, metrics_blueprint

from .consumer import BatchConsumer
from .maintenance import Maintenance, MaintenanceThread
from .queue_probe import QueueDepthProbe
from .settings import WorkerSettings
from .store import SampleStore

log = logging.getLogger("lookout_worker")


def status_app(settings: WorkerSettings) -> Flask:
    app = Flask("lookout_worker")
    app.register_blueprint(health_blueprint(
        {"database": lambda: check_database(settings), "broker": lambda: check_broker(settings)},
        __version__,
    ))
    app.register_blueprint(metrics_blueprint())
    return app


def main() -> None:
    settings = load_settings(WorkerSettings)
    configure_logging(settings, "worker")
    mode = migrate(settings)
    log.info("starting", extra={"storage_mode": mode.value,
                                "batch_samples": settings.worker_batch_samples,
                                "batch_ms": settings.worker_batch_ms})
    consumer = BatchConsumer(settings, SampleStore(settings, mode))

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping: writing what was received", extra={"signal": signum})
        consumer.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    server = make_server(settings.worker_host, settings.worker_port, status_app(settings),
                         threaded=True)
    threading.Thread(target=server.serve_forever, name="status", daemon=True).start()
    maintenance = MaintenanceThread(Maintenance(settings, mode))
    maintenance.start()
    probe = QueueDepthProbe(settings)
    probe.start()
    try:
        consumer.run()
    finally:
        maintenance.stop()
        probe.stop()
        server.shutdown()
        consumer.store.close()
        log.info("stopped")


if __name__ == "__main__":
    main()
