"""Forwarding to a real Alertmanager (Debian's prometheus-alertmanager): what the
evaluator POSTs to /api/v2/alerts is accepted, and Alertmanager holds the firing alert
until the time Lookout gave it."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from lookout_alerts.evaluator import Evaluator
from lookout_alerts.notify.grouping import AlertNotice
from lookout_alerts.settings import AlertsSettings
from lookout_alerts.testing import AlertmanagerProcess

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[AlertmanagerProcess]:
    if ALERTMANAGER is None:
        pytest.skip("prometheus-alertmanager is not installed (scripts/bootstrap.sh)")
    am = AlertmanagerProcess(ALERTMANAGER, tmp_path).start()
    yield am
    am.stop()


def notice(fp: str, status: str, service: str, now: float) -> AlertNotice:
    return AlertNotice(fp, 1, {"alertname": "HighLatency", "service": service,
                               "severity": "critical"}, {"summary": f"{service} is slow"},
                       status, now - 60, now - 1 if status == "resolved" else None,
                       "http://lookout/alerts/1", 7)


def test_forwarded_alerts_reach_alertmanager(alertmanager: AlertmanagerProcess,
                                             alerts_settings: AlertsSettings) -> None:
    evaluator = Evaluator(alerts_settings)
    try:
        now = time.time()
        assert evaluator.forward_to_alertmanager(
            alertmanager.url, [notice("a", "firing", "api", now),
                               notice("b", "resolved", "db", now)], now)
        [held] = alertmanager.alerts()  # the resolved one is not active
        assert held["labels"]["service"] == "api"
        assert held["status"]["state"] == "active"
        assert held["annotations"] == {"summary": "api is slow"}
        ends = datetime.fromisoformat(held["endsAt"].replace("Z", "+00:00")).timestamp()
        assert abs(ends - (now + 240)) < 2  # 4 x the 60 s resend period
        # A dead Alertmanager is reported, not raised.
        assert not evaluator.forward_to_alertmanager("http://127.0.0.1:1", [
            notice("a", "firing", "api", now)], now)
    finally:
        evaluator.delivery.close()
