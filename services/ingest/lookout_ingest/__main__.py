"""``python -m lookout_ingest``: validate settings, then serve the app under gunicorn."""

from __future__ import annotations

from lookout_common.log_config import configure_logging
from lookout_common.serving import serve_flask
from lookout_common.settings import load_settings

from .settings import IngestSettings


def main() -> None:
    settings = load_settings(IngestSettings)
    configure_logging(settings, "ingest")
    bind = f"{settings.ingest_host}:{settings.ingest_port}"
    serve_flask(settings, "ingest", "lookout_ingest.app:create_app", bind=bind,
                workers=settings.ingest_workers, threads=settings.ingest_threads)


if __name__ == "__main__":
    main()
