"""``python -m lookout_ingest``: validate settings, then serve the app under gunicorn."""

from __future__ import annotations

from flask import Flask

from lookout_common.log_config import configure_logging
from lookout_common.serving import serve
from lookout_common.settings import load_settings

from .settings import IngestSettings


def main() -> None:
    settings = load_settings(IngestSettings)
    configure_logging(settings, "ingest")

    def factory() -> Flask:
        from .app import create_app

        configure_logging(settings, "ingest")
        return create_app(settings)

    serve(factory, bind=f"{settings.ingest_host}:{settings.ingest_port}",
          workers=settings.ingest_workers, threads=settings.ingest_threads, name="ingest")


if __name__ == "__main__":
    main()
