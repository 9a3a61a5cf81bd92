"""Alert groups and when they are due, with Alertmanager's timers; pure (time passed in).

Alerts going to the same target with the same values of the ``group_by`` labels form a
group. A new group waits ``group_wait`` before its first notification (so alerts that
start together arrive together); after that, a change (an alert added, firing again or
resolved) is sent no sooner than ``group_interval`` after the previous notification, and
an unchanged group with firing alerts is sent again every ``repeat_interval``. Resolved
alerts leave the group once their resolution has been sent; an empty group is dropped.

Each notification leaves a ``GroupRecord`` (the group's times and the alerts it carried
with their status) for the evaluator to store; a restarted evaluator ``restore``s them,
so its groups keep their timers and alerts already notified are not notified again
before ``repeat_interval`` (Alertmanager's notification log plays this part).
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
    # fingerprint -> the status ("firing" / "resolved") the last notification carried
    notified: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupRecord:
    """What outlives the process: a group's timers and what it last notified."""

    key: str
    target: NotificationTarget
    labels: Mapping[str, str]
    created_at: float
    last_sent_at: float | None
    notified: Mapping[str, str]


def group_key(target: NotificationTarget, labels: Mapping[str, str]) -> str:
    """Alertmanager's form, ``{route}:{group labels}``; the route names the target."""
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f'{{}}/{{target="{target.key()}"}}:{{{inner}}}'



@dataclass(frozen=True)
class DueBatch:
    notifications: list[Notification]
    silenced_event_ids: list[int]
    # Groups notified now (to store) and groups that ended (to forget).
    sent: list[GroupRecord] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)


class AlertGroups:
    def __init__(self, group_by: Sequence[str], group_wait_s: float, group_interval_s: float,
                 repeat_interval_s: float) -> None:
        self.group_by = list(group_by)
        self.group_wait_s = group_wait_s
        self.group_interval_s = group_interval_s
        self.repeat_interval_s = repeat_interval_s
        self._groups: dict[str, _Group] = {}

    def restore(self, records: Sequence[GroupRecord]) -> None:
        """Groups as a previous process left them: their timers and what they notified
        (their alerts are added again by the caller)."""
        for r in records:
            self._groups[r.key] = _Group(r.target, dict(r.labels), r.created_at,
                                         last_sent_at=r.last_sent_at, changed=False,
                                         notified=dict(r.notified))

    def prune_empty(self) -> list[str]:
        """Drop groups left without alerts (restored ones whose alerts are gone)."""
        empty = [k for k, g in self._groups.items() if not g.alerts]
        for k in empty:
            del self._groups[k]
        return empty

    def key_of(self, target: NotificationTarget, labels: Mapping[str, str]) -> str:
        return group_key(target, {k: labels.get(k, "") for k in self.group_by})

    def notified_status(self, target: NotificationTarget, notice: AlertNotice) -> str | None:
        """The status of ``notice``'s alert in its group's last notification, if any."""
        group = self._groups.get(self.key_of(target, notice.labels))
        return None if group is None else group.notified.get(notice.fingerprint)

    def add(self, target: NotificationTarget, notice: AlertNotice, now: float) -> None:
        """A new or changed alert (firing, or resolved) for ``target``."""
        labels = {k: notice.labels.get(k, "") for k in self.group_by}
        key = group_key(target, labels)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(target, labels, now)
        previous = group.alerts.get(notice.fingerprint)
        before = previous.status if previous is not None else group.notified.get(
            notice.fingerprint)
        group.alerts[notice.fingerprint] = notice
        if notice.event_id is not None:
            group.unsent.setdefault(notice.fingerprint, []).append(notice.event_id)
        if before != notice.status or notice.event_id is not None:
            group.changed = True

    def due(self, now: float, muted: Callable[[Mapping[str, str]], bool]) -> DueBatch:
        """The notifications to send at ``now``; those groups count as sent."""
        out: list[Notification] = []
        silenced: list[int] = []
        sent: list[GroupRecord] = []
        ended: list[str] = []
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
            group.notified = {fp: a.status for fp, a in group.alerts.items()}
            group.alerts = {fp: a for fp, a in group.alerts.items() if a.status == "firing"}
            if group.alerts:
                sent.append(GroupRecord(key, group.target, group.labels, group.created_at,
                                        now, dict(group.notified)))
            else:
                del self._groups[key]
                ended.append(key)
        return DueBatch(out, silenced, sent, ended)

    def _is_due(self, group: _Group, now: float) -> bool:
        if group.last_sent_at is None:
            return now >= group.created_at + self.group_wait_s
        if group.changed:
            return now >= group.last_sent_at + self.group_interval_s
        return now >= group.last_sent_at + self.repeat_interval_s

    def __len__(self) -> int:
        return len(self._groups)
