"""Signing in through the login page, in the browser, through nginx."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .conftest import BrowserStack


def test_the_login_page_loads_and_the_admin_signs_in(page: Page, lookout: BrowserStack,
                                                      screenshot) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))  # signed out: sent to the login page
    page.get_by_label(re.compile("user", re.I)).fill(lookout.admin.username)
    page.get_by_label(re.compile("password", re.I)).fill("not-the-password")
    page.get_by_role("button", name=re.compile("sign in|log in", re.I)).click()
    expect(page.get_by_role("alert")).to_contain_text("unknown user or wrong password")
    screenshot(page, "login")

    page.get_by_label(re.compile("password", re.I)).fill(lookout.admin.password)
    page.get_by_role("button", name=re.compile("sign in|log in", re.I)).click()
    expect(page).not_to_have_url(re.compile(r"/login"))
    expect(page.get_by_text(lookout.admin.username).first).to_be_visible()
