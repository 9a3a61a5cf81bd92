// Requests of the explore, alerts and admin pages go through the shell's API client
// (src/api/http.ts: same origin with the session cookie, a 401 tells the auth store);
// this module adds query strings and the words shown for its errors.

import { ApiError, request } from "../../api/http";

export { ApiError };

/** What to show for anything a request may throw: the server's own message, prefixed
 * by what the status means to a user. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 401) return `Sign in required — ${error.message}`;
    if (error.status === 403) return `Not allowed — ${error.message}`;
    if (error.status === 0) return `${error.message} — is Lookout running?`;
    if (error.status === 502 || error.status === 504) {
      return `The service behind the front door does not answer (HTTP ${error.status})`;
    }
    if (error.message === `HTTP ${error.status}`) return error.message;
    return `${error.message} (HTTP ${error.status})`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  signal?: AbortSignal;
}

/** JSON from `path`; throws ApiError on a non-2xx answer or none. */
export function requestJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(options.query ?? {})) {
    if (v !== undefined) params.set(k, String(v));
  }
  const url = params.size ? `${path}?${params}` : path;
  return request<T>(options.method ?? "GET", url, {
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}
