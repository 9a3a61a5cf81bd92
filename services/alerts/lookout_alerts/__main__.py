"""``python -m lookout_alerts``: validate settings, then serve the app under gunicorn."""

from __future__ import annotations

from lookout_common.log_config import configure_logging
from lookout_common.serving import serve_flask
from lookout_common.settings import load_settings

from .settings import AlertsSettings


def main() -> None:
    settings = load_settings(AlertsSettings)
    configure_logging(settings, "alerts")
    bind = f"{settings.alerts_host}:{settings.alerts_port}"
    serve_flask(settings, "alerts", "lookout_alerts.app:create_app", bind=bind,
                workers=1, threads=2)


if __name__ == "__main__":
    main()
