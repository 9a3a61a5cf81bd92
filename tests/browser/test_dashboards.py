"""Dashboards in the browser, through nginx: log in, create a dashboard, add a panel with a
query, drag it, save, reload and find it where it was left; a save over someone else's
is explained with the changes kept; the provisioned dashboards draw their widgets."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from ..stack import wait_until
from .conftest import BrowserStack, sign_in


@pytest.fixture(scope="module")
def demo_history(lookout: BrowserStack) -> None:
    """An hour of the demo's services, so charts have something to draw."""
    lookout.backfill_demo(minutes=60)
    wait_until(lambda: len(lookout.promql('latency_ms{service="api"}[55m]')) == 1
               and len(lookout.promql('latency_ms{service="api"}[55m]')[0]["values"]) > 150,
               60, "the backfill stored")


def _grid_item(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_test_id("grid-item").first


def test_create_dashboard_add_panel_drag_save_and_reload(page: Page, lookout: BrowserStack,
                                                          demo_history: None,
                                                          screenshot) -> None:
    editor = lookout.create_user("editor")
    page.goto("/login")
    page.get_by_test_id("login-username").fill(editor.username)
    page.get_by_test_id("login-password").fill(editor.password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/dashboards$"))

    # Create a dashboard.
    page.get_by_test_id("new-dashboard").click()
    page.get_by_test_id("new-dashboard-name").fill("Browser test board")
    page.get_by_test_id("create-dashboard").click()
    expect(page).to_have_url(re.compile(r"/dashboards/\d+"))
    dashboard_id = int(page.url.rsplit("/", 1)[1].split("?")[0])
    expect(page.get_by_test_id("dashboard-title")).to_have_text("Browser test board")

    # Add a panel with a query; the metric name is completed from the server's names.
    page.get_by_test_id("add-first-panel").click()
    expect(page.get_by_test_id("panel-editor")).to_be_visible()
    page.get_by_test_id("panel-title-input").fill("API latency")
    query = page.get_by_test_id("promql-input")
    query.click()
    query.press_sequentially("latency_")
    expect(page.get_by_test_id("autocomplete-item").filter(has_text="latency_ms")).to_be_visible()
    page.get_by_test_id("autocomplete-item").filter(has_text="latency_ms").first.click()
    expect(query).to_have_value("latency_ms")
    query.press_sequentially('{service="')
    expect(page.get_by_test_id("autocomplete-item").filter(has_text="api")).to_be_visible()
    query.press_sequentially('api"}')
    page.get_by_test_id("panel-run").click()
    preview = page.get_by_test_id("panel-preview").get_by_test_id("timeseries-chart")
    expect(preview).to_have_attribute("data-series", "1")
    screenshot(page, "check-panel-editor")
    page.get_by_test_id("panel-apply").click()

    item = _grid_item(page)
    expect(item).to_have_attribute("data-x", "0")
    expect(item.get_by_test_id("panel-title")).to_have_text("API latency")
    expect(item.get_by_test_id("timeseries-chart")).to_have_attribute("data-series", "1")

    # Drag it by its header half-way across the 24-column grid.
    grid = page.get_by_test_id("dashboard-grid").bounding_box()
    header = item.get_by_test_id("panel-header").bounding_box()
    assert grid is not None and header is not None
    column = grid["width"] / 24
    x0, y0 = header["x"] + 40, header["y"] + header["height"] / 2
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(x0 + i * 1.2 * column, y0 + i * 4)
    page.mouse.move(x0 + 12 * column, y0 + 40)
    page.mouse.up()
    expect(item).to_have_attribute("data-x", "12")
    x_after, y_after = item.get_attribute("data-x"), item.get_attribute("data-y")
    screenshot(page, "check-dashboard-edit")

    # Save; the server has the new position.
    page.get_by_test_id("save-dashboard").click()
    expect(page.get_by_test_id("unsaved")).to_have_count(0)
    saved = lookout.api(editor).get(lookout.url(f"/api/v1/dashboards/{dashboard_id}"),
                                    timeout=10).json()
    assert [(p["title"], p["query"], p["position"]["x"]) for p in saved["panels"]] == [
        ("API latency", 'latency_ms{service="api"}', 12)]

    # Reload: the panel is where it was left, drawing its series.
    page.reload()
    item = _grid_item(page)
    expect(item).to_have_attribute("data-x", x_after or "")
    expect(item).to_have_attribute("data-y", y_after or "")
    expect(item.get_by_test_id("panel-title")).to_have_text("API latency")
    expect(item.get_by_test_id("timeseries-chart")).to_have_attribute("data-series", "1")
    box = item.bounding_box()
    assert box is not None and box["x"] > grid["x"] + grid["width"] / 2 - column


def test_a_conflicting_save_is_explained_and_the_changes_kept(page: Page,
                                                               lookout: BrowserStack,
                                                               screenshot) -> None:
    editor = lookout.create_user("editor")
    api = lookout.api(editor)
    r = api.post(lookout.url("/api/v1/dashboards"), timeout=10, json={
        "name": "Conflict board", "panels": [
            {"title": "Signals", "type": "line", "query": "signal",
             "position": {"x": 0, "y": 0, "w": 12, "h": 8}}]})
    assert r.status_code == 201, r.text
    board = r.json()
    sign_in(page, lookout, editor)
    page.goto(f"/dashboards/{board['id']}")
    page.get_by_test_id("edit-dashboard").click()
    page.get_by_test_id("dashboard-name-input").fill("Conflict board (mine)")

    # Someone else saves in between.
    r = api.put(lookout.url(f"/api/v1/dashboards/{board['id']}"), timeout=10,
                json={"name": "Conflict board (theirs)", "version": board["version"]})
    assert r.status_code == 200, r.text

    page.get_by_test_id("save-dashboard").click()
    conflict = page.get_by_test_id("save-conflict")
    expect(conflict).to_contain_text("someone else saved this dashboard")
    expect(conflict).to_contain_text(f"the current version is {board['version'] + 1}")
    expect(page.get_by_test_id("dashboard-name-input")).to_have_value("Conflict board (mine)")
    expect(page.get_by_test_id("unsaved")).to_be_visible()
    screenshot(page, "check-save-conflict")

    page.get_by_test_id("conflict-overwrite").click()
    expect(page.get_by_test_id("save-conflict")).to_have_count(0)
    expect(page.get_by_test_id("unsaved")).to_have_count(0)
    now = api.get(lookout.url(f"/api/v1/dashboards/{board['id']}"), timeout=10).json()
    assert now["name"] == "Conflict board (mine)"
    assert now["version"] == board["version"] + 2
    assert [p["title"] for p in now["panels"]] == ["Signals"]


def test_live_mode_receives_points_over_a_websocket(page: Page, lookout: BrowserStack) -> None:
    viewer = lookout.create_user("viewer")
    r = lookout.api().post(lookout.url("/api/v1/dashboards"), timeout=10, json={
        "name": "Live board", "time_range": {"from": "now-5m", "to": "now"}, "panels": [
            {"title": "Live metric", "type": "line", "query": "browser_live_metric",
             "position": {"x": 0, "y": 0, "w": 24, "h": 8}}]})
    assert r.status_code == 201, r.text
    board_id = r.json()["id"]
    lookout.push([{"name": "browser_live_metric", "value": 1, "labels": {"run": "a"}}])
    wait_until(lambda: lookout.promql("browser_live_metric") != [], 30, "the first point stored")

    sockets: list[str] = []
    frames: list[str] = []

    def on_websocket(ws) -> None:  # type: ignore[no-untyped-def]
        sockets.append(ws.url)
        ws.on("framereceived", lambda payload: frames.append(
            payload if isinstance(payload, str) else payload.decode("utf-8", "replace")))

    page.on("websocket", on_websocket)
    sign_in(page, lookout, viewer)
    page.goto(f"/dashboards/{board_id}")
    chart = page.get_by_test_id("timeseries-chart")
    expect(chart).to_have_attribute("data-series", "1")

    page.get_by_test_id("live-toggle").click()
    indicator = page.get_by_test_id("connection-indicator")
    expect(indicator).to_have_attribute("data-status", "connected")
    expect(indicator).to_have_attribute("data-transport", "websocket")
    assert any("/socket.io/" in url and url.startswith("ws://") for url in sockets), sockets

    # A new series arrives over the socket as a subscription result and is drawn.
    lookout.push([{"name": "browser_live_metric", "value": 4242.5, "labels": {"run": "b"}}])
    expect(chart).to_have_attribute("data-series", "2", timeout=15_000)
    results = [f for f in frames if '"result"' in f and "4242.5" in f]
    assert results, frames[-5:]
    expect(page.get_by_test_id("connection-latency")).to_contain_text(re.compile(r"\d+ ms"))
    # Viewers watch live but do not edit.
    expect(page.get_by_test_id("edit-dashboard")).to_have_count(0)


def test_services_overview_draws_the_seeds_widgets(admin_page: Page, lookout: BrowserStack,
                                                   demo_history: None, screenshot) -> None:
    page = admin_page
    page.goto("/dashboards")
    page.get_by_test_id("dashboard-link").filter(has_text="Services overview").click()
    expect(page.get_by_test_id("dashboard-title")).to_have_text("Services overview")
    titles = page.get_by_test_id("panel-title")
    for title in ("Latency p50", "Latency p95", "Latency p99", "Throughput", "Error rate",
                  "Latency by service", "Throughput by service", "Error rate by service",
                  "Service health", "Alerts"):
        expect(titles.filter(has_text=re.compile(f"^{re.escape(title)}$"))).to_have_count(1)
    p95 = page.locator('[data-testid="panel"][aria-label="Latency p95"]')
    expect(p95.get_by_test_id("stat-value")).to_have_count(5)  # one card per service
    expect(page.get_by_test_id("heatmap-cell")).to_have_count(25)  # 5 services x 5 metrics
    expect(page.locator('[data-testid="panel"][aria-label="Latency by service"]')
           .get_by_test_id("timeseries-chart")).to_have_attribute("data-series", "5")
    page.wait_for_timeout(500)
    screenshot(page, "check-services-overview")

    # The service filter narrows every panel.
    page.get_by_test_id("variable-service").select_option("api")
    expect(page).to_have_url(re.compile(r"var-service=api"))
    expect(p95.get_by_test_id("stat-value")).to_have_count(1)
    expect(page.get_by_test_id("heatmap-cell")).to_have_count(5)

    page.goto("/dashboards")
    page.get_by_test_id("dashboard-link").filter(has_text="Signals").click()
    expect(page.get_by_test_id("dashboard-title")).to_have_text("Signals")
    expect(page.locator('[data-testid="panel"][aria-label="Sine and cosine"]')
           .get_by_test_id("timeseries-chart")).to_have_attribute("data-series", "2",
                                                                  timeout=20_000)
    screenshot(page, "check-signals")


def test_live_mode_reconnects_by_itself_after_the_query_service_restarts(
        page: Page, lookout: BrowserStack) -> None:
    r = lookout.api().post(lookout.url("/api/v1/dashboards"), timeout=10, json={
        "name": "Reconnect board", "time_range": {"from": "now-5m", "to": "now"}, "panels": [
            {"title": "Reconnect metric", "type": "line", "query": "browser_reconnect_metric",
             "position": {"x": 0, "y": 0, "w": 24, "h": 8}}]})
    assert r.status_code == 201, r.text
    lookout.push([{"name": "browser_reconnect_metric", "value": 1, "labels": {"run": "a"}}])
    wait_until(lambda: lookout.promql("browser_reconnect_metric") != [], 30, "the first point")
    sign_in(page, lookout, lookout.admin)
    page.goto(f"/dashboards/{r.json()['id']}")
    chart = page.get_by_test_id("timeseries-chart")
    expect(chart).to_have_attribute("data-series", "1")
    page.get_by_test_id("live-toggle").click()
    indicator = page.get_by_test_id("connection-indicator")
    expect(indicator).to_have_attribute("data-status", "connected")

    query = lookout.process("lookout_query")
    query.stop()
    expect(indicator).to_have_attribute("data-status", re.compile("reconnecting|connecting"))
    query.start()
    expect(indicator).to_have_attribute("data-status", "connected", timeout=30_000)

    # The subscription was sent again: a series pushed now arrives without a reload.
    lookout.push([{"name": "browser_reconnect_metric", "value": 2, "labels": {"run": "b"}}])
    expect(chart).to_have_attribute("data-series", "2", timeout=15_000)


GRAFANA_DASHBOARD = {
    "title": "From Grafana", "schemaVersion": 39, "time": {"from": "now-30m", "to": "now"},
    "panels": [
        {"type": "timeseries", "title": "Latency", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
         "targets": [{"expr": 'latency_ms{service="api"}', "legendFormat": "{{service}}"}]},
        {"type": "piechart", "title": "Pie", "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8},
         "targets": [{"expr": "cpu_percent"}]},
    ],
}


def test_import_a_grafana_dashboard_and_export_a_panels_data(
        page: Page, lookout: BrowserStack, demo_history: None, tmp_path) -> None:
    import json

    editor = lookout.create_user("editor")
    sign_in(page, lookout, editor)
    page.goto("/dashboards")
    page.get_by_test_id("import-dashboard").click()
    page.get_by_test_id("import-json").fill(json.dumps(GRAFANA_DASHBOARD))
    page.get_by_test_id("import-submit").click()
    report = page.get_by_test_id("import-report")
    expect(report).to_contain_text("1 panels converted")
    expect(report).to_contain_text("piechart")  # what was not converted is listed
    report.get_by_role("link", name="Open it").click()
    expect(page.get_by_test_id("dashboard-title")).to_have_text("From Grafana")
    panel = page.locator('[data-testid="panel"][aria-label="Latency"]')
    expect(panel.get_by_test_id("timeseries-chart")).to_have_attribute("data-series", "1")

    # CSV export of the panel's data: a time column and the series named by its legend.
    panel.get_by_test_id("panel-menu").click()
    with page.expect_download() as download:
        panel.get_by_test_id("panel-export-csv").click()
    path = tmp_path / "latency.csv"
    download.value.save_as(path)
    lines = path.read_text().strip().splitlines()
    assert lines[0] == "time,api"
    assert len(lines) > 50
    assert re.match(r"^\d{4}-\d\d-\d\dT[\d:.]+Z,\d+(\.\d+)?$", lines[1]), lines[1]

    # Drag across the chart: the dashboard zooms to that absolute range.
    box = panel.get_by_test_id("timeseries-chart").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 3
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, y, steps=8)
    page.mouse.move(box["x"] + box["width"] * 0.9, y, steps=8)
    page.mouse.up()
    expect(page).to_have_url(re.compile(r"from=\d{4}-\d\d-\d\dT.*to=\d{4}-\d\d-\d\dT"))
    expect(page.get_by_test_id("time-range")).to_contain_text(" to ")
    expect(panel.get_by_test_id("timeseries-chart")).to_have_attribute("data-series", "1")
