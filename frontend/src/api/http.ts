/** Same-origin JSON requests to Lookout's services through nginx, with typed errors. */

export interface ApiErrorBody {
  type: string;
  message: string;
  field?: string;
  current_version?: number;
  [key: string]: unknown;
}

/** A non-2xx answer (or no answer): the HTTP status, and the `{"error": {...}}` it carried. */
export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly body: ApiErrorBody;

  constructor(status: number, body: ApiErrorBody) {
    super(body.message);
    this.name = "ApiError";
    this.status = status;
    this.type = body.type;
    this.body = body;
  }
}

/** Called on every 401 so the auth store can forget a session that expired. */
let onUnauthorized: (() => void) | null = null;
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

function errorOf(status: number, payload: unknown): ApiErrorBody {
  if (typeof payload === "object" && payload !== null) {
    const p = payload as Record<string, unknown>;
    // Lookout's shape {"error": {"type", "message"}}; Prometheus's {"errorType", "error"}.
    if (typeof p.error === "object" && p.error !== null) return p.error as ApiErrorBody;
    if (typeof p.error === "string")
      return { type: typeof p.errorType === "string" ? p.errorType : "error", message: p.error };
  }
  return { type: "http_error", message: `HTTP ${status}` };
}

export interface RequestOptions {
  body?: unknown;
  /** Form fields (POST x-www-form-urlencoded), for the Prometheus API. */
  form?: URLSearchParams;
  signal?: AbortSignal;
  /** Sent as text, e.g. a YAML rule file. */
  text?: string;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  let body: BodyInit | undefined;
  if (options.form !== undefined) {
    body = options.form;
  } else if (options.text !== undefined) {
    headers["Content-Type"] = "text/plain";
    body = options.text;
  } else if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      ...(body === undefined ? {} : { body }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, { type: "unreachable", message: `${method} ${path}: the server did not answer` });
  }
  if (response.status === 204) return undefined as T;
  const textBody = await response.text();
  let payload: unknown = null;
  if (textBody !== "") {
    try {
      payload = JSON.parse(textBody);
    } catch {
      payload = null;
    }
  }
  if (!response.ok) {
    if (response.status === 401 && onUnauthorized !== null) onUnauthorized();
    throw new ApiError(response.status, errorOf(response.status, payload));
  }
  return payload as T;
}

export const api = {
  get: <T>(path: string, signal?: AbortSignal) => request<T>("GET", path, signal === undefined ? {} : { signal }),
  post: <T>(path: string, body?: unknown) => request<T>("POST", path, { body }),
  put: <T>(path: string, body: unknown) => request<T>("PUT", path, { body }),
  patch: <T>(path: string, body: unknown) => request<T>("PATCH", path, { body }),
  delete: <T = void>(path: string) => request<T>("DELETE", path),
};

/** "?a=1&b=2" from the defined entries (arrays repeat the key). */
export function query(params: Record<string, string | number | readonly string[] | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) search.append(key, String(v));
    else search.set(key, String(value));
  }
  const s = search.toString();
  return s === "" ? "" : `?${s}`;
}
