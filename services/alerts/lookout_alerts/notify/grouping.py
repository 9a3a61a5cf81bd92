"""Alert groups and when they are due, with Alertmanager's timers; pure (time passed in).

Alerts going to the same target with the same values of the ``group_by`` labels form a
group. A new group waits ``group_wait`` before its first notification (so alerts that
start together arrive together); after that, a change (an alert added, firing again or
resolved) is sent no sooner than ``group_interval`` after the previous notification, and
an unchanged group with firing alerts is sent again every ``repeat_interval``. Resolved
alerts leave the group once their resolution has been sent; an empty group is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ..rules import NotificationTarget


@dataclass(frozen=True)
class AlertNotice:
    """An alert as notifications describe it. Times are unix seconds."""

    fingerprint: str
    rule_id: int
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    status: str  # firing | resolved
    starts_at: float
    ends_at: float | None
    generator_url: str
    event_id: int | None = None  # the event (alert_events row) this notice reports, if new


@dataclass(frozen=True)
class Notification:
    target: NotificationTarget
    group_key: str
    group_labels: Mapping[str, str]
    alerts: Sequence[AlertNotice]
    # The events this notification reports (whose notification status it decides).
    event_ids: tuple[int, ...] = ()

    @property
    def status(self) -> str:
        return "firing" if any(a.status == "firing" for a in self.alerts) else "resolved"


@dataclass
class _Group:
    target: NotificationTarget
    labels: dict[str, str]
    created_at: float
    alerts: dict[str, AlertNotice] = field(default_factory=dict)
    # Per alert, the events not notified yet (fired and resolved within one wait: both).
    unsent: dict[str, list[int]] = field(default_factory=dict)
    last_sent_at: float | None = None
    changed: bool = True


def group_key(target: NotificationTarget, labels: Mapping[str, str]) -> str:
    """Alertmanager's form, ``{route}:{group labels}``; the route names the target."""
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f'{{}}/{{target="{target.key()}"}}:{{{inner}}}'



@dataclass(frozen=True)
class DueBatch:
    notifications: list[Notification]
    silenced_event_ids: list[int]


class AlertGroups:
    def __init__(self, group_by: Sequence[str], group_wait_s: float, group_interval_s: float,
                 repeat_interval_s: float) -> None:
        self.group_by = list(group_by)
        self.group_wait_s = group_wait_s
        self.group_interval_s = group_interval_s
        self.repeat_interval_s = repeat_interval_s
        self._groups: dict[str, _Group] = {}

    def add(self, target: NotificationTarget, notice: AlertNotice, now: float) -> None:
        """A new or changed alert (firing, or resolved) for ``target``."""
        labels = {k: notice.labels.get(k, "") for k in self.group_by}
        key = group_key(target, labels)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(target, labels, now)
        previous = group.alerts.get(notice.fingerprint)
        group.alerts[notice.fingerprint] = notice
        if notice.event_id is not None:
            group.unsent.setdefault(notice.fingerprint, []).append(notice.event_id)
        if previous is None or previous.status != notice.status or notice.event_id is not None:
            group.changed = True

    def due(self, now: float, muted: Callable[[Mapping[str, str]], bool]) -> DueBatch:
        """The notifications to send at ``now``; those groups count as sent."""
        out: list[Notification] = []
        silenced: list[int] = []
        for key, group in list(self._groups.items()):
            if not self._is_due(group, now):
                continue
            audible = [a for a in group.alerts.values() if not muted(a.labels)]
            reported = [i for a in audible for i in group.unsent.get(a.fingerprint, [])]
            silenced += [i for a in group.alerts.values() if muted(a.labels)
                         for i in group.unsent.get(a.fingerprint, [])]
            if audible:
                out.append(Notification(group.target, key, dict(group.labels),
                                        sorted(audible, key=lambda a: a.fingerprint),
                                        tuple(sorted(reported))))
            group.last_sent_at, group.changed = now, False
            group.unsent = {}
            group.alerts = {fp: a for fp, a in group.alerts.items() if a.status == "firing"}
            if not group.alerts:
                del self._groups[key]
        return DueBatch(out, silenced)

    def _is_due(self, group: _Group, now: float) -> bool:
        if group.last_sent_at is None:
            return now >= group.created_at + self.group_wait_s
        if group.changed:
            return now >= group.last_sent_at + self.group_interval_s
        return now >= group.last_sent_at + self.repeat_interval_s

    def __len__(self) -> int:
        return len(self._groups)
