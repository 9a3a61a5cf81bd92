"""OpenAPI 3 description of the query service, generated from the route registry
(``permissions.REGISTRY``), so every declared route appears and none can drift."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, jsonify

from lookout_common import __version__

from .permissions import REGISTRY, Permission, RouteSpec, api

bp = Blueprint("openapi", __name__)

ERROR = {"type": "object", "required": ["error"],
         "properties": {"error": {"type": "object", "required": ["type", "message"],
                                  "properties": {"type": {"type": "string"},
                                                 "message": {"type": "string"}}}}}
_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def openapi_path(rule: str) -> str:
    return _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", rule)


def _path_parameters(rule: str) -> list[dict[str, Any]]:
    out = []
    for converter, name in _CONVERTER.findall(rule):
        schema: dict[str, Any] = ({"type": "integer", "minimum": 0} if converter == "int"
                                  else {"type": "string", "pattern": "^[^/]+$"})
        out.append({"name": name, "in": "path", "required": True, "schema": schema})
    return out


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


def _operation(spec: RouteSpec, method: str) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if spec.status == 204:
        responses["204"] = {"description": "done"}
    elif spec.raw_response:
        responses[str(spec.status)] = {"description": "ok",
                                       "content": {spec.raw_response: {"schema": {
                                           "type": "string"}}}}
    else:
        responses[str(spec.status)] = {"description": "ok", "content": {
            "application/json": {"schema": spec.response}}}
    if spec.tag == "prometheus":
        prom_error = {"description": "Prometheus-style error", "content": {
            "application/json": {"schema": {"type": "object",
                                            "required": ["status", "errorType", "error"]}}}}
        for code in ("400", "422", "503"):
            responses[code] = prom_error
    elif spec.permission is not Permission.PUBLIC or spec.body is not None:
        responses["400"] = _error("invalid request (the error names the field)")
    if spec.permission is not Permission.PUBLIC:
        responses["401"] = _error("not signed in, or the token is unknown")
        responses["429"] = _error("rate limited (Retry-After)")
        responses["503"] = _error("a dependency is down (Retry-After)")
    if spec.permission in (Permission.VIEWER, Permission.EDITOR, Permission.ADMIN):
        responses["403"] = _error("the role (or, for owned resources, the owner) does not "
                                  "allow it")
    if "<" in spec.path or spec.tag in ("catalogue", "query", "admin"):
        responses["404"] = _error("no such resource")
    if spec.tag in ("dashboards", "accounts"):
        responses["409"] = _error("conflict: a stale version (current_version given), "
                                  "or a duplicate name")
    if spec.endpoint == "accounts.login":
        responses["401"] = _error("unknown user or wrong password")
        responses["429"] = _error("too many attempts (Retry-After)")
        responses["503"] = _error("Redis, which holds sessions, is down")
    if spec.tag == "admin":
        responses["503"] = _error("the broker or database does not answer")
    operation: dict[str, Any] = {
        "operationId": spec.endpoint.replace(".", "_") + (
            "" if len(spec.methods) == 1 else "_" + method.lower()),
        "summary": spec.summary, "tags": [spec.tag],
        "x-lookout-permission": spec.permission.value, "responses": responses}
    if spec.owned:
        operation["x-lookout-owned"] = True
    parameters = _path_parameters(spec.path)
    if method == "GET" or not spec.form:
        parameters += list(spec.parameters)
    if parameters:
        operation["parameters"] = parameters
    if spec.body is not None and method != "GET":
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": spec.body}}}
    elif spec.form and method == "POST":
        properties = {p["name"]: p["schema"] for p in spec.parameters}
        operation["requestBody"] = {"content": {"application/x-www-form-urlencoded": {
            "schema": {"type": "object", "properties": properties}}}}
    if spec.permission is not Permission.PUBLIC:
        operation["security"] = [{"session": []}, {"token": []}] + (
            [{}] if spec.permission is Permission.QUERY else [])
    return operation


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for spec in sorted(REGISTRY.values(), key=lambda s: s.path):
        item = paths.setdefault(openapi_path(spec.path), {})
        for method in spec.methods:
            item[method.lower()] = _operation(spec, method)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Lookout query API", "version": __version__,
                 "description": "PromQL and the Prometheus HTTP API, accounts, dashboards "
                                "and administration. x-lookout-permission names who may "
                                "call an operation (public, query, viewer, editor, admin)."},
        "paths": paths,
        "components": {"securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": "lookout_session"},
            "token": {"type": "http", "scheme": "bearer"}}},
    }


@api(bp, "GET", "/api/v1/openapi.json", Permission.PUBLIC,
     "This OpenAPI 3 description", response={"type": "object", "required": ["openapi"]})
def openapi_json() -> Response:
    return jsonify(document())
