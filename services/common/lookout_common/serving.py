"""Running a Flask app under gunicorn from a service's own entry point.

``python -m lookout_<service>`` validates its settings first, then hands gunicorn the
import path of its app factory; gunicorn's workers each import and build the app after
the fork, so no connection is ever shared between processes — and prometheus_client is
first imported once ``PROMETHEUS_MULTIPROC_DIR`` is set, which is when it decides to
keep its values in files that ``/metrics`` aggregates across the workers. (Imported
earlier, every worker would count in its own memory and ``/metrics`` would be empty.)
"""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from .log_config import configure_logging
from .settings import BaseServiceSettings


class GunicornService(BaseApplication):  # type: ignore[misc]
    def __init__(self, factory: Callable[[], Any], options: dict[str, Any]) -> None:
        self.factory = factory
        self.options = {
            "worker_class": "gthread",
            "timeout": 60,
            "graceful_timeout": 20,
            "keepalive": 30,
            "accesslog": None,
            "child_exit": _child_exit,
            **options,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.factory()


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def import_factory(path: str) -> Callable[[Any], Any]:
    """``"package.module:function"`` → the function."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)  # type: ignore[no-any-return]


def serve_flask(settings: BaseServiceSettings, name: str, create_app: str, *, bind: str,
                workers: int, threads: int, **options: Any) -> None:
    """Serve ``create_app(settings)`` (given as ``"module:function"``) under gunicorn; each
    worker process imports it and builds its own app (and logging) after the fork.
    ``options``: more gunicorn settings (``worker_class="gevent"``...)."""

    def factory() -> Any:
        configure_logging(settings, name)
        return import_factory(create_app)(settings)

    serve(factory, bind=bind, workers=workers, threads=threads, name=name, **options)


def serve(factory: Callable[[], Any], *, bind: str, workers: int, threads: int,
          name: str, **options: Any) -> None:
    # Several processes: prometheus_client aggregates their metrics through files.
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=f"lookout-{name}-prom-")
    GunicornService(factory, {"bind": bind, "workers": workers, "threads": threads,
                              "proc_name": f"lookout-{name}", **options}).run()
