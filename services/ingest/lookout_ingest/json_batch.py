"""The JSON batch format of ``POST /api/v1/metrics``.

A JSON array of ``{"name", "value", "labels" | "tags", "timestamp"?}`` objects. The
whole request is accepted or none of it: every item is checked and the first
problems are reported with the item's index and the rule it broke.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import orjson

from lookout_common.codec import SampleBatch
from lookout_common.errors import ValidationFailed
from lookout_common.series import (
    MS_THRESHOLD,
    RuleBroken,
    SeriesKey,
    SeriesKeyCache,
    check_timestamp_window,
    check_value,
    parse_timestamp_ms,
)

ITEM_FIELDS = frozenset({"name", "value", "labels", "tags", "timestamp"})
MAX_REPORTED_ERRORS = 20
_series = SeriesKeyCache()


def parse_json_batch(body: bytes, now_ms: int) -> SampleBatch:
    doc = _load_json(body)
    if not isinstance(doc, list):
        raise ValidationFailed(
            f"request body must be a JSON array of samples, got a JSON {_json_type(doc)}"
        )
    positions: dict[SeriesKey, int] = {}
    index_column: list[int] = []
    time_column: list[int] = []
    value_column: list[float] = []
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(doc):
        try:
            key, ts_ms, value = parse_item(item, now_ms)
        except RuleBroken as exc:
            problems.append({"index": index, "field": exc.field, "message": exc.message})
            if len(problems) >= MAX_REPORTED_ERRORS:
                break
            continue
        index_column.append(positions.setdefault(key, len(positions)))
        time_column.append(ts_ms)
        value_column.append(value)
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
    return SampleBatch(
        list(positions),
        np.array(index_column, dtype=np.int32),
        np.array(time_column, dtype=np.int64),
        np.array(value_column, dtype=np.float64),
    )


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


def parse_item(item: object, now_ms: int) -> tuple[SeriesKey, int, float]:
    if not isinstance(item, dict):
        raise RuleBroken("item", f"each item must be a JSON object, got a JSON {_json_type(item)}")
    if not item.keys() <= ITEM_FIELDS:
        unknown = sorted(set(item) - ITEM_FIELDS)[0]
        raise RuleBroken(
            unknown, f"unknown field {unknown!r} (allowed: name, value, labels or tags, timestamp)"
        )
    if "name" not in item:
        raise RuleBroken("name", "field 'name' is required")
    if "value" not in item:
        raise RuleBroken("value", "field 'value' is required")
    if "tags" in item:
        if "labels" in item:
            raise RuleBroken("tags", "give either 'labels' or 'tags', not both")
        key = _series.get(item["name"], item["tags"], "tags")
    else:
        key = _series.get(item["name"], item.get("labels"))
    value = item["value"]
    if type(value) is not float:  # the common case needs no further checks
        value = check_value(value)
    ts = item.get("timestamp")
    if ts is None:
        ts_ms = now_ms
    elif type(ts) is int and ts >= MS_THRESHOLD:  # unix milliseconds, the common case
        ts_ms = check_timestamp_window(ts, now_ms)
    else:
        ts_ms = check_timestamp_window(parse_timestamp_ms(ts), now_ms)
    return key, ts_ms, value


def _json_type(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )
