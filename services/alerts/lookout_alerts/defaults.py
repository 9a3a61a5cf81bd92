"""The rules provisioned at first start: the demo's threshold table (the producer's
``services_demo.THRESHOLDS``), a warning and a critical rule per metric, per service."""

from __future__ import annotations

from collections.abc import Sequence

from .rules import AlertRule, parse_rule

# metric, rule name, condition, warning, critical, unit for the summary
DEFAULT_THRESHOLDS: tuple[tuple[str, str, str, float, float, str], ...] = (
    ("latency_ms", "HighLatency", "gt", 500, 1000, " ms"),
    ("error_rate_percent", "HighErrorRate", "gt", 5, 10, " %"),
    ("cpu_percent", "HighCpuUsage", "gt", 80, 95, " %"),
    ("memory_percent", "HighMemoryUsage", "gt", 80, 95, " %"),
    ("throughput_rps", "LowThroughput", "lt", 100, 50, " req/s"),
)
DEFAULT_FOR = "1m"


def default_rules(targets: Sequence[dict[str, str]] = ()) -> list[AlertRule]:
    rules = []
    for metric, name, condition, warning, critical, unit in DEFAULT_THRESHOLDS:
        word = "above" if condition == "gt" else "below"
        for severity, threshold in (("warning", warning), ("critical", critical)):
            rules.append(parse_rule({
                "name": name, "group": "lookout-demo", "query": metric,
                "condition": condition, "threshold": threshold, "for": DEFAULT_FOR,
                "severity": severity, "notification_targets": list(targets),
                "annotations": {
                    "summary": f"{metric} of {{{{ $labels.service }}}} is {word} "
                               f"{threshold:g}{unit}",
                    "description": f"{metric} is {{{{ $value }}}}{unit} on service "
                                   f"{{{{ $labels.service }}}} ({severity} threshold "
                                   f"{threshold:g}{unit}).",
                },
            }))
    return [AlertRule(**{**r.__dict__, "provisioned": True}) for r in rules]
