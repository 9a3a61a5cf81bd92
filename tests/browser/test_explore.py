"""Explore: an ad-hoc query runs through nginx and the query service and its series are
drawn and listed; a bad query shows the API's own error."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from ..stack import wait_until
from .conftest import BrowserStack


def settle(page: Page) -> None:
    """Let the frame the completion moves the cursor in pass (before the next edit)."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")

# The demo producer's five services (other tests may add latency_ms series of their own).
DEMO = 'latency_ms{service=~"api|auth|cache|database|queue"}'


def test_explore_runs_a_range_and_an_instant_query(admin_page: Page, lookout: BrowserStack,
                                                    screenshot) -> None:
    page = admin_page
    # The demo producer pushes latency_ms for five services every 2 s.
    wait_until(lambda: len(lookout.promql(DEMO)) == 5, 60, "the demo's latency_ms")
    page.goto("/explore")
    expect(page.get_by_test_id("explore-empty")).to_be_visible()

    box = page.get_by_test_id("explore-query")
    suggestions = page.get_by_test_id("autocomplete")  # the shared PromQL input's list
    box.press_sequentially("latency_m")
    # Completion offers the metric name the server knows; Tab takes it.
    expect(suggestions).to_contain_text("latency_ms")
    first = page.get_by_test_id("autocomplete-item").first  # what Tab takes
    expect(first).to_contain_text("latency_ms")
    box.press("Tab")
    settle(page)
    expect(box).to_have_value("latency_ms")
    # Inside braces: the metric's label names, then that label's values, from the server.
    box.press_sequentially("{serv")
    expect(suggestions).to_contain_text("service")
    expect(first).to_contain_text("service")
    box.press("Tab")
    settle(page)
    expect(box).to_have_value("latency_ms{service")
    box.press_sequentially('="')
    for service in ("api", "auth", "cache", "database", "queue"):
        expect(suggestions).to_contain_text(service)
    box.press_sequentially("da")
    expect(first).to_contain_text("database")  # the list for "da", not an earlier one
    box.press("Tab")
    settle(page)
    expect(box).to_have_value('latency_ms{service="database')
    expect(page.get_by_test_id("explore-empty")).to_be_visible()  # typing runs nothing
    box.fill('latency_ms{service=~"api|database"}')
    page.get_by_test_id("explore-run").click()

    chart = page.get_by_test_id("explore-chart")
    expect(chart).to_have_attribute("data-series-count", "2")
    expect(chart.get_by_role("application")).to_be_visible()  # the chart surface
    expect(chart.locator(".recharts-line")).to_have_count(2)
    rows = page.get_by_test_id("explore-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text('latency_ms{service="api"}')
    expect(rows.nth(1)).to_contain_text('latency_ms{service="database"}')
    expect(page.get_by_test_id("explore-summary")).to_contain_text("2 series · matrix")
    screenshot(page, "explore")

    page.get_by_test_id("explore-mode-instant").click()
    box.fill(f"sum by (service) ({DEMO})")
    box.press("Control+Enter")
    expect(page.get_by_test_id("explore-summary")).to_contain_text("5 series · vector")
    expect(page.get_by_test_id("explore-row")).to_have_count(5)


def test_explore_shows_the_query_error_and_no_data(admin_page: Page) -> None:
    page = admin_page
    page.goto("/explore")
    box = page.get_by_test_id("explore-query")
    box.fill("sum(rate(latency_ms[5m])")
    page.get_by_test_id("explore-run").click()
    error = page.get_by_test_id("explore-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("HTTP 400")
    expect(page.get_by_test_id("explore-chart")).to_have_count(0)

    box.fill('latency_ms{service="no-such-service"}')
    page.get_by_test_id("explore-run").click()
    expect(page.get_by_test_id("explore-no-data")).to_be_visible()
    expect(page.get_by_test_id("explore-error")).to_have_count(0)
