"""The harness itself: nginx serves the built front end and routes the APIs."""

from __future__ import annotations

import requests
from playwright.sync_api import Page, expect

from .conftest import BrowserStack


def test_nginx_serves_the_built_app_and_the_apis(page: Page, lookout: BrowserStack) -> None:
    page.goto("/")
    expect(page.locator("#root")).not_to_be_empty()  # React rendered something
    api = lookout.api()
    me = api.get(lookout.url("/api/v1/auth/me"), timeout=10)
    assert me.json()["user"]["username"] == "admin" and me.json()["user"]["role"] == "admin"
    assert api.get(lookout.url("/api/v1/alerts"), timeout=10).json() == {"alerts": []}
    assert requests.get(lookout.url("/health/alerts"), timeout=10).status_code == 200
