// The alerts API (services/alerts): rules, history, silences, and Prometheus's alert list.

import { requestJson } from "./http";
import type { HistoryEvent, Matcher, PrometheusAlert, Rule, RuleBody, Silence } from "./types";

export const alertsApi = {
  rules: (signal?: AbortSignal) =>
    requestJson<{ alerts: Rule[] }>("/api/v1/alerts", signal ? { signal } : {})
      .then((r) => r.alerts),
  rule: (id: number, signal?: AbortSignal) =>
    requestJson<Rule>(`/api/v1/alerts/${id}`, signal ? { signal } : {}),
  createRule: (body: RuleBody) =>
    requestJson<Rule>("/api/v1/alerts", { method: "POST", body }),
  updateRule: (id: number, body: RuleBody) =>
    requestJson<Rule>(`/api/v1/alerts/${id}`, { method: "PUT", body }),
  setEnabled: (id: number, enabled: boolean) =>
    requestJson<Rule>(`/api/v1/alerts/${id}`, { method: "PATCH", body: { enabled } }),
  deleteRule: (id: number) => requestJson<null>(`/api/v1/alerts/${id}`, { method: "DELETE" }),
  history: (id: number, limit = 200, signal?: AbortSignal) =>
    requestJson<{ events: HistoryEvent[] }>(`/api/v1/alerts/${id}/history`,
      { query: { limit }, ...(signal ? { signal } : {}) }).then((r) => r.events),
  silences: (signal?: AbortSignal) =>
    requestJson<{ silences: Silence[] }>("/api/v1/silences", signal ? { signal } : {})
      .then((r) => r.silences),
  createSilence: (body: { matchers: Matcher[]; startsAt: string; endsAt: string;
    comment: string }) => requestJson<Silence>("/api/v1/silences", { method: "POST", body }),
  expireSilence: (id: number) =>
    requestJson<null>(`/api/v1/silences/${id}`, { method: "DELETE" }),
  active: (signal?: AbortSignal) =>
    requestJson<{ status: string; data: { alerts: PrometheusAlert[] } }>(
      "/prometheus/api/v1/alerts", signal ? { signal } : {}).then((r) => r.data.alerts),
};
