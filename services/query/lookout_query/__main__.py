"""``python -m lookout_query``: validate settings, then serve the app under gunicorn."""

from __future__ import annotations

import logging

from lookout_common.log_config import configure_logging
from lookout_common.serving import serve_flask
from lookout_common.settings import load_settings

from .settings import QuerySettings


def main() -> None:
    settings = load_settings(QuerySettings)
    configure_logging(settings, "query")
    bind = f"{settings.query_host}:{settings.query_port}"
    if settings.query_workers > 1:
        logging.getLogger(__name__).warning(
            "QUERY_WORKERS=%d: Socket.IO's long-polling fallback needs one worker per "
            "instance (a polling session must reach the process that opened it); "
            "WebSocket clients are unaffected. Prefer QUERY_WORKERS=1 and more instances.",
            settings.query_workers)
    if settings.query_async_mode == "gevent":
        worker = {"worker_class": "gevent",
                  "worker_connections": settings.query_worker_connections}
    else:
        worker = {"worker_class": "gthread"}
    serve_flask(settings, "query", "lookout_query.app:create_served_app", bind=bind,
                workers=settings.query_workers, threads=settings.query_threads, **worker)


if __name__ == "__main__":
    main()
