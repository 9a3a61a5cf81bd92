"""Who may change alert rules and silences: the one place that decides.

Reading (rules, history, alerts, silences) is open, like the Prometheus API. Changing
rules, imports and silences calls ``require_rule_editor`` before anything else. Lookout's
accounts (users, roles, API tokens) live in the query service; until the alerts service
checks those credentials, this function admits every caller, so rules and silences are
editable by anyone who can reach the service: keep it behind nginx on a trusted network.
Connecting it to accounts changes this function only.
"""

from __future__ import annotations

from flask import request


def require_rule_editor() -> str:
    """Admit the caller to change rules or silences; returns the name to record as
    creator (the ``X-Lookout-User`` header a front end may pass, else ``anonymous``)."""
    return request.headers.get("X-Lookout-User", "")[:64] or "anonymous"
