# ruff: noqa: F811 (fixtures are imported from accounts_fixtures)
"""Every route by role by owner / not owner: the answer is the one its declared permission
promises (2xx, 401, 403, 404) — and every route of the app is declared."""

import re
import uuid

import pytest

from lookout_query.dashboards.model import parse_dashboard
from lookout_query.permissions import REGISTRY, ROLE_RANK, Permission

from .accounts_fixtures import (  # noqa: F401 (fixtures)
    accounts_template,
    add_user,
    app,
    dashboard_body,
    make_app,
    migrated_database,
    users,
)

WALKED = ("accounts", "dashboards", "admin", "openapi")
PANEL = {"type": "line", "title": "p", "query": "up",
         "position": {"x": 0, "y": 0, "w": 6, "h": 4}}


def test_every_route_declares_its_permission(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        spec = REGISTRY.get(rule.endpoint)
        assert spec is not None, f"{rule.rule} declares no permission"
        assert spec.path == rule.rule
        assert set(spec.methods) == set(rule.methods or ()) - {"HEAD", "OPTIONS"}


def body_for(endpoint, ids):
    bodies = {
        "accounts.login": {"username": "admin", "password": "admin-password-for-tests"},
        "accounts.create_user": {"username": "u" + uuid.uuid4().hex[:8],
                                 "password": "long-enough", "role": "viewer"},
        "accounts.change_user": {"role": "editor"},
        "accounts.create_token": {"name": "t" + uuid.uuid4().hex[:8]},
        "dashboards.create_dashboard": dashboard_body(),
        "dashboards.update_dashboard": dashboard_body(version=ids["version"]),
        "dashboards.import_dashboard": {**dashboard_body(), "format": "lookout.dashboard/v1"},
        "dashboards.create_panel": PANEL,
        "dashboards.update_panel": {**PANEL, "version": 1},
        "admin.retention": {},
        "admin.dlq_replay": {"all": True},
        "admin.dlq_purge": {"all": True},
    }
    return bodies.get(endpoint)


def fresh_resources(app, owner_id):
    """A dashboard of the owner with one panel, a throwaway user and token."""
    store = app.extensions["lookout.dashboards"]
    board = store.create(parse_dashboard(dashboard_body()), owner_id)
    victim = add_user(app, "v" + uuid.uuid4().hex[:8], "viewer", hashed=False)
    from sqlalchemy import text
    with app.extensions["lookout.accounts"].engine.connect() as conn:
        token_id = conn.execute(text("SELECT id FROM api_tokens WHERE user_id = :u"),
                                {"u": victim.id}).scalar_one()
    return {"dashboard_id": board["id"], "panel_id": board["panels"][0]["id"],
            "user_id": victim.id, "token_id": token_id, "message_id": "no-such-message",
            "version": board["version"]}


def concrete(path, ids, missing=False):
    def value(m):
        name = m.group(2)
        return str(2_000_000_000) if missing and name != "message_id" else str(ids[name])
    return re.sub(r"<(?:(\w+):)?(\w+)>", value, path)


def expected(spec, who, owner):
    if spec.permission in (Permission.PUBLIC, Permission.QUERY):
        return "2xx"
    if who == "anonymous":
        return 401
    if ROLE_RANK[who_role(who)] < ROLE_RANK[spec.permission.value]:
        return 403
    if spec.owned and who_role(who) != "admin" and not owner:
        return 403
    if spec.endpoint == "admin.dlq_show":
        return 404  # the queue is empty: there is no message to show
    return "2xx"


def who_role(who):
    return {"viewer": "viewer", "owner": "editor", "other": "editor", "admin": "admin"}[who]


@pytest.fixture
def walk_app(make_app, amqp_url):
    return make_app(amqp_url=amqp_url, query_login_attempts_per_minute=1000)


def test_walk_routes_roles_owners(walk_app, users):
    app = walk_app
    people = {"viewer": users["viewer"], "owner": users["editor"], "other": users["other"],
              "admin": users["admin"]}
    c = app.test_client()
    outcomes = []
    for spec in sorted(REGISTRY.values(), key=lambda s: s.endpoint):
        if spec.tag not in WALKED:
            continue
        for method in spec.methods:
            for who in ("anonymous", "viewer", "owner", "other", "admin"):
                ids = fresh_resources(app, users["editor"].id)
                headers = {} if who == "anonymous" else people[who].auth
                r = c.open(concrete(spec.path, ids), method=method, headers=headers,
                           json=body_for(spec.endpoint, ids))
                want = expected(spec, who, owner=who == "owner")
                ok = (200 <= r.status_code < 300) if want == "2xx" else r.status_code == want
                outcomes.append((spec.endpoint, who, want, r.status_code, ok))
                assert ok, (spec.endpoint, method, who, want, r.status_code, r.get_json())
                if r.status_code >= 400:
                    assert set(r.get_json()["error"]) >= {"type", "message"}
            if "<" in spec.path and spec.endpoint != "admin.dlq_show":
                # A resource that does not exist: 404 for whoever may ask.
                ids = fresh_resources(app, users["editor"].id)
                r = c.open(concrete(spec.path, ids, missing=True), method=method,
                           headers=users["admin"].auth, json=body_for(spec.endpoint, ids))
                assert r.status_code == 404, (spec.endpoint, r.get_json())
    walked = {o[0] for o in outcomes}
    assert walked == {s.endpoint for s in REGISTRY.values() if s.tag in WALKED}
    assert {o[3] for o in outcomes} >= {200, 201, 204, 401, 403, 404}
