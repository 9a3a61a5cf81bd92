// Same-origin JSON requests (the session cookie goes along) for the explore, alerts and
// admin pages, and the errors they end in: every API's error body is read so the page can
// say what the server said — Lookout's {"error": {"type", "message"}}, the Prometheus
// API's {"status": "error", "errorType", "error"}, or nginx's page when a service is down.

export class HttpError extends Error {
  readonly status: number;
  readonly type: string;

  constructor(status: number, type: string, message: string) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.type = type;
  }

  /** What to show: the server's message, prefixed by what the status means to a user. */
  get display(): string {
    if (this.status === 401) return `Sign in required — ${this.message}`;
    if (this.status === 403) return `Not allowed — ${this.message}`;
    if (this.status === 0) return this.message;
    return `${this.message} (HTTP ${this.status})`;
  }
}

/** The message of anything a request may throw. */
export function errorText(error: unknown): string {
  if (error instanceof HttpError) return error.display;
  if (error instanceof Error) return error.message;
  return String(error);
}

export function errorFromBody(status: number, statusText: string, body: unknown): HttpError {
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    const e = b.error;
    if (e && typeof e === "object") {
      const { type, message } = e as Record<string, unknown>;
      return new HttpError(status, String(type ?? "error"), String(message ?? statusText));
    }
    if (typeof e === "string") return new HttpError(status, String(b.errorType ?? "error"), e);
  }
  const fallback = status === 502 || status === 504
    ? "the service behind the front door does not answer" : statusText || "request failed";
  return new HttpError(status, "http", fallback);
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  signal?: AbortSignal;
}

/** JSON from `path` (same origin, with credentials); throws HttpError on a non-2xx. */
export async function requestJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(options.query ?? {})) {
    if (v !== undefined) params.set(k, String(v));
  }
  const url = params.size ? `${path}?${params}` : path;
  const init: RequestInit = {
    method: options.method ?? "GET",
    credentials: "same-origin",
    headers: { Accept: "application/json",
      ...(options.body !== undefined ? { "Content-Type": "application/json" } : {}) },
  };
  if (options.body !== undefined) init.body = JSON.stringify(options.body);
  if (options.signal) init.signal = options.signal;
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new HttpError(0, "network", "the server cannot be reached — is Lookout running?");
  }
  const text = await response.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!response.ok) throw errorFromBody(response.status, response.statusText, body);
  return body as T;
}
