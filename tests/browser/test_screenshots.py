"""Every main page with data in it, photographed: into docs/screenshots/ with
`make screenshots` (LOOKOUT_SCREENSHOTS=1), else into the test's temporary directory.
Each page is checked to show its data before the picture is taken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from ..stack import wait_until
from .conftest import BrowserStack, sign_in


@pytest.fixture(scope="module")
def history(lookout: BrowserStack) -> None:
    """An hour of demo data and a few alert rules in each state."""
    lookout.backfill_demo(minutes=60)
    wait_until(lambda: len(lookout.promql('latency_ms{service="api"}[50m]')) == 1
               and len(lookout.promql('latency_ms{service="api"}[50m]')[0]["values"]) > 150, 60,
               "the backfill stored")
    api = lookout.api()
    rules = [
        {"name": "ApiLatencyHigh", "group": "services", "query": 'latency_ms{service="api"}',
         "condition": "gt", "threshold": 50, "for": "5s", "severity": "critical",
         "annotations": {"summary": "{{ $labels.service }} latency is {{ $value }} ms"}},
        {"name": "CpuBusy", "group": "services", "query": "cpu_percent",
         "condition": "gt", "threshold": 1, "for": "1h", "severity": "warning",
         "annotations": {"summary": "{{ $labels.service }} CPU is busy"}},
        {"name": "ErrorRateHigh", "group": "services", "query": "error_rate_percent",
         "condition": "gt", "threshold": 20, "for": "2m", "severity": "warning",
         "notification_targets": [{"type": "email", "address": "ops@example.com"}]},
    ]
    existing = {r["name"] for r in api.get(lookout.url("/api/v1/alerts"), timeout=10)
                .json()["alerts"]}
    for rule in rules:
        if rule["name"] not in existing:
            r = api.post(lookout.url("/api/v1/alerts"), json=rule, timeout=10)
            assert r.status_code == 201, r.text
    r = api.post(lookout.url("/api/v1/silences"), timeout=10, json={
        "matchers": [{"name": "service", "value": "cache"}],
        "endsAt": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
        "comment": "cache node maintenance"})
    assert r.status_code == 201, r.text

    def firing() -> bool:
        alerts = api.get(lookout.url("/prometheus/api/v1/alerts"), timeout=10).json()
        return any(a["state"] == "firing" for a in alerts["data"]["alerts"])

    wait_until(firing, 60, "ApiLatencyHigh firing")


def test_screenshot_dashboards(admin_page: Page, lookout: BrowserStack, history: None,
                               screenshot) -> None:
    page = admin_page
    page.goto("/dashboards")
    rows = page.get_by_test_id("dashboard-row")
    expect(rows.filter(has_text="Services overview")).to_have_count(1)
    screenshot(page, "dashboards")

    rows.filter(has_text="Services overview").get_by_test_id("dashboard-link").click()
    expect(page.get_by_test_id("dashboard-title")).to_have_text("Services overview")
    charts = page.get_by_test_id("timeseries-chart")
    expect(charts.first).to_be_visible()
    wait_until(lambda: int(charts.first.get_attribute("data-points") or 0) > 100, 30,
               "an hour of points drawn")
    expect(page.locator('[data-testid="alert-row"][data-alertname="ApiLatencyHigh"]')
           ).to_have_attribute("data-state", "firing", timeout=30_000)
    expect(page.get_by_test_id("stat-value").first).to_be_visible()
    expect(page.get_by_test_id("loading")).to_have_count(0, timeout=20_000)
    page.mouse.move(0, 0)
    page.set_viewport_size({"width": 1440, "height": 2000})  # the whole dashboard
    expect(page.locator('[data-testid="alert-row"][data-alertname="ApiLatencyHigh"]')
           ).to_be_in_viewport()
    expect(page.get_by_test_id("loading")).to_have_count(0, timeout=20_000)
    screenshot(page, "dashboard-services-overview")
    page.set_viewport_size({"width": 1440, "height": 900})

    page.get_by_test_id("edit-dashboard").click()
    panel = page.get_by_test_id("panel").filter(
        has=page.get_by_test_id("panel-title").filter(has_text="Latency by service"))
    panel.get_by_test_id("panel-menu").click()
    panel.get_by_test_id("panel-edit").click()
    editor = page.get_by_test_id("panel-editor")
    expect(editor).to_be_visible()
    expect(editor.get_by_test_id("timeseries-chart")).to_be_visible()
    page.mouse.move(0, 0)
    screenshot(page, "panel-editor")
    page.get_by_test_id("panel-cancel").click()
    page.get_by_test_id("discard").click()


def test_screenshot_explore(admin_page: Page, history: None, screenshot) -> None:
    page = admin_page
    page.goto("/explore")
    page.get_by_test_id("explore-query").fill('latency_ms{service=~"api|auth|database"}')
    page.get_by_test_id("explore-run").click()
    expect(page.get_by_test_id("explore-chart")).to_have_attribute("data-series-count", "3")
    points = int(page.get_by_test_id("explore-chart").get_attribute("data-points") or 0)
    assert points > 200  # an hour at the 15 s step
    screenshot(page, "explore")


def test_screenshot_alerts(admin_page: Page, history: None, screenshot) -> None:
    page = admin_page
    page.goto("/alerts")
    expect(page.locator('[data-testid="rule-row"][data-rule-name="ApiLatencyHigh"]')
           ).to_have_attribute("data-state", "firing")
    expect(page.locator('[data-testid="rule-row"][data-rule-name="CpuBusy"]')
           ).to_have_attribute("data-state", "pending")
    expect(page.get_by_test_id("alerts-summary")).to_contain_text("1 firing")
    screenshot(page, "alerts")
    page.get_by_test_id("tab-active").click()
    expect(page.get_by_test_id("active-alert").first).to_be_visible()
    screenshot(page, "alerts-firing")
    page.get_by_test_id("tab-silences").click()
    expect(page.get_by_test_id("silence-row").first).to_contain_text("cache node maintenance")
    screenshot(page, "alerts-silences")
    page.get_by_test_id("tab-rules").click()
    page.locator('[data-testid="rule-row"][data-rule-name="ApiLatencyHigh"]'
                 ).get_by_test_id("rule-edit").click()
    expect(page.get_by_test_id("rule-preview-chart")).to_be_visible()
    expect(page.get_by_test_id("rule-preview-active")).to_contain_text("1 series would be active")
    page.mouse.move(0, 0)  # no tooltip in the picture
    screenshot(page, "alert-rule-editor")


def test_screenshot_admin(page: Page, lookout: BrowserStack, history: None,
                          screenshot) -> None:
    for role in ("editor", "viewer"):
        lookout.create_user(role)
    lookout.analyze()
    sign_in(page, lookout, lookout.admin)
    page.goto("/admin")
    expect(page.get_by_test_id("admin-health-status")).to_have_text("ok")
    expect(page.get_by_test_id("admin-stats")).to_contain_text("≈")
    screenshot(page, "admin")
    page.get_by_test_id("tab-users").click()
    expect(page.get_by_test_id("user-row")).not_to_have_count(0)
    screenshot(page, "admin-users")


def test_screenshot_login(page: Page, lookout: BrowserStack, screenshot) -> None:
    page.goto("/login")
    page.get_by_test_id("login-username").fill(lookout.admin.username)
    expect(page.get_by_test_id("login-submit")).to_be_enabled()
    screenshot(page, "login")
