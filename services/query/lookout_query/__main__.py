"""``python -m lookout_query``: validate settings, then serve under gunicorn."""

from __future__ import annotations

from flask import Flask

from lookout_common.log_config import configure_logging
from lookout_common.serving import serve
from lookout_common.settings import load_settings

from .settings import QuerySettings


def main() -> None:
    settings = load_settings(QuerySettings)
    configure_logging(settings, "query")

    def factory() -> Flask:
        from .app import create_app

        configure_logging(settings, "query")
        return create_app(settings)

    serve(factory, bind=f"{settings.query_host}:{settings.query_port}",
          workers=settings.query_workers, threads=settings.query_threads, name="query")


if __name__ == "__main__":
    main()
