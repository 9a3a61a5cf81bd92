"""The alerts page against the real alerts API and evaluator: a rule created in the form
is stored with every field, fires on the demo data, shows in the firing list and its
history; a silence is created from the alert and expired; the API's 400 is shown."""

from __future__ import annotations

import time
import uuid

from playwright.sync_api import Page, expect

from ..stack import wait_until
from .conftest import BrowserStack, sign_in


def test_an_editor_creates_a_rule_that_fires_silences_it_and_deletes_it(
        page: Page, lookout: BrowserStack, screenshot) -> None:
    editor = lookout.create_user("editor")
    sign_in(page, lookout, editor)
    wait_until(lambda: lookout.promql('latency_ms{service="api"}'), 60, "the demo's latency_ms")
    name = f"ApiLatency_{uuid.uuid4().hex[:6]}"
    page.goto("/alerts")
    page.get_by_test_id("rule-new").click()

    # Checked in the browser first: nothing is sent while a field is wrong.
    page.get_by_test_id("rule-save").click()
    editor_form = page.get_by_test_id("rule-editor")
    expect(editor_form).to_contain_text("required")
    expect(editor_form).to_contain_text("a PromQL expression is required")

    page.get_by_test_id("rule-name").fill(name)
    page.get_by_test_id("rule-group").fill("browser")
    page.get_by_test_id("rule-query").fill('latency_ms{service="api"}')
    page.get_by_test_id("rule-condition").select_option("gt")
    page.get_by_test_id("rule-threshold").fill("0")
    page.get_by_test_id("rule-for").fill("1s")
    page.get_by_test_id("rule-keep-firing-for").fill("5m")
    page.get_by_test_id("rule-severity").select_option("critical")
    page.get_by_test_id("rule-labels").get_by_role("button", name="+ Add label").click()
    page.get_by_label("Labels name 1").fill("team")
    page.get_by_label("Labels value 1").fill("ops")
    page.get_by_label("Annotations value 1").fill("{{ $labels.service }} at {{ $value }} ms")
    page.get_by_test_id("rule-targets").get_by_role("button", name="+ Add target").click()
    page.get_by_label("Target type 1").select_option("webhook")
    page.get_by_label("Target address 1").fill("http://127.0.0.1:9/hook")

    # The preview draws the query over the last hour and says what would fire.
    expect(page.get_by_test_id("rule-preview-chart")).to_have_attribute("data-series-count", "1")
    expect(page.get_by_test_id("rule-preview-active")).to_contain_text(
        "1 series would be active now")
    expect(page.get_by_test_id("rule-preview")).to_contain_text(
        '(latency_ms{service="api"}) > 0')
    screenshot(page, "alert-rule-editor")
    page.get_by_test_id("rule-save").click()

    row = page.locator(f'[data-testid="rule-row"][data-rule-name="{name}"]')
    expect(row).to_be_visible()
    [stored] = [r for r in lookout.api(editor).get(lookout.url("/api/v1/alerts"), timeout=10)
                .json()["alerts"] if r["name"] == name]
    assert {k: stored[k] for k in ("group", "query", "condition", "threshold", "for",
                                   "keep_firing_for", "severity", "labels", "annotations",
                                   "notification_targets")} == {
        "group": "browser", "query": 'latency_ms{service="api"}', "condition": "gt",
        "threshold": 0.0, "for": 1.0, "keep_firing_for": 300.0, "severity": "critical",
        "labels": {"team": "ops"},
        "annotations": {"summary": "{{ $labels.service }} at {{ $value }} ms"},
        "notification_targets": [{"type": "webhook", "address": "http://127.0.0.1:9/hook"}]}

    # The rule's query opens in Explore, already run.
    row.get_by_role("link", name="Explore").click()
    expect(page.get_by_test_id("explore-query")).to_have_value('latency_ms{service="api"}')
    expect(page.get_by_test_id("explore-chart")).to_have_attribute("data-series-count", "1")
    page.go_back()

    # The evaluator (every second here) takes it through pending to firing.
    expect(row).to_have_attribute("data-state", "firing", timeout=30_000)
    page.get_by_test_id("tab-active").click()
    alert = page.locator(f'[data-testid="active-alert"][data-alertname="{name}"]')
    expect(alert).to_have_attribute("data-state", "firing")
    expect(alert).to_contain_text("api at")
    screenshot(page, "alerts")

    # Silence exactly this alert, from the alert.
    alert.get_by_role("button", name="Silence…").click()
    matchers = page.get_by_test_id("silence-matchers")
    expect(matchers).to_have_value('service="api", severity="critical", team="ops"')
    expect(page.get_by_test_id("silence-hits")).to_contain_text("Mutes 1 of the")
    page.get_by_test_id("silence-comment").fill("browser test")
    page.get_by_test_id("silence-create").click()
    silence_row = page.get_by_test_id("silence-row").filter(has_text="browser test")
    expect(silence_row).to_contain_text("active")
    expect(silence_row).to_contain_text(editor.username)
    silences = lookout.api().get(lookout.url("/api/v1/silences"), timeout=10).json()["silences"]
    [silence] = [s for s in silences if s["comment"] == "browser test"]
    assert silence["matchers"] == [
        {"name": "service", "value": "api", "isRegex": False, "isEqual": True},
        {"name": "severity", "value": "critical", "isRegex": False, "isEqual": True},
        {"name": "team", "value": "ops", "isRegex": False, "isEqual": True}]
    silence_row.get_by_test_id("silence-expire").click()
    expect(silence_row).to_have_count(0)

    # Its history has the firing; then it is deleted.
    page.get_by_test_id("tab-rules").click()
    row.get_by_role("button", name="History").click()
    expect(page.get_by_test_id("rule-history-row").first).to_contain_text("firing")
    page.get_by_role("button", name="Back to rules").click()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_test_id("rule-delete").click()
    expect(row).to_have_count(0)
    assert lookout.api().get(lookout.url(f"/api/v1/alerts/{stored['id']}"),
                             timeout=10).status_code == 404


def test_the_apis_400_is_shown_and_a_viewer_gets_no_edit_controls(
        page: Page, lookout: BrowserStack) -> None:
    sign_in(page, lookout, lookout.admin)
    page.goto("/alerts")
    page.get_by_test_id("rule-new").click()
    page.get_by_test_id("rule-name").fill("Broken")
    page.get_by_test_id("rule-query").fill("sum(rate(x[5m])")  # the server's parser says no
    page.get_by_test_id("rule-threshold").fill("1")
    page.get_by_test_id("rule-save").click()
    error = page.get_by_test_id("rule-save-error")
    expect(error).to_contain_text("query: parse error")
    expect(error).to_contain_text("HTTP 400")

    # An editor whose role is taken away while the form is open: the save is refused by
    # the alerts API (which asks the query service who calls) and its 403 is shown.
    demoted = lookout.create_user("editor")
    page.context.clear_cookies()
    sign_in(page, lookout, demoted)
    page.goto("/alerts")
    page.get_by_test_id("rule-new").click()
    page.get_by_test_id("rule-name").fill("TooLate")
    page.get_by_test_id("rule-query").fill("latency_ms")
    page.get_by_test_id("rule-threshold").fill("1")
    users = lookout.api().get(lookout.url("/api/v1/users"), timeout=10).json()["users"]
    [uid] = [u["id"] for u in users if u["username"] == demoted.username]
    assert lookout.api().patch(lookout.url(f"/api/v1/users/{uid}"), json={"role": "viewer"},
                               timeout=10).status_code == 200
    time.sleep(1.5)  # the alerts service trusts a checked caller for ALERTS_AUTH_CACHE_S (1 s)
    page.get_by_test_id("rule-save").click()
    expect(page.get_by_test_id("rule-save-error")).to_contain_text("Not allowed — ")
    assert "TooLate" not in [r["name"] for r in lookout.api().get(
        lookout.url("/api/v1/alerts"), timeout=10).json()["alerts"]]

    viewer = lookout.create_user("viewer")
    page.context.clear_cookies()
    sign_in(page, lookout, viewer)
    page.goto("/alerts")
    expect(page.get_by_test_id("alerts-read-only")).to_contain_text("signed in as a viewer")
    expect(page.get_by_test_id("rules-table").or_(page.get_by_test_id("rules-empty"))).to_be_visible()
    expect(page.get_by_test_id("rule-new")).to_have_count(0)
    expect(page.get_by_test_id("rule-edit")).to_have_count(0)
    expect(page.get_by_test_id("rule-delete")).to_have_count(0)
