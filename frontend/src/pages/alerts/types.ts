// The alerts API's shapes (services/alerts/lookout_alerts/api.py, rules.py, silences.py).

export type Condition = "gt" | "lt" | "eq" | "ne";
export type Severity = "info" | "warning" | "critical";
export type TargetType = "email" | "webhook" | "alertmanager";
export type AlertState = "inactive" | "pending" | "firing" | "resolved";

export interface NotificationTarget {
  type: TargetType;
  address: string;
}

/** What POST/PUT /api/v1/alerts accept. */
export interface RuleBody {
  name: string;
  group: string;
  query: string;
  condition: Condition | null;
  threshold: number | null;
  for: string;
  keep_firing_for: string;
  severity: Severity;
  enabled: boolean;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  notification_targets: NotificationTarget[];
  interval: string | null; // evaluate at most this often; null: every evaluation
  limit: number; // more alerts than this from one evaluation fail the rule; 0: no limit
}

export interface SeriesAlert {
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: AlertState;
  value: number | null;
  active_at: string | null;
  fired_at: string | null;
  resolved_at: string | null;
  keep_firing_since: string | null;
}

/** A rule as GET /api/v1/alerts[/<id>] returns it. */
export interface Rule {
  id: number;
  name: string;
  group: string;
  query: string;
  condition: Condition | null;
  threshold: number | null;
  for: number;
  keep_firing_for: number;
  severity: Severity;
  enabled: boolean;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  notification_targets: NotificationTarget[];
  provisioned: boolean;
  interval: number | null;
  limit: number;
  owner: { id: number; username: string | null } | null; // null: the admins' rule
  state: "inactive" | "pending" | "firing";
  alerts: SeriesAlert[];
}

export interface HistoryEvent {
  id: number;
  rule_id: number;
  fingerprint: string;
  kind: "firing" | "resolved";
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number | null;
  active_at: string | null;
  fired_at: string | null;
  resolved_at: string | null;
  at: string | null;
  notification_status: string;
  notification_error: string | null;
}

export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

export interface Silence {
  id: number;
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  status: { state: "active" | "pending" | "expired" };
}

/** One alert of /prometheus/api/v1/alerts. */
export interface PrometheusAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: "pending" | "firing";
  activeAt: string;
  value: string;
  keepFiringSince?: string;
}
