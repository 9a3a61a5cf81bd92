"""What notifications carry: Alertmanager's webhook payload (version 4), an e-mail, and
the alert list of Alertmanager's ``POST /api/v2/alerts``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from .grouping import AlertNotice, Notification

ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time: what v4 says for "not ended"


def rfc3339(seconds: float | None) -> str:
    if seconds is None:
        return ZERO_TIME
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


def _common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = dict(maps[0])
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


def _alert(a: AlertNotice) -> dict[str, Any]:
    return {"status": a.status, "labels": dict(a.labels), "annotations": dict(a.annotations),
            "startsAt": rfc3339(a.starts_at),
            "endsAt": rfc3339(a.ends_at if a.status == "resolved" else None),
            "generatorURL": a.generator_url, "fingerprint": a.fingerprint}


def webhook_payload(n: Notification, external_url: str, receiver: str = "lookout"
                    ) -> dict[str, Any]:
    return {
        "version": "4", "groupKey": n.group_key, "truncatedAlerts": 0, "status": n.status,
        "receiver": receiver, "groupLabels": dict(n.group_labels),
        "commonLabels": _common([a.labels for a in n.alerts]),
        "commonAnnotations": _common([a.annotations for a in n.alerts]),
        "externalURL": external_url, "alerts": [_alert(a) for a in n.alerts],
    }


def alertmanager_alerts(notices: Sequence[AlertNotice], valid_until: float | None = None
                        ) -> list[dict[str, Any]]:
    """Alertmanager API v2 ``postableAlerts``: a resolved alert ends when it resolved, a
    firing one at ``valid_until`` (unless it is sent again before)."""
    out = []
    for a in notices:
        item: dict[str, Any] = {"labels": dict(a.labels), "annotations": dict(a.annotations),
                                "startsAt": rfc3339(a.starts_at),
                                "generatorURL": a.generator_url}
        ends = a.ends_at if a.status == "resolved" else valid_until
        if ends is not None:
            item["endsAt"] = rfc3339(ends)
        out.append(item)
    return out


def email_message(n: Notification, sender: str, recipient: str, external_url: str
                  ) -> EmailMessage:
    firing = [a for a in n.alerts if a.status == "firing"]
    resolved = [a for a in n.alerts if a.status == "resolved"]
    labels = " ".join(f"{k}={v}" for k, v in sorted(n.group_labels.items()))
    counts = f"{len(firing)} firing" + (f", {len(resolved)} resolved" if resolved else "")
    subject = f"[{n.status.upper()}:{len(firing) or len(resolved)}] {labels} ({counts})"
    lines = []
    for title, alerts in (("Firing", firing), ("Resolved", resolved)):
        if not alerts:
            continue
        lines.append(f"{title}:")
        for a in alerts:
            lines.append("  " + ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items())))
            for k, v in sorted(a.annotations.items()):
                lines.append(f"    {k}: {v}")
            lines.append(f"    since {rfc3339(a.starts_at)}"
                         + (f", until {rfc3339(a.ends_at)}" if a.status == "resolved" else ""))
            lines.append(f"    {a.generator_url}")
        lines.append("")
    lines.append(f"Lookout: {external_url}")
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = recipient
    msg["X-Lookout-Group-Key"] = n.group_key
    msg.set_content("\n".join(lines))
    return msg
