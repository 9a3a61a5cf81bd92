"""The admin page against the query service's admin API: health and statistics, users
(create, change role, delete), an API token shown once, and the dead-letter queue with
a garbled message the worker refused (show, replay, purge)."""

from __future__ import annotations

import uuid

import requests
from playwright.sync_api import Page, expect

from ..stack import wait_until
from .conftest import BrowserStack, sign_in


def test_admin_sees_health_stats_and_manages_users_and_tokens(admin_page: Page,
                                                              lookout: BrowserStack,
                                                              screenshot) -> None:
    page = admin_page
    page.goto("/admin")
    expect(page.get_by_test_id("admin-health-status")).to_have_text("ok")
    expect(page.get_by_test_id("admin-dependency")).to_have_count(3)
    series = page.get_by_test_id("admin-stat-series").get_attribute("data-value") or ""
    assert int(series.replace(",", "")) > 0  # the demo producer's series
    screenshot(page, "admin")

    page.get_by_test_id("tab-users").click()
    expect(page.locator('[data-testid="user-row"][data-username="admin"]')).to_contain_text("(you)")
    name = f"ann-{uuid.uuid4().hex[:6]}"
    page.get_by_test_id("user-new-name").fill(name)
    page.get_by_test_id("user-new-password").fill("a-long-password")
    page.get_by_test_id("user-new-role").select_option("viewer")
    page.get_by_test_id("user-create").click()
    row = page.locator(f'[data-testid="user-row"][data-username="{name}"]')
    expect(row).to_be_visible()
    row.get_by_test_id("user-role").select_option("editor")
    wait_until(lambda: {u["username"]: u["role"] for u in lookout.api().get(
        lookout.url("/api/v1/users"), timeout=10).json()["users"]}.get(name) == "editor", 10,
        "the role change stored")
    # The same name again: the API's 409 is shown.
    page.get_by_test_id("user-new-name").fill(name)
    page.get_by_test_id("user-new-password").fill("a-long-password")
    page.get_by_test_id("user-create").click()
    expect(page.get_by_test_id("users-error")).to_contain_text(f"a user named '{name}' exists")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_test_id("user-delete").click()
    expect(row).to_have_count(0)

    page.get_by_test_id("tab-tokens").click()
    page.get_by_test_id("token-name").fill("browser-agent")
    page.get_by_test_id("token-create").click()
    secret = page.get_by_test_id("token-secret").locator("code").first.inner_text()
    assert len(secret) > 20
    expect(page.get_by_test_id("token-row").filter(has_text="browser-agent")).to_contain_text(
        "active")
    # The secret shown is a working credential.
    me = requests.get(lookout.url("/api/v1/auth/me"), timeout=10,
                      headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.json()["user"]["username"] == "admin"


def test_the_dead_letter_queue_is_listed_shown_replayed_and_purged(admin_page: Page,
                                                                   lookout: BrowserStack,
                                                                   screenshot) -> None:
    page = admin_page
    for i in (1, 2):
        lookout.publish_raw(b"not a sample batch", f"garbled-{i}")
    page.goto("/admin")
    page.get_by_test_id("tab-dlq").click()
    rows = page.get_by_test_id("dlq-row")
    expect(rows).to_have_count(2, timeout=30_000)  # the panel refreshes every 10 s
    expect(page.get_by_test_id("dlq-count")).to_have_text("2 messages in metrics.dlq")
    first = rows.filter(has_text="garbled-1")
    expect(first).to_contain_text("undecodable")
    first.get_by_test_id("dlq-show").click()
    expect(page.get_by_test_id("dlq-detail")).to_contain_text("garbled-1")
    screenshot(page, "admin-dlq")

    def dead_letters() -> list[str]:
        body = lookout.api().get(lookout.url("/api/v1/admin/dlq"), timeout=10).json()
        return sorted(m["message_id"] for m in body["messages"])

    # Replayed, the garbled message goes back to the worker, which refuses it again.
    first.get_by_test_id("dlq-replay").click()
    expect(page.get_by_test_id("dlq-notice")).to_have_text("Replayed 1; 1 kept in the queue.")
    wait_until(lambda: dead_letters() == ["garbled-1", "garbled-2"], 30,
               "the replayed message dead-lettered again")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("dlq-purge-all").click()
    expect(page.get_by_test_id("dlq-notice")).to_have_text("Purged 2; 0 kept in the queue.")
    expect(page.get_by_test_id("dlq-empty")).to_be_visible()
    assert dead_letters() == []


def test_a_viewer_is_told_the_admin_page_is_for_admins(page: Page,
                                                       lookout: BrowserStack) -> None:
    viewer = lookout.create_user("viewer")
    sign_in(page, lookout, viewer)
    page.goto("/admin")
    expect(page.get_by_test_id("admin-forbidden")).to_contain_text("for admins")
    expect(page.get_by_test_id("users-table")).to_have_count(0)
    # And the API agrees: the page hides nothing the server would give.
    r = lookout.api(viewer).get(lookout.url("/api/v1/users"), timeout=10)
    assert r.status_code == 403
