"""Silences: label matchers and a time window that mute notifications.

Matchers take Alertmanager's form ``{"name", "value", "isRegex", "isEqual"}``; a regex
is anchored at both ends, as in Alertmanager. A silence mutes an alert whose labels
match every matcher while ``starts_at <= now < ends_at``; the alert's state and events
carry on as if there were none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lookout_common.errors import ValidationFailed


@dataclass(frozen=True)
class Matcher:
    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.is_regex:
            hit = re.fullmatch(self.value, actual) is not None
        else:
            hit = actual == self.value
        return hit == self.is_equal

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "isRegex": self.is_regex,
                "isEqual": self.is_equal}


@dataclass(frozen=True)
class Silence:
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str = ""
    id: int | None = None

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        return self.active(now) and all(m.matches(labels) for m in self.matchers)

    def to_json(self, now: datetime) -> dict[str, Any]:
        state = "active" if self.active(now) else (
            "pending" if now < self.starts_at else "expired")
        return {"id": self.id, "matchers": [m.to_json() for m in self.matchers],
                "startsAt": self.starts_at.isoformat(), "endsAt": self.ends_at.isoformat(),
                "createdBy": self.created_by, "comment": self.comment,
                "status": {"state": state}}


def is_muted(labels: Mapping[str, str], silences: Sequence[Silence], now: datetime) -> bool:
    return any(s.mutes(labels, now) for s in silences)


def _time(value: object, name: str, default: datetime | None) -> datetime:
    if value is None and default is not None:
        return default
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValidationFailed(f"{name}: expected an RFC 3339 time", field=name)


def parse_silence(body: object, now: datetime, creator_default: str = "anonymous") -> Silence:
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object", field="body")
    raw = body.get("matchers")
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed("matchers: a non-empty list is required", field="matchers")
    matchers = []
    for i, m in enumerate(raw):
        where = f"matchers[{i}]"
        if not isinstance(m, dict) or not isinstance(m.get("name"), str) or not m["name"]:
            raise ValidationFailed(f"{where}.name: required", field=f"{where}.name")
        if not isinstance(m.get("value"), str):
            raise ValidationFailed(f"{where}.value: required string", field=f"{where}.value")
        is_regex = m.get("isRegex", False)
        is_equal = m.get("isEqual", True)
        if not isinstance(is_regex, bool) or not isinstance(is_equal, bool):
            raise ValidationFailed(f"{where}.isRegex/isEqual: expected true or false",
                                   field=f"{where}.isRegex")
        if is_regex:
            try:
                re.compile(m["value"])
            except re.error as exc:
                raise ValidationFailed(f"{where}.value: bad regex ({exc})",
                                       field=f"{where}.value") from exc
        matchers.append(Matcher(m["name"], m["value"], is_regex, is_equal))
    starts_at = _time(body.get("startsAt"), "startsAt", now)
    ends_at = _time(body.get("endsAt"), "endsAt", None)
    if ends_at <= starts_at:
        raise ValidationFailed("endsAt: must be after startsAt", field="endsAt")
    creator = body.get("createdBy", creator_default)
    comment = body.get("comment", "")
    if not isinstance(creator, str) or not creator:
        raise ValidationFailed("createdBy: expected a non-empty string", field="createdBy")
    if not isinstance(comment, str):
        raise ValidationFailed("comment: expected a string", field="comment")
    return Silence(tuple(matchers), starts_at, ends_at, creator, comment)
