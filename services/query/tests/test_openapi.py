# ruff: noqa: F811 (fixtures are imported from accounts_fixtures)
"""The OpenAPI description covers every registered route, and the service keeps to it
(schemathesis: no 5xx, status codes, content types and bodies as described)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from lookout_query.openapi import openapi_path
from lookout_query.permissions import REGISTRY

from .accounts_fixtures import (  # noqa: F401 (fixtures)
    accounts_template,
    app,
    make_app,
    migrated_database,
    users,
)

# What the contract means here: no 5xx, only described status codes, content types and
# bodies. (Schemathesis' auth probes are left out: query routes are open by design.)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def test_every_registered_route_is_described(app):
    document = app.test_client().get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.")
    described = {(path, method.upper()) for path, item in document["paths"].items()
                 for method in item}
    registered = {(openapi_path(s.path), m) for s in REGISTRY.values() for m in s.methods}
    assert described == registered
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static":
            assert openapi_path(rule.rule) in document["paths"], rule.rule
    login = document["paths"]["/api/v1/auth/login"]["post"]
    assert login["x-lookout-permission"] == "public" and "429" in login["responses"]


@pytest.fixture
def contract(make_app, users, amqp_url):
    return make_app(amqp_url=amqp_url, query_login_attempts_per_minute=100_000), users


def test_schemathesis_against_the_description(contract):
    app, users = contract
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    admin = users["admin"].auth
    failures = []
    operations = 0
    labels = []
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        labels.append(operation.label)

        @settings(max_examples=4, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case):  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=admin, checks=CHECKS)

        try:
            check()
        except Exception as exc:  # collect every operation's failure, then report
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    want = {f"{m} {openapi_path(s.path)}" for s in REGISTRY.values() for m in s.methods}
    # Schemathesis leaves out the operation that serves the schema itself.
    assert want - set(labels) == {"GET /api/v1/openapi.json"}
    assert operations >= len(REGISTRY)
    assert not failures, "\n\n".join(failures)
