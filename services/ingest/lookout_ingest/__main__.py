"""``python -m lookout_ingest``: validate settings, then serve the app under gunicorn."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from gunicorn.app.base import BaseApplication

from lookout_common.log_config import configure_logging
from lookout_common.settings import load_settings

from .settings import IngestSettings


class IngestServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: IngestSettings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        options: dict[str, Any] = {
            "bind": f"{s.ingest_host}:{s.ingest_port}",
            "workers": s.ingest_workers,
            "threads": s.ingest_threads,
            "worker_class": "gthread",
            "timeout": 60,
            "graceful_timeout": 20,
            "keepalive": 30,
            "accesslog": None,
            "child_exit": _child_exit,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from .app import create_app

        configure_logging(self.settings, "ingest")
        return create_app(self.settings)


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def main() -> None:
    settings = load_settings(IngestSettings)
    configure_logging(settings, "ingest")
    # gunicorn runs several processes: prometheus_client aggregates them through files.
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="lookout-ingest-prom-")
    IngestServer(settings).run()


if __name__ == "__main__":
    main()
