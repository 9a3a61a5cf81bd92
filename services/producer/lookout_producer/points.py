"""One sample as the producer builds it, and its shape in the JSON ingest format."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class MetricPoint:
    name: str
    labels: Mapping[str, str]
    value: float
    timestamp_ms: int

    def as_json(self) -> dict[str, Any]:
        """The item of ``POST /api/v1/metrics``: timestamp in unix milliseconds."""
        return {
            "name": self.name,
            "labels": dict(self.labels),
            "value": self.value,
            "timestamp": self.timestamp_ms,
        }
