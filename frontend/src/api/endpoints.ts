/** Typed calls to every Lookout endpoint the UI uses (same origin, through nginx). */
import { api, query, request } from "./http";
import type {
  AlertEvent,
  AlertRule,
  AlertRuleDraft,
  Dashboard,
  DashboardDraft,
  DashboardSummary,
  ImportReport,
  MatrixSeries,
  Panel,
  PanelDraft,
  PromResponse,
  QueryData,
  Role,
  User,
} from "./types";

// --- accounts ---------------------------------------------------------------------------
export const auth = {
  login: (username: string, password: string) =>
    api.post<{ user: User }>("/api/v1/auth/login", { username, password }),
  logout: () => api.post<unknown>("/api/v1/auth/logout"),
  me: () => api.get<{ user: User }>("/api/v1/auth/me"),
};

export interface ApiToken {
  id: number;
  name: string;
  username?: string;
  created_at?: string;
  last_used_at?: string | null;
  token?: string;
  [key: string]: unknown;
}

export const users = {
  list: () => api.get<{ users: User[] }>("/api/v1/users"),
  create: (body: { username: string; password: string; role: Role }) => api.post<User>("/api/v1/users", body),
  update: (id: number, body: { role?: Role; password?: string; disabled?: boolean }) =>
    api.patch<User>(`/api/v1/users/${id}`, body),
  remove: (id: number) => api.delete(`/api/v1/users/${id}`),
};

export const tokens = {
  list: () => api.get<{ tokens: ApiToken[] }>("/api/v1/tokens"),
  create: (name: string, username?: string) =>
    api.post<ApiToken>("/api/v1/tokens", username === undefined ? { name } : { name, username }),
  revoke: (id: number) => api.delete(`/api/v1/tokens/${id}`),
};

// --- dashboards ---------------------------------------------------------------------------
export const dashboards = {
  list: () => api.get<{ dashboards: DashboardSummary[] }>("/api/v1/dashboards"),
  get: (id: number, signal?: AbortSignal) => api.get<Dashboard>(`/api/v1/dashboards/${id}`, signal),
  create: (draft: DashboardDraft) => api.post<Dashboard>("/api/v1/dashboards", draft),
  /** `draft.version` is the version that was read: a stale save is a 409 ApiError. */
  save: (id: number, draft: DashboardDraft & { version: number }) =>
    api.put<Dashboard>(`/api/v1/dashboards/${id}`, draft),
  remove: (id: number) => api.delete(`/api/v1/dashboards/${id}`),
  exportJson: (id: number) => api.get<Record<string, unknown>>(`/api/v1/dashboards/${id}/export`),
  /** Lookout dashboard JSON or a Grafana dashboard (or its `{"dashboard": ...}` wrapper). */
  importJson: (document: unknown) =>
    api.post<{ dashboard: Dashboard; report: ImportReport }>("/api/v1/dashboards/import", document),
  addPanel: (id: number, panel: PanelDraft) => api.post<Panel>(`/api/v1/dashboards/${id}/panels`, panel),
  updatePanel: (panelId: number, panel: PanelDraft & { version: number }) =>
    api.put<Panel>(`/api/v1/panels/${panelId}`, panel),
  removePanel: (panelId: number) => api.delete(`/api/v1/panels/${panelId}`),
};

// --- queries -------------------------------------------------------------------------------
async function prometheus<T>(path: string, form: URLSearchParams, signal?: AbortSignal): Promise<T> {
  const answer = await request<PromResponse<T>>("POST", `/prometheus/api/v1/${path}`, {
    form,
    ...(signal === undefined ? {} : { signal }),
  });
  return answer.data;
}

function form(params: Record<string, string | number | readonly string[] | undefined>): URLSearchParams {
  return new URLSearchParams(query(params).slice(1));
}

export const prom = {
  /** Range query; times in unix seconds, step in seconds. */
  queryRange: (q: string, start: number, end: number, step: number, signal?: AbortSignal) =>
    prometheus<{ resultType: "matrix"; result: MatrixSeries[] }>(
      "query_range",
      form({ query: q, start, end, step }),
      signal,
    ),
  query: (q: string, time?: number, signal?: AbortSignal) =>
    prometheus<QueryData>("query", form({ query: q, time }), signal),
  labelNames: (match?: readonly string[], signal?: AbortSignal) =>
    prometheus<string[]>("labels", form({ "match[]": match }), signal),
  labelValues: (name: string, match?: readonly string[], signal?: AbortSignal) =>
    api.get<PromResponse<string[]>>(
      `/prometheus/api/v1/label/${encodeURIComponent(name)}/values${query({ "match[]": match })}`,
      signal,
    ).then((r) => r.data),
  series: (match: readonly string[], start?: number, end?: number) =>
    prometheus<Record<string, string>[]>("series", form({ "match[]": match, start, end })),
  metadata: () =>
    api.get<PromResponse<Record<string, { type: string; help: string; unit: string }[]>>>(
      "/prometheus/api/v1/metadata",
    ).then((r) => r.data),
};

export const catalogue = {
  metrics: () => api.get<{ metrics: { name: string; series: number }[] }>("/api/v1/metrics"),
  tags: (name: string) =>
    api.get<{ metric: string; tags: Record<string, string[]> }>(`/api/v1/metrics/${encodeURIComponent(name)}/tags`),
};

// --- alerts -----------------------------------------------------------------------------------
export const alerts = {
  list: () => api.get<{ alerts: AlertRule[] }>("/api/v1/alerts"),
  get: (id: number) => api.get<AlertRule>(`/api/v1/alerts/${id}`),
  create: (rule: AlertRuleDraft) => api.post<AlertRule>("/api/v1/alerts", rule),
  replace: (id: number, rule: AlertRuleDraft) => api.put<AlertRule>(`/api/v1/alerts/${id}`, rule),
  patch: (id: number, fields: Partial<AlertRuleDraft>) => api.patch<AlertRule>(`/api/v1/alerts/${id}`, fields),
  remove: (id: number) => api.delete(`/api/v1/alerts/${id}`),
  history: (id: number, limit = 100) =>
    api.get<{ events: AlertEvent[] }>(`/api/v1/alerts/${id}/history${query({ limit })}`),
  importRuleFile: (yaml: string) => request<unknown>("POST", "/api/v1/alerts/import", { text: yaml }),
};
