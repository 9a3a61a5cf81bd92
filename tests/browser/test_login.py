"""Signing in through the login page, in the browser, through nginx."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .conftest import BrowserStack


def test_the_login_page_loads_and_the_admin_signs_in(page: Page, lookout: BrowserStack,
                                                      screenshot) -> None:
    page.goto("/explore")
    expect(page).to_have_url(re.compile(r"/login"))  # signed out: sent to the login page
    page.get_by_test_id("login-username").fill(lookout.admin.username)
    screenshot(page, "login")
    page.get_by_test_id("login-password").fill("not-the-password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_contain_text("unknown user or wrong password")

    page.get_by_test_id("login-password").fill(lookout.admin.password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/explore$"))  # back where it was going
    expect(page.get_by_test_id("current-user")).to_have_text(lookout.admin.username)
    expect(page.get_by_test_id("current-role")).to_have_text("admin")
    expect(page.get_by_test_id("explore-page")).to_be_visible()
