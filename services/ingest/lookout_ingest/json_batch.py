"""The JSON batch format of ``POST /api/v1/metrics``.

A JSON array of ``{"name", "value", "labels" | "tags", "timestamp"?}`` objects. The
whole request is accepted or none of it: every item is checked and the first
problems are reported with the item's index and the rule it broke.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from lookout_common.errors import ValidationFailed
from lookout_common.series import (
    RuleBroken,
    Sample,
    check_timestamp_window,
    check_value,
    parse_timestamp_ms,
    series_key,
)

ITEM_FIELDS = frozenset({"name", "value", "labels", "tags", "timestamp"})
MAX_REPORTED_ERRORS = 20


def parse_json_batch(body: bytes, now_ms: int) -> list[Sample]:
    doc = _load_json(body)
    if not isinstance(doc, list):
        raise ValidationFailed(
            f"request body must be a JSON array of samples, got a JSON {_json_type(doc)}"
        )
    samples: list[Sample] = []
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(doc):
        try:
            samples.append(parse_item(item, now_ms))
        except RuleBroken as exc:
            problems.append({"index": index, "field": exc.field, "message": exc.message})
            if len(problems) >= MAX_REPORTED_ERRORS:
                break
    if problems:
        first = problems[0]
        raise ValidationFailed(
            f"item {first['index']}: {first['field']}: {first['message']}"
            + (f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else "")
            + "; nothing in this request was accepted",
            index=first["index"],
            field=first["field"],
            errors=problems,
        )
    return samples


def _load_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        error = exc
    # orjson refuses invalid UTF-8 anywhere in the document. Read it once more keeping
    # the bad bytes as lone surrogates, so the item and field holding them are named.
    try:
        return json.loads(body.decode("utf-8", "surrogateescape"))
    except ValueError:
        raise ValidationFailed(f"request body is not valid JSON: {error}") from None


def parse_item(item: object, now_ms: int) -> Sample:
    if not isinstance(item, dict):
        raise RuleBroken("item", f"each item must be a JSON object, got a JSON {_json_type(item)}")
    unknown = sorted(set(item) - ITEM_FIELDS)
    if unknown:
        raise RuleBroken(
            unknown[0],
            f"unknown field {unknown[0]!r} (allowed: name, value, labels or tags, timestamp)",
        )
    if "name" not in item:
        raise RuleBroken("name", "field 'name' is required")
    if "value" not in item:
        raise RuleBroken("value", "field 'value' is required")
    if "labels" in item and "tags" in item:
        raise RuleBroken("tags", "give either 'labels' or 'tags', not both")
    label_field = "tags" if "tags" in item else "labels"
    key = series_key(item["name"], item.get(label_field), labels_field=label_field)
    value = check_value(item["value"])
    if item.get("timestamp") is None:
        ts_ms = now_ms
    else:
        ts_ms = check_timestamp_window(parse_timestamp_ms(item["timestamp"]), now_ms)
    return Sample(key, ts_ms, value)


def _json_type(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )
