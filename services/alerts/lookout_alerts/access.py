"""Who may call what in the alerts API: every route's permission in one registry, the
``before_request`` hook that enforces it, and the ownership check of rules.

Lookout's accounts (users, roles, sessions in Redis, API tokens) belong to the query
service. The alerts service asks it who a caller is: ``GET {QUERY_URL}/api/v1/auth/me``
with the caller's session cookie and ``Authorization`` header, as the caller sent them.
One implementation decides what a valid session or token is (revocation, disabled
users, token bookkeeping), and the alerts service needs neither Redis nor the
password/session code. A positive answer is cached for ``ALERTS_AUTH_CACHE_S`` (5 s)
under a SHA-256 of the credentials, so a revoked session or token may still change
rules for at most that long; refusals are never cached. When the query service does
not answer within ``ALERTS_AUTH_TIMEOUT_S`` a change is refused with 503 (nothing is
ever let through because accounts could not be checked).

Permissions:

- ``public``: health and /metrics;
- ``read``: rules, history, silences, Prometheus's rules and alerts. Open to anyone
  unless ``ALERTS_AUTH_REQUIRED=true`` (the alerts API's ``QUERY_AUTH_REQUIRED``), then
  any signed-in user;
- ``editor``: creating rules, importing rule files, creating, changing and expiring
  silences — editors and admins. Changing or deleting a rule also needs ownership: an
  editor only their own rules, an admin every rule. Rules without an owner (the
  provisioned defaults, rules from before owners existed) are the admins'.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

import requests
from flask import Flask, current_app, g, request
from prometheus_client import Counter

from lookout_common.errors import Forbidden, ServiceUnavailable, Unauthorized

from .rules import AlertRule
from .settings import AlertsSettings

SESSION_COOKIE = "lookout_session"  # the query service's session cookie
ROLE_RANK = {"viewer": 1, "editor": 2, "admin": 3}
CACHE_SIZE = 1024

AUTH_CHECKS = Counter("alerts_auth_checks_total", "Callers of changes checked with the query "
                      "service, by outcome (cached, ok, refused, unavailable)", ["outcome"])


class Permission(StrEnum):
    PUBLIC = "public"
    READ = "read"
    EDITOR = "editor"


# Every route of the alerts app, by Flask endpoint: the one place that says who may call it.
ROUTES: dict[str, Permission] = {
    "health.live": Permission.PUBLIC,
    "health.ready": Permission.PUBLIC,
    "metrics.metrics": Permission.PUBLIC,
    "alerts_api.list_rules": Permission.READ,
    "alerts_api.get_rule": Permission.READ,
    "alerts_api.rule_history": Permission.READ,
    "alerts_api.list_silences": Permission.READ,
    "alerts_api.get_silence": Permission.READ,
    "alerts_api.prometheus_alerts": Permission.READ,
    "alerts_api.prometheus_rules": Permission.READ,
    "alerts_api.create_rule": Permission.EDITOR,
    "alerts_api.update_rule": Permission.EDITOR,  # and owner (or admin)
    "alerts_api.delete_rule": Permission.EDITOR,  # and owner (or admin)
    "alerts_api.import_rule_file": Permission.EDITOR,  # and owner of what it replaces
    "alerts_api.create_silence": Permission.EDITOR,
    "alerts_api.update_silence": Permission.EDITOR,
    "alerts_api.delete_silence": Permission.EDITOR,
}
OWNED = frozenset({"alerts_api.update_rule", "alerts_api.delete_rule",
                   "alerts_api.import_rule_file"})


@dataclass(frozen=True)
class Caller:
    user_id: int
    username: str
    role: str

    def at_least(self, role: str) -> bool:
        return ROLE_RANK.get(self.role, 0) >= ROLE_RANK[role]


class AccountsClient:
    """The query service's ``/api/v1/auth/me``, with a short cache of positive answers."""

    def __init__(self, settings: AlertsSettings) -> None:
        self.url = settings.query_url.rstrip("/") + "/api/v1/auth/me"
        self.timeout = settings.alerts_auth_timeout_s
        self.cache_s = settings.alerts_auth_cache_s
        self.session = requests.Session()
        self._cache: dict[str, tuple[float, Caller]] = {}
        self._lock = threading.Lock()

    def caller(self, cookie: str | None, authorization: str | None) -> Caller | None:
        """Who presents these credentials; None when there are none. Raises
        ``Unauthorized`` for credentials the query service refuses and
        ``ServiceUnavailable`` when it cannot say."""
        if not cookie and not authorization:
            return None
        key = hashlib.sha256(f"{authorization or ''}\0{cookie or ''}".encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] > now:
                AUTH_CHECKS.labels("cached").inc()
                return hit[1]
        headers = {"Authorization": authorization} if authorization else {}
        cookies = {SESSION_COOKIE: cookie} if cookie else {}
        try:
            r = self.session.get(self.url, headers=headers, cookies=cookies,
                                 timeout=self.timeout)
        except requests.RequestException as exc:
            AUTH_CHECKS.labels("unavailable").inc()
            raise ServiceUnavailable(
                "accounts are unavailable: the query service (which checks sessions and "
                f"API tokens) does not answer at {self.url}; try again shortly") from exc
        if r.status_code == 401:
            AUTH_CHECKS.labels("refused").inc()
            raise Unauthorized(_message(r, "the session or API token is not valid"))
        if r.status_code != 200:
            AUTH_CHECKS.labels("unavailable").inc()
            raise ServiceUnavailable(
                f"accounts are unavailable: the query service answered {r.status_code} "
                f"({_message(r, 'no details')}); try again shortly")
        try:
            user = r.json()["user"]
            found = Caller(int(user["id"]), str(user["username"]), str(user["role"]))
        except (ValueError, KeyError, TypeError) as exc:
            AUTH_CHECKS.labels("unavailable").inc()
            raise ServiceUnavailable("accounts are unavailable: the query service's answer "
                                     "to /api/v1/auth/me is not a user") from exc
        AUTH_CHECKS.labels("ok").inc()
        if self.cache_s > 0:
            with self._lock:
                if len(self._cache) >= CACHE_SIZE:
                    self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
                    if len(self._cache) >= CACHE_SIZE:
                        self._cache.clear()
                self._cache[key] = (now + self.cache_s, found)
        return found


def _message(r: requests.Response, default: str) -> str:
    try:
        return str(r.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return default


def install_access(app: Flask, settings: AlertsSettings) -> None:
    app.extensions["lookout.alerts.accounts"] = AccountsClient(settings)
    app.before_request(enforce_permission)


def _client() -> AccountsClient:
    return current_app.extensions["lookout.alerts.accounts"]  # type: ignore[no-any-return]


def _credentials_caller() -> Caller | None:
    return _client().caller(request.cookies.get(SESSION_COOKIE),
                            request.headers.get("Authorization") or None)


def enforce_permission() -> None:
    """``before_request``: apply the route's declared permission."""
    if request.endpoint is None:
        return  # 404 / 405 follow from routing
    permission = ROUTES.get(request.endpoint)
    if permission is None:
        raise Forbidden(f"route {request.endpoint} declares no permission")
    g.caller = None
    if permission is Permission.PUBLIC:
        return
    if permission is Permission.READ:
        settings: AlertsSettings = current_app.extensions["lookout.alerts.settings"]
        if settings.alerts_auth_required:
            g.caller = _credentials_caller()
            if g.caller is None:
                raise Unauthorized("ALERTS_AUTH_REQUIRED is set: sign in or present an API "
                                   "token to read alerts")
        return
    caller = _credentials_caller()
    if caller is None:
        raise Unauthorized("changing alert rules and silences needs a signed-in editor: sign "
                           "in (POST /api/v1/auth/login) or present an API token")
    if not caller.at_least("editor"):
        raise Forbidden(f"this needs the editor role; {caller.username} is {caller.role}")
    g.caller = caller


def require_editor() -> Caller:
    """The caller of a change (the hook has admitted an editor or admin)."""
    caller: Caller | None = g.get("caller")
    if caller is None:  # a route declared wrongly: refuse rather than admit
        raise Forbidden("this change needs an editor")
    return caller


def check_owner(caller: Caller, rule: AlertRule) -> None:
    """Admins change every rule; editors only their own."""
    if caller.role == "admin" or (rule.owner_id is not None
                                  and rule.owner_id == caller.user_id):
        return
    whose = ("provisioned (no owner)" if rule.owner_id is None and rule.provisioned else
             "without an owner" if rule.owner_id is None else
             f"owned by {rule.owner_name or rule.owner_id}")
    raise Forbidden(f"alert rule {rule.id} ({rule.name}) is {whose}; only its owner or an "
                    "admin may change it")
