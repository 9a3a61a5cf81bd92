"""``python -m lookout_alerts``: validate settings, then serve health under gunicorn."""

from __future__ import annotations

from flask import Flask

from lookout_common.log_config import configure_logging
from lookout_common.serving import serve
from lookout_common.settings import load_settings

from .settings import AlertsSettings


def main() -> None:
    settings = load_settings(AlertsSettings)
    configure_logging(settings, "alerts")

    def factory() -> Flask:
        from .app import create_app

        return create_app(settings)

    serve(factory, bind=f"{settings.alerts_host}:{settings.alerts_port}", workers=1, threads=2,
          name="alerts")


if __name__ == "__main__":
    main()
