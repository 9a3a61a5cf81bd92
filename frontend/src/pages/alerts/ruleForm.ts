// The rule editor's form: what the inputs hold, checked before sending with the same
// rules the alerts API applies (services/alerts/lookout_alerts/rules.py), so a mistake is
// named next to its field at once; the API's own 4xx is still shown when it disagrees.

import { formatDuration, parseDuration } from "./duration";
import type { Condition, NotificationTarget, Rule, RuleBody, Severity, TargetType } from "./types";

export interface KeyValue {
  key: string;
  value: string;
}

export interface RuleForm {
  name: string;
  group: string;
  query: string;
  condition: Condition | "";
  threshold: string;
  forDuration: string;
  keepFiringFor: string;
  severity: Severity;
  enabled: boolean;
  labels: KeyValue[];
  annotations: KeyValue[];
  targets: NotificationTarget[];
  interval: string; // "" = at every evaluation
  limit: string;
}

/** Field name (as in the form: `name`, `labels.2`, `targets.0`) → what is wrong. */
export type FormErrors = Record<string, string>;

export const CONDITIONS: { value: Condition; label: string; operator: string }[] = [
  { value: "gt", label: "above", operator: ">" },
  { value: "lt", label: "below", operator: "<" },
  { value: "eq", label: "equal to", operator: "==" },
  { value: "ne", label: "not equal to", operator: "!=" },
];
export const SEVERITIES: Severity[] = ["info", "warning", "critical"];
export const TARGET_TYPES: TargetType[] = ["email", "webhook", "alertmanager"];

const RULE_NAME = /^[A-Za-z_:][A-Za-z0-9_:]*$/;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED_LABELS = ["alertname", "alertstate", "__name__"];
const EMAIL = /^[^@\s]+@[^@\s]+$/;
const URL_RE = /^https?:\/\/\S+$/;

export function emptyRuleForm(): RuleForm {
  return {
    name: "", group: "default", query: "", condition: "gt", threshold: "", forDuration: "1m",
    keepFiringFor: "0s", severity: "warning", enabled: true, labels: [],
    annotations: [{ key: "summary", value: "" }], targets: [], interval: "", limit: "0",
  };
}

function pairs(map: Record<string, string>): KeyValue[] {
  return Object.entries(map).map(([key, value]) => ({ key, value }));
}

export function ruleToForm(rule: Rule): RuleForm {
  return {
    name: rule.name, group: rule.group, query: rule.query, condition: rule.condition ?? "",
    threshold: rule.threshold === null ? "" : String(rule.threshold),
    forDuration: formatDuration(rule.for), keepFiringFor: formatDuration(rule.keep_firing_for),
    severity: rule.severity, enabled: rule.enabled, labels: pairs(rule.labels),
    annotations: pairs(rule.annotations),
    targets: rule.notification_targets.map((t) => ({ ...t })),
    interval: rule.interval === null ? "" : formatDuration(rule.interval),
    limit: String(rule.limit),
  };
}

function toMap(rows: KeyValue[], field: string, errors: FormErrors, labelNames: boolean
): Record<string, string> {
  const out: Record<string, string> = {};
  rows.forEach((row, i) => {
    const key = row.key.trim();
    // A row without a value is left out (an empty label or annotation means nothing).
    if (row.value === "") return;
    if (key === "") {
      errors[`${field}.${i}`] = "a name is required";
    } else if (labelNames && (!LABEL_NAME.test(key) || RESERVED_LABELS.includes(key))) {
      errors[`${field}.${i}`] = RESERVED_LABELS.includes(key)
        ? `${key} is set by Lookout` : "letters, digits and _, not starting with a digit";
    } else if (key in out) {
      errors[`${field}.${i}`] = `${key} is given twice`;
    } else {
      out[key] = row.value;
    }
  });
  return out;
}

/** The API body of a form, or the errors that stop it from being sent. */
export function validateRuleForm(form: RuleForm): { body: RuleBody | null; errors: FormErrors } {
  const errors: FormErrors = {};
  if (!RULE_NAME.test(form.name)) {
    errors.name = form.name ? "letters, digits, _ and : only (like HighLatency)" : "required";
  }
  if (form.group.trim() === "") errors.group = "required";
  if (form.query.trim() === "") errors.query = "a PromQL expression is required";
  let threshold: number | null = null;
  if (form.condition !== "") {
    const text = form.threshold.trim();
    threshold = text === "" ? NaN : Number(text);
    if (!Number.isFinite(threshold)) errors.threshold = "a number is required with a condition";
  } else if (form.threshold.trim() !== "") {
    errors.threshold = "choose a condition for this threshold, or clear it";
  }
  if (parseDuration(form.forDuration) === null) {
    errors.forDuration = "a duration such as 30s, 5m or 1h30m";
  }
  if (parseDuration(form.keepFiringFor) === null) {
    errors.keepFiringFor = "a duration such as 0s, 5m or 1h";
  }
  const interval = form.interval.trim();
  if (interval !== "" && !parseDuration(interval)) {
    errors.interval = "a positive duration such as 30s or 1m, or empty for every evaluation";
  }
  if (!/^\d+$/.test(form.limit.trim())) errors.limit = "a whole number, 0 for no limit";
  const labels = toMap(form.labels, "labels", errors, true);
  const annotations = toMap(form.annotations, "annotations", errors, false);
  form.targets.forEach((t, i) => {
    const ok = t.type === "email" ? EMAIL.test(t.address) : URL_RE.test(t.address);
    if (!ok) {
      errors[`targets.${i}`] = t.type === "email" ? "an e-mail address" : "an http(s):// URL";
    }
  });
  if (Object.keys(errors).length > 0) return { body: null, errors };
  return {
    errors,
    body: {
      name: form.name, group: form.group.trim(), query: form.query.trim(),
      condition: form.condition === "" ? null : form.condition,
      threshold: form.condition === "" ? null : threshold,
      for: form.forDuration.trim(), keep_firing_for: form.keepFiringFor.trim(),
      severity: form.severity, enabled: form.enabled, labels, annotations,
      notification_targets: form.targets.map((t) => ({ type: t.type, address: t.address.trim() })),
      interval: interval === "" ? null : interval, limit: Number(form.limit.trim()),
    },
  };
}

/** The expression the evaluator runs, as /prometheus/api/v1/rules shows it. */
export function ruleExpression(query: string, condition: Condition | "" | null,
  threshold: number | string | null): string {
  const op = CONDITIONS.find((c) => c.value === condition)?.operator;
  if (!op || threshold === null || threshold === "") return query;
  return `(${query}) ${op} ${threshold}`;
}
