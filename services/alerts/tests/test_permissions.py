"""Every route of the alerts API by role by owner / not owner: the answer is the one its
declared permission promises (2xx, 401, 403, 404), with callers checked against the real
query service's accounts; every route of the app is declared; the query service being
unreachable is a 503 for changes, never an open door."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from lookout_alerts.access import OWNED, ROUTES, Permission
from lookout_alerts.app import create_app
from lookout_alerts.defaults import default_rules
from lookout_alerts.rules import parse_rule
from lookout_alerts.settings import AlertsSettings
from lookout_common.settings import StorageMode

ROLE_OF = {"viewer": "viewer", "owner": "editor", "other": "editor", "admin": "admin"}
PERSON_OF = {"viewer": "vi", "owner": "ed", "other": "other", "admin": "boss"}


def rule_body() -> dict:
    return {"name": "R" + uuid.uuid4().hex[:8], "query": "up", "condition": "lt",
            "threshold": 1}


def silence_body() -> dict:
    return {"matchers": [{"name": "service", "value": "api"}],
            "endsAt": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}


def rule_file(group: str) -> str:
    return f"groups: [{{name: {group}, rules: [{{alert: Imported, expr: up == 0}}]}}]"


def fresh(store, owner_id: int) -> dict:
    """A rule of the owner (in a group of its own) and a silence."""
    from lookout_alerts.silences import parse_silence
    group = "g" + uuid.uuid4().hex[:8]
    rule = store.create_rule(parse_rule({**rule_body(), "group": group}))
    from dataclasses import replace
    rule = store.update_rule(replace(rule, owner_id=owner_id))
    silence = store.save_silence(parse_silence(silence_body(), datetime.now(UTC), "ed"))
    return {"rule_id": rule.id, "silence_id": silence.id, "group": group}


def request_for(endpoint: str, path: str, ids: dict, missing: bool = False
                ) -> tuple[str, dict]:
    def value(m: re.Match[str]) -> str:
        return "2000000000" if missing else str(ids[m.group(2)])
    url = re.sub(r"<(?:(\w+):)?(\w+)>", value, path)
    if endpoint == "alerts_api.import_rule_file":
        return url, {"data": rule_file(ids["group"])}  # replaces the owner's group
    if endpoint in ("alerts_api.create_rule", "alerts_api.update_rule"):
        return url, {"json": rule_body()}
    if endpoint in ("alerts_api.create_silence", "alerts_api.update_silence"):
        return url, {"json": silence_body()}
    return url, {}


def expected(endpoint: str, who: str) -> int | str:
    permission = ROUTES[endpoint]
    if permission in (Permission.PUBLIC, Permission.READ):
        return "2xx"
    if who == "anonymous":
        return 401
    role = ROLE_OF[who]
    if role == "viewer":
        return 403
    if endpoint in OWNED and role != "admin" and who != "owner":
        return 403
    return "2xx"


def test_every_route_declares_its_permission(alerts_settings):
    app = create_app(alerts_settings)
    declared = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        assert rule.endpoint in ROUTES, f"{rule.rule} declares no permission"
        declared.add(rule.endpoint)
    assert declared == set(ROUTES)


def test_walk_routes_roles_owners(alerts_settings, people, store):
    app = create_app(alerts_settings)
    c = app.test_client()
    outcomes = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint):
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for who in ("anonymous", "viewer", "owner", "other", "admin"):
                ids = fresh(store, people["ed"].id)
                headers = {} if who == "anonymous" else people[PERSON_OF[who]].auth
                url, body = request_for(rule.endpoint, rule.rule, ids)
                r = c.open(url, method=method, headers=headers, **body)
                want = expected(rule.endpoint, who)
                ok = (200 <= r.status_code < 300) if want == "2xx" else r.status_code == want
                outcomes.append((rule.endpoint, method, who, want, r.status_code))
                assert ok, (rule.endpoint, method, who, want, r.status_code, r.get_data()[:300])
                if r.status_code >= 400:
                    assert set(r.get_json()["error"]) >= {"type", "message"}
            if "<" in rule.rule:  # a resource that does not exist: 404 for the admin
                ids = fresh(store, people["ed"].id)
                url, body = request_for(rule.endpoint, rule.rule, ids, missing=True)
                r = c.open(url, method=method, headers=people["boss"].auth, **body)
                assert r.status_code == 404, (rule.endpoint, method, r.get_json())
    assert {o[0] for o in outcomes} == set(ROUTES)
    assert {o[4] for o in outcomes} >= {200, 201, 204, 401, 403}


def test_owners_are_recorded_and_shown(client, anonymous, people, store):
    created = client.post("/api/v1/alerts", json=rule_body()).json
    assert created["owner"] == {"id": people["ed"].id, "username": "ed"}
    imported = client.post("/api/v1/alerts/import", data=rule_file("mine")).json["alerts"]
    assert [r["owner"]["username"] for r in imported] == ["ed"]
    # The admin re-imports the group: it is the admin's now.
    boss = people["boss"].auth
    again = anonymous.post("/api/v1/alerts/import", data=rule_file("mine"), headers=boss)
    assert again.status_code == 201 and again.json["alerts"][0]["owner"]["username"] == "boss"
    assert again.json["alerts"][0]["id"] == imported[0]["id"]  # updated in place
    # ... so the editor may no longer replace it, and nothing is written when refused.
    refused = client.post("/api/v1/alerts/import", data=rule_file("mine"))
    assert refused.status_code == 403 and "owned by boss" in refused.json["error"]["message"]
    assert store.get_rule(imported[0]["id"]).owner_name == "boss"
    # Reading stays open; an admin PUT keeps the rule's owner.
    assert anonymous.get(f"/api/v1/alerts/{created['id']}").status_code == 200
    put = anonymous.put(f"/api/v1/alerts/{created['id']}", json=rule_body(), headers=boss)
    assert put.status_code == 200 and put.json["owner"]["username"] == "ed"


def test_provisioned_rules_belong_to_admins(client, anonymous, people, store):
    assert store.provision_defaults(default_rules([])) == 10
    [rule, *_] = store.list_rules()
    assert rule.owner_id is None and rule.provisioned
    r = client.patch(f"/api/v1/alerts/{rule.id}", json={"threshold": 1})
    assert r.status_code == 403 and "provisioned" in r.json["error"]["message"]
    r = anonymous.patch(f"/api/v1/alerts/{rule.id}", json={"threshold": 1},
                        headers=people["boss"].auth)
    assert r.status_code == 200 and r.json["threshold"] == 1


def test_bad_and_revoked_credentials(client, anonymous, people, migrated_url):
    r = anonymous.post("/api/v1/alerts", json=rule_body(),
                       headers={"Authorization": "Bearer lkt_not-a-token"})
    assert r.status_code == 401 and r.json["error"]["type"] == "unauthorized"
    r = anonymous.post("/api/v1/alerts", json=rule_body(),
                       headers={"Cookie": "lookout_session=expired-or-made-up"})
    assert r.status_code == 401
    # A disabled user's token stops working (after the short positive cache).
    import psycopg2
    conn = psycopg2.connect(migrated_url)
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE users SET disabled_at = now() WHERE username = 'other'")
    conn.close()
    r = anonymous.post("/api/v1/alerts", json=rule_body(), headers=people["other"].auth)
    assert r.status_code == 401


def test_session_cookie_is_checked_too(alerts_settings, query_server, people):
    """A browser's session (cookie from the query service's login) is enough."""
    import psycopg2
    import requests

    from lookout_alerts.testing import add_user_with_token
    from lookout_query.accounts import hash_password
    add_user_with_token(alerts_settings.database_url, "browser", "editor")
    conn = psycopg2.connect(alerts_settings.database_url)
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE users SET password_hash = %s WHERE username = 'browser'",
                    (hash_password("browser-password"),))
    conn.close()
    login = requests.post(f"{query_server.url}/api/v1/auth/login",
                          json={"username": "browser", "password": "browser-password"},
                          timeout=10)
    assert login.status_code == 200, login.text
    cookie = login.cookies["lookout_session"]
    c = create_app(alerts_settings).test_client()
    c.set_cookie("lookout_session", cookie)
    r = c.post("/api/v1/alerts", json=rule_body())
    assert r.status_code == 201 and r.json["owner"]["username"] == "browser"
    # Signed out: the session is gone at the query service, and (the cache is keyed by
    # the credential) a new alerts app knows it at once.
    requests.post(f"{query_server.url}/api/v1/auth/logout", cookies={"lookout_session": cookie},
                  timeout=10)
    c2 = create_app(alerts_settings).test_client()
    c2.set_cookie("lookout_session", cookie)
    assert c2.post("/api/v1/alerts", json=rule_body()).status_code == 401


def test_positive_answers_are_cached_briefly(alerts_settings, query_server, people):
    c = create_app(alerts_settings).test_client()
    before = query_server.requests
    for _ in range(3):
        assert c.post("/api/v1/alerts", json=rule_body(), headers=people["ed"].auth
                      ).status_code == 201
    assert query_server.requests - before == 1  # one /auth/me for three changes
    uncached = create_app(alerts_settings.model_copy(update={"alerts_auth_cache_s": 0.0})
                          ).test_client()
    before = query_server.requests
    for _ in range(2):
        uncached.post("/api/v1/alerts", json=rule_body(), headers=people["ed"].auth)
    assert query_server.requests - before == 2


def test_query_service_down_is_503_for_changes(migrated_url, people):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    settings = AlertsSettings(database_url=migrated_url, storage_mode=StorageMode.POSTGRES,
                              query_url=dead, alerts_auth_timeout_s=0.5)
    c = create_app(settings).test_client()
    r = c.post("/api/v1/alerts", json=rule_body(), headers=people["ed"].auth)
    assert r.status_code == 503
    assert r.json["error"]["type"] == "unavailable"
    assert "query service" in r.json["error"]["message"]
    assert c.get("/api/v1/alerts").status_code == 200  # reading does not need accounts
    # Without credentials there is nothing to check: 401 at once.
    assert c.post("/api/v1/alerts", json=rule_body()).status_code == 401


@pytest.mark.parametrize("who, status", [("anonymous", 401), ("vi", 200)])
def test_auth_required_closes_reading(alerts_settings, people, who, status):
    c = create_app(alerts_settings.model_copy(update={"alerts_auth_required": True})
                   ).test_client()
    headers = {} if who == "anonymous" else people[who].auth
    for path in ("/api/v1/alerts", "/api/v1/silences", "/prometheus/api/v1/rules"):
        assert c.get(path, headers=headers).status_code == status
    assert c.get("/health/live").status_code == 200
