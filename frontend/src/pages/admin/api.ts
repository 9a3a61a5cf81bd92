// The query service's admin API: users, API tokens (accounts/routes.py), statistics,
// health and the dead-letter queue (admin.py). Admins only: others get the API's 403.

import { requestJson } from "../alerts/http";

export type Role = "viewer" | "editor" | "admin";
export const ROLES: Role[] = ["viewer", "editor", "admin"];

export interface User {
  id: number;
  username: string;
  role: Role;
  disabled: boolean;
  created_at: string;
}

export interface Token {
  id: number;
  name: string;
  username: string;
  created_at: string;
  last_used_at: string | null;
  revoked: boolean;
  token?: string; // only in the answer that created it
}

export interface Stats {
  series: number;
  samples: number;
  ingest_rate_per_s: number;
  queue_depth: Record<string, number> | null;
  database_bytes: number;
  cache_hit_rate: number | null;
  cache_scope: string;
}

export interface Dependency {
  status: "ok" | "down";
  latency_ms: number;
  error?: string;
}

export interface Health {
  status: "ok" | "degraded";
  version: string;
  uptime_s: number;
  dependencies: Record<string, Dependency>;
}

export interface DeadLetter {
  message_id: string;
  reason: string;
  summary: string;
  bytes: number;
  content_type: string | null;
  published_at: string | null;
  headers?: Record<string, string>;
}

export interface Outcome {
  done: (string | null)[]; // the ids of the messages acted on
  kept: number; // messages left in the queue
}

type Selection = { message_ids: string[] } | { all: true };
const withSignal = (signal?: AbortSignal) => (signal ? { signal } : {});

export const adminApi = {
  users: (signal?: AbortSignal) =>
    requestJson<{ users: User[] }>("/api/v1/users", withSignal(signal)).then((r) => r.users),
  createUser: (body: { username: string; password: string; role: Role }) =>
    requestJson<User>("/api/v1/users", { method: "POST", body }),
  changeUser: (id: number, body: { role?: Role; password?: string; disabled?: boolean }) =>
    requestJson<User>(`/api/v1/users/${id}`, { method: "PATCH", body }),
  deleteUser: (id: number) => requestJson<null>(`/api/v1/users/${id}`, { method: "DELETE" }),
  tokens: (signal?: AbortSignal) =>
    requestJson<{ tokens: Token[] }>("/api/v1/tokens", withSignal(signal)).then((r) => r.tokens),
  createToken: (body: { name: string; username?: string }) =>
    requestJson<Token>("/api/v1/tokens", { method: "POST", body }),
  revokeToken: (id: number) => requestJson<null>(`/api/v1/tokens/${id}`, { method: "DELETE" }),
  stats: (signal?: AbortSignal) => requestJson<Stats>("/api/v1/admin/stats", withSignal(signal)),
  health: (signal?: AbortSignal) =>
    requestJson<Health>("/api/v1/admin/health", withSignal(signal)),
  deadLetters: (limit = 100, signal?: AbortSignal) =>
    requestJson<{ count: number; messages: DeadLetter[] }>("/api/v1/admin/dlq",
      { query: { limit }, ...withSignal(signal) }),
  deadLetter: (id: string) =>
    requestJson<DeadLetter>(`/api/v1/admin/dlq/${encodeURIComponent(id)}`),
  replay: (selection: Selection) =>
    requestJson<Outcome>("/api/v1/admin/dlq/replay", { method: "POST", body: selection }),
  purge: (selection: Selection) =>
    requestJson<Outcome>("/api/v1/admin/dlq/purge", { method: "POST", body: selection }),
};

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function formatUptime(seconds: number): string {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}
