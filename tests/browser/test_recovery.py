"""The pages get over a server restart by themselves: the alerts page says the alerts
service does not answer while it is down, and shows the rules again once it is back,
without a reload."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .conftest import BrowserStack


def test_the_alerts_page_recovers_after_the_alerts_service_restarts(
        admin_page: Page, lookout: BrowserStack) -> None:
    page = admin_page
    r = lookout.api().post(lookout.url("/api/v1/alerts"), timeout=10, json={
        "name": "SurvivesRestart", "query": "up", "condition": "lt", "threshold": 0})
    assert r.status_code == 201, r.text
    page.goto("/alerts")
    row = page.locator('[data-testid="rule-row"][data-rule-name="SurvivesRestart"]')
    expect(row).to_be_visible()

    alerts = lookout.process("lookout_alerts")
    alerts.stop()
    try:
        error = page.get_by_test_id("rules-error")
        expect(error).to_contain_text("does not answer (HTTP 502)", timeout=15_000)
        expect(row).to_be_visible()  # what was shown stays while the service is away
    finally:
        alerts.start()
    expect(error).to_have_count(0, timeout=15_000)
    expect(row).to_be_visible()
    lookout.api().delete(lookout.url(f"/api/v1/alerts/{r.json()['id']}"), timeout=10)
