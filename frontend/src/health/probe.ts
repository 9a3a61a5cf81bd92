/** Readiness probes of Lookout's services, as the status list shows them. */

export type ServiceState = "up" | "down";

export interface ProbeResult {
  state: ServiceState;
  /** Round trip of the probe, in milliseconds (also when it failed). */
  latencyMs: number;
  /** Why a service counts as down: "HTTP 503", "unreachable", "timed out". */
  detail?: string;
  /** When the probe finished (Date.now()). */
  checkedAt: number;
}

export interface ServiceTarget {
  name: string;
  /** Readiness URL behind the front door, e.g. /health/ingest. */
  url: string;
}

export type Fetcher = (input: string, init?: RequestInit) => Promise<Response>;

export interface ProbeOptions {
  fetcher?: Fetcher;
  timeoutMs?: number;
  /** Monotonic clock in milliseconds; tests pass their own. */
  now?: () => number;
}

/** The services the front door answers readiness for (see infra/nginx). */
export const SERVICES: readonly ServiceTarget[] = [
  { name: "Ingest", url: "/health/ingest" },
  { name: "Query", url: "/health/query" },
  { name: "Alerts", url: "/health/alerts" },
];

/**
 * GET the readiness URL once. A 2xx answer is "up"; any other status, a network
 * error or no answer within the timeout is "down", with the reason in `detail`.
 */
export async function probeService(
  target: ServiceTarget,
  { fetcher = (input, init) => fetch(input, init), timeoutMs = 3000, now = () => performance.now() }: ProbeOptions = {},
): Promise<ProbeResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const started = now();
  const finish = (state: ServiceState, detail?: string): ProbeResult => ({
    state,
    latencyMs: Math.max(0, Math.round(now() - started)),
    checkedAt: Date.now(),
    ...(detail === undefined ? {} : { detail }),
  });
  try {
    const response = await fetcher(target.url, {
      cache: "no-store",
      headers: { Accept: "application/json" },
      signal: controller.signal,
    });
    // Drain the body so the connection can be reused; its content is not needed.
    await response.text().catch(() => "");
    return response.ok ? finish("up") : finish("down", `HTTP ${response.status}`);
  } catch {
    return finish("down", controller.signal.aborted ? "timed out" : "unreachable");
  } finally {
    clearTimeout(timer);
  }
}
