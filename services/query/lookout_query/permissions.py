"""Who may call what: every route of the query service, its permission and its
contract, declared in one registry.

Routes of the accounts, dashboards and admin APIs declare themselves with ``@api``;
the routes that existed before accounts (PromQL, Prometheus API, catalogue, health,
/metrics) are declared in ``EXISTING_ROUTES`` below. A ``before_request`` hook looks
every request's endpoint up here and refuses an endpoint that is not declared, so a
route cannot be added without a permission. The OpenAPI description is generated
from the same registry (``openapi.py``).

Permissions:

- ``public``: anyone, always (login, logout, health, /metrics, the OpenAPI document);
- ``query``: the PromQL / Prometheus API and the metric catalogue. Open to anonymous
  callers (Grafana, scripts) unless ``QUERY_AUTH_REQUIRED=true``, then a viewer
  session or an API token is needed; with a known user, rate limited per user;
- ``viewer`` < ``editor`` < ``admin``: a signed-in user (session cookie or API token)
  of at least that role. Ownership (editors change only their own dashboards) is
  checked by the handlers, which know the resource.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from flask import Blueprint

F = TypeVar("F", bound=Callable[..., Any])


class Permission(StrEnum):
    PUBLIC = "public"
    QUERY = "query"
    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"


ROLES = ("viewer", "editor", "admin")
ROLE_RANK = {"viewer": 1, "editor": 2, "admin": 3}


@dataclass(frozen=True)
class RouteSpec:
    endpoint: str  # Flask endpoint name, "blueprint.function"
    path: str  # Flask rule, e.g. /api/v1/dashboards/<int:dashboard_id>
    methods: tuple[str, ...]
    permission: Permission
    summary: str
    tag: str
    body: dict[str, Any] | None = None  # JSON schema of the request body
    response: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    status: int = 200  # the success status
    owned: bool = False  # the handler checks ownership (403 for others' resources)
    parameters: tuple[dict[str, Any], ...] = ()  # extra OpenAPI parameters (query)
    form: bool = False  # also accepts application/x-www-form-urlencoded (Prometheus API)
    raw_response: str | None = None  # a non-JSON media type of the answer


REGISTRY: dict[str, RouteSpec] = {}


def declare(spec: RouteSpec) -> None:
    if spec.endpoint in REGISTRY and REGISTRY[spec.endpoint] != spec:
        raise ValueError(f"endpoint {spec.endpoint} declared twice")
    REGISTRY[spec.endpoint] = spec


def api(bp: Blueprint, method: str, path: str, permission: Permission, summary: str, *,
        body: dict[str, Any] | None = None, response: dict[str, Any] | None = None,
        status: int = 200, owned: bool = False,
        parameters: tuple[dict[str, Any], ...] = ()) -> Callable[[F], F]:
    """Register a route on ``bp`` and declare its permission and contract."""

    def decorate(func: F) -> F:
        endpoint = f"{bp.name}.{func.__name__}"
        declare(RouteSpec(endpoint, path, (method,), permission, summary, bp.name, body,
                          response or {"type": "object"}, status, owned, parameters))
        bp.add_url_rule(path, endpoint=func.__name__, view_func=func, methods=[method])
        return func

    return decorate


_PROMQL_PARAMS = (
    {"name": "query", "in": "query", "schema": {"type": "string"}},
    {"name": "time", "in": "query", "schema": {"type": "string"}},
    {"name": "start", "in": "query", "schema": {"type": "string"}},
    {"name": "end", "in": "query", "schema": {"type": "string"}},
    {"name": "step", "in": "query", "schema": {"type": "string"}},
    {"name": "timeout", "in": "query", "schema": {"type": "string"}},
)
_SERIES_PARAMS = (
    {"name": "match[]", "in": "query", "schema": {"type": "array", "items": {"type": "string"}},
     "style": "form", "explode": True},
    {"name": "start", "in": "query", "schema": {"type": "string"}},
    {"name": "end", "in": "query", "schema": {"type": "string"}},
)
_PROM_ANSWER = {"type": "object", "required": ["status"],
                "properties": {"status": {"type": "string", "enum": ["success", "error"]}}}
_Q = Permission.QUERY
_P = Permission.PUBLIC

EXISTING_ROUTES = (
    RouteSpec("catalogue.list_metrics", "/api/v1/metrics", ("GET",), _Q,
              "Metric names with their types and help", "catalogue",
              response={"type": "object", "required": ["metrics"]}),
    RouteSpec("catalogue.metric_tags", "/api/v1/metrics/<name>/tags", ("GET",), _Q,
              "Label names and values of one metric", "catalogue"),
    RouteSpec("prometheus_api.query", "/prometheus/api/v1/query", ("GET", "POST"), _Q,
              "Prometheus instant query", "prometheus", response=_PROM_ANSWER,
              parameters=(*_PROMQL_PARAMS[:2], *_PROMQL_PARAMS[5:]), form=True),
    RouteSpec("prometheus_api.query_range", "/prometheus/api/v1/query_range", ("GET", "POST"),
              _Q, "Prometheus range query", "prometheus", response=_PROM_ANSWER,
              parameters=(_PROMQL_PARAMS[0], *_PROMQL_PARAMS[2:]), form=True),
    RouteSpec("prometheus_api.series", "/prometheus/api/v1/series", ("GET", "POST"), _Q,
              "Series matching selectors", "prometheus", response=_PROM_ANSWER,
              parameters=_SERIES_PARAMS, form=True),
    RouteSpec("prometheus_api.labels", "/prometheus/api/v1/labels", ("GET", "POST"), _Q,
              "Label names", "prometheus", response=_PROM_ANSWER, parameters=_SERIES_PARAMS,
              form=True),
    RouteSpec("prometheus_api.label_values", "/prometheus/api/v1/label/<name>/values",
              ("GET",), _Q, "Values of one label", "prometheus", response=_PROM_ANSWER,
              parameters=_SERIES_PARAMS),
    RouteSpec("prometheus_api.metadata", "/prometheus/api/v1/metadata", ("GET",), _Q,
              "Metric metadata", "prometheus", response=_PROM_ANSWER),
    RouteSpec("prometheus_api.buildinfo", "/prometheus/api/v1/status/buildinfo", ("GET",), _Q,
              "Build information", "prometheus", response=_PROM_ANSWER),
    RouteSpec("query_api.query", "/api/v1/query", ("POST",), _Q,
              "Lookout PromQL query (JSON body)", "query",
              body={"type": "object"}),
    RouteSpec("health.live", "/health/live", ("GET",), _P, "The process answers", "health"),
    RouteSpec("health.ready", "/health/ready", ("GET",), _P, "Its dependencies answer",
              "health"),
    RouteSpec("metrics.metrics", "/metrics", ("GET",), _P,
              "Prometheus exposition of the service", "health", raw_response="text/plain"),
)
for _spec in EXISTING_ROUTES:
    declare(_spec)


def spec_for(endpoint: str | None) -> RouteSpec | None:
    return REGISTRY.get(endpoint or "")
