/** The JSON shapes of Lookout's APIs (see docs/api.md, docs/accounts-and-dashboards.md, docs/alerting.md). */

export type Role = "viewer" | "editor" | "admin";

export interface User {
  id: number;
  username: string;
  role: Role;
  disabled?: boolean;
  created_at?: string;
}

export type PanelType = "line" | "area" | "bar" | "gauge" | "stat" | "heatmap" | "table";
export const PANEL_TYPES: readonly PanelType[] = ["line", "area", "bar", "gauge", "stat", "heatmap", "table"];

export interface GridPosition {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Threshold {
  value: number;
  color: string;
}

/** What a panel's `options` object may hold; the server keeps it as given. */
export interface PanelOptions {
  unit?: string;
  decimals?: number;
  min?: number;
  max?: number;
  thresholds?: Threshold[];
  legend?: { show?: boolean; placement?: "bottom" | "right" };
  stacking?: boolean;
  /** Legend format, e.g. "{{service}}". */
  legendFormat?: string;
  /** Heatmap: the label whose values are the rows. */
  rowLabel?: string;
  targets?: { expr: string; legendFormat?: string }[];
  [key: string]: unknown;
}

export interface Panel {
  id: number;
  dashboard_id: number;
  title: string;
  type: PanelType;
  query: string;
  options: PanelOptions;
  position: GridPosition;
  version: number;
}

/** A panel as sent in a dashboard PUT/POST (no ids or versions). */
export interface PanelDraft {
  title: string;
  type: PanelType;
  query: string;
  options: PanelOptions;
  position: GridPosition;
}

export interface Variable {
  name: string;
  type?: string;
  label?: string;
  /** Label values: the label whose values are offered, and optionally the metric. */
  query?: string;
  metric?: string;
  labelName?: string;
  options?: string[];
  current?: string;
  includeAll?: boolean;
  [key: string]: unknown;
}

export interface TimeRangeSpec {
  from: string;
  to: string;
}

export interface DashboardSummary {
  id: number;
  name: string;
  description: string;
  owner: { id: number; username: string } | null;
  layout: Record<string, unknown>;
  variables: Variable[];
  time_range: TimeRangeSpec;
  refresh: string;
  version: number;
  provisioned: boolean;
  created_at: string;
  updated_at: string;
}

export interface Dashboard extends DashboardSummary {
  panels: Panel[];
}

export interface DashboardDraft {
  name: string;
  description?: string;
  layout?: Record<string, unknown>;
  variables?: Variable[];
  time_range?: TimeRangeSpec;
  refresh?: string;
  panels?: PanelDraft[];
  version?: number;
}

export interface ImportReport {
  source?: string;
  panels_converted?: number;
  panels_skipped?: number;
  not_converted?: { where: string; what: string }[];
  warnings?: string[];
  [key: string]: unknown;
}

// --- Prometheus API -----------------------------------------------------------------
export type SampleValue = [number, string];

export interface MatrixSeries {
  metric: Record<string, string>;
  values: SampleValue[];
}

export interface VectorSample {
  metric: Record<string, string>;
  value: SampleValue;
}

export type QueryData =
  | { resultType: "matrix"; result: MatrixSeries[] }
  | { resultType: "vector"; result: VectorSample[] }
  | { resultType: "scalar"; result: SampleValue }
  | { resultType: "string"; result: SampleValue };

export interface PromResponse<T> {
  status: "success" | "error";
  data: T;
  warnings?: string[];
  errorType?: string;
  error?: string;
}

// --- alerts ---------------------------------------------------------------------------
export type AlertState = "inactive" | "pending" | "firing";

export interface SeriesAlert {
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: AlertState | "resolved";
  value: number | null;
  active_at: string | null;
  fired_at: string | null;
  resolved_at: string | null;
  keep_firing_since: string | null;
}

export interface NotificationTarget {
  type: string;
  address: string;
}

export interface AlertRule {
  id: number;
  name: string;
  group: string;
  query: string;
  condition: string;
  threshold: number | null;
  for: number;
  keep_firing_for: number;
  severity: string;
  enabled: boolean;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  notification_targets: NotificationTarget[];
  provisioned: boolean;
  state: AlertState;
  alerts: SeriesAlert[];
}

export type AlertRuleDraft = Partial<
  Omit<AlertRule, "id" | "state" | "alerts" | "provisioned">
> & { name: string; query: string };

export interface AlertEvent {
  id: number;
  rule_id: number;
  fingerprint: string;
  kind: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number | null;
  active_at: string | null;
  fired_at: string | null;
  resolved_at: string | null;
  at: string;
  notification_status: string | null;
  notification_error: string | null;
}
