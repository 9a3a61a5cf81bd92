"""On dashboards: a viewer gets no edit controls and a save the API refuses shows its
403; an alert rule that fires shows in the Services overview's alerts panel and is
marked on its time charts."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from ..stack import wait_until
from .conftest import BrowserStack, sign_in


def dashboard_id(lookout: BrowserStack, name: str) -> int:
    listed = lookout.api().get(lookout.url("/api/v1/dashboards"), timeout=10).json()
    [found] = [d["id"] for d in listed["dashboards"] if d["name"] == name]
    return int(found)


def test_a_viewer_cannot_edit_and_a_refused_save_shows_the_apis_403(
        page: Page, lookout: BrowserStack) -> None:
    editor = lookout.create_user("editor")
    viewer = lookout.create_user("viewer")
    created = lookout.api(editor).post(lookout.url("/api/v1/dashboards"), timeout=10, json={
        "name": f"Team board {uuid.uuid4().hex[:6]}",
        "panels": [{"title": "Latency", "type": "line", "query": "latency_ms",
                    "position": {"x": 0, "y": 0, "w": 12, "h": 8}}]})
    assert created.status_code == 201, created.text
    board = created.json()

    # A viewer: no way to create, edit, or change a panel.
    sign_in(page, lookout, viewer)
    page.goto("/dashboards")
    expect(page.get_by_test_id("dashboard-row").first).to_be_visible()
    expect(page.get_by_test_id("new-dashboard")).to_have_count(0)
    expect(page.get_by_test_id("import-dashboard")).to_have_count(0)
    page.goto(f"/dashboards/{board['id']}")
    expect(page.get_by_test_id("panel")).to_have_count(1)
    expect(page.get_by_test_id("read-only")).to_contain_text("viewers cannot edit dashboards")
    expect(page.get_by_test_id("edit-dashboard")).to_have_count(0)
    page.get_by_test_id("panel-menu").click()
    expect(page.get_by_test_id("panel-export-csv")).to_be_visible()
    for control in ("panel-edit", "panel-duplicate", "panel-delete"):
        expect(page.get_by_test_id(control)).to_have_count(0)
    page.keyboard.press("Escape")
    # Dragging a panel by its header moves nothing.
    item = page.get_by_test_id("grid-item").first
    before = (item.get_attribute("data-x"), item.get_attribute("data-y"))
    box = page.get_by_test_id("panel-header").first.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 40, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 500, box["y"] + 300, steps=10)
    page.mouse.up()
    assert (item.get_attribute("data-x"), item.get_attribute("data-y")) == before
    expect(page.get_by_test_id("unsaved")).to_have_count(0)
    # The provisioned dashboard is read-only for viewers too.
    page.goto(f"/dashboards/{dashboard_id(lookout, 'Services overview')}")
    expect(page.get_by_test_id("read-only")).to_be_visible()
    expect(page.get_by_test_id("edit-dashboard")).to_have_count(0)

    # The owner starts editing; an admin makes them a viewer meanwhile: the save is
    # refused by the query service and its 403 is shown, the change kept on screen.
    page.context.clear_cookies()
    sign_in(page, lookout, editor)
    page.goto(f"/dashboards/{board['id']}")
    page.get_by_test_id("edit-dashboard").click()
    page.get_by_test_id("dashboard-name-input").fill("Renamed by a viewer")
    users = lookout.api().get(lookout.url("/api/v1/users"), timeout=10).json()["users"]
    [uid] = [u["id"] for u in users if u["username"] == editor.username]
    assert lookout.api().patch(lookout.url(f"/api/v1/users/{uid}"), json={"role": "viewer"},
                               timeout=10).status_code == 200
    page.get_by_test_id("save-dashboard").click()
    refusal = f"this needs the editor role; {editor.username} is viewer"
    expect(page.get_by_test_id("error")).to_contain_text("Not saved")
    expect(page.get_by_test_id("error")).to_contain_text(refusal)
    expect(page.get_by_test_id("dashboard-name-input")).to_have_value("Renamed by a viewer")
    # The API says the same to a direct request, and nothing changed.
    direct = lookout.api(editor).put(lookout.url(f"/api/v1/dashboards/{board['id']}"),
                                     json={"name": "Direct", "version": board["version"]},
                                     timeout=10)
    assert direct.status_code == 403 and direct.json()["error"]["message"] == refusal
    stored = lookout.api().get(lookout.url(f"/api/v1/dashboards/{board['id']}"), timeout=10)
    assert stored.json()["name"] == board["name"]


def test_an_alert_that_fires_appears_on_the_dashboard(admin_page: Page,
                                                     lookout: BrowserStack) -> None:
    page = admin_page
    wait_until(lambda: lookout.promql('latency_ms{service="api"}'), 60, "the demo's latency_ms")
    name = f"DashboardAlert_{uuid.uuid4().hex[:6]}"
    page.goto(f"/dashboards/{dashboard_id(lookout, 'Services overview')}")
    expect(page.get_by_test_id("panel").first).to_be_visible()
    alerts_panel = page.get_by_test_id("panel").filter(has=page.get_by_test_id("panel-title")
                                                      .filter(has_text="Alerts"))
    expect(alerts_panel).to_have_count(1)
    expect(alerts_panel.locator(f'[data-testid="alert-row"][data-alertname="{name}"]')
           ).to_have_count(0)

    # A rule whose condition holds on the data being ingested: the evaluator (every
    # second here) fires it, and the open dashboard shows it without a reload.
    rule = lookout.api().post(lookout.url("/api/v1/alerts"), timeout=10, json={
        "name": name, "query": 'latency_ms{service="api"}', "condition": "gt",
        "threshold": 0, "for": "1s", "severity": "critical",
        "annotations": {"summary": "api latency is {{ $value }} ms"}})
    assert rule.status_code == 201, rule.text
    try:
        row = alerts_panel.locator(f'[data-testid="alert-row"][data-alertname="{name}"]')
        expect(row).to_have_attribute("data-state", "firing", timeout=45_000)
        expect(row).to_contain_text("api latency is")
        expect(row).to_contain_text("critical")
        # The firing is marked on the time charts (an annotation from the rule's history).
        marks = page.locator('[data-testid="timeseries-chart"] .recharts-reference-line title',
                             has_text=f"{name} on api: firing")
        expect(marks.first).to_be_attached(timeout=30_000)
    finally:
        lookout.api().delete(lookout.url(f"/api/v1/alerts/{rule.json()['id']}"), timeout=10)
