import { render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";

import { probeService, type Fetcher } from "../health/probe";
import { ServiceStatusList } from "./ServiceStatusList";

const SERVICES = [
  { name: "Ingest", url: "/health/ingest" },
  { name: "Query", url: "/health/query" },
];

function row(name: string): HTMLElement {
  const item = screen.getByText(name).closest("li");
  if (item === null) throw new Error(`no row for ${name}`);
  return item;
}

describe("ServiceStatusList", () => {
  it("shows each service up or down with its latency", async () => {
    const fetcher = vi.fn<Fetcher>(async (url) =>
      url === "/health/ingest"
        ? new Response('{"status": "ready"}', { status: 200 })
        : new Response('{"status": "not ready"}', { status: 503 }),
    );
    render(<ServiceStatusList services={SERVICES} fetcher={fetcher} />);

    expect(row("Ingest").dataset.state).toBe("checking");
    await waitFor(() => expect(row("Ingest").dataset.state).toBe("up"));
    await waitFor(() => expect(row("Query").dataset.state).toBe("down"));
    expect(within(row("Ingest")).getByText(/^\d+ ms$/)).toBeTruthy();
    expect(within(row("Query")).getByText(/^HTTP 503 · \d+ ms$/)).toBeTruthy();
    expect(fetcher.mock.calls.map(([url]) => url).sort()).toEqual(["/health/ingest", "/health/query"]);
  });

  it("reports a service that cannot be reached", async () => {
    const fetcher = vi.fn<Fetcher>(async () => {
      throw new TypeError("Failed to fetch");
    });
    render(<ServiceStatusList services={SERVICES.slice(0, 1)} fetcher={fetcher} />);

    await waitFor(() => expect(row("Ingest").dataset.state).toBe("down"));
    expect(within(row("Ingest")).getByText(/^unreachable · \d+ ms$/)).toBeTruthy();
  });

  it("probes again every interval and shows the latest answer", async () => {
    let healthy = false;
    const fetcher = vi.fn<Fetcher>(async () => new Response("", { status: healthy ? 200 : 503 }));
    render(<ServiceStatusList services={SERVICES.slice(0, 1)} fetcher={fetcher} intervalMs={30} />);

    await waitFor(() => expect(row("Ingest").dataset.state).toBe("down"));
    healthy = true;
    await waitFor(() => expect(row("Ingest").dataset.state).toBe("up"));
    expect(fetcher.mock.calls.length).toBeGreaterThanOrEqual(2);
  });
});

describe("probeService", () => {
  it("gives up after the timeout", async () => {
    const fetcher: Fetcher = (_url, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
      });
    const result = await probeService({ name: "Query", url: "/health/query" }, { fetcher, timeoutMs: 10 });
    expect(result).toMatchObject({ state: "down", detail: "timed out" });
  });

  it("measures the round trip with the given clock", async () => {
    const clock = [100, 142];
    const result = await probeService(
      { name: "Ingest", url: "/health/ingest" },
      { fetcher: async () => new Response("ok"), now: () => clock.shift() ?? 0 },
    );
    expect(result).toMatchObject({ state: "up", latencyMs: 42 });
    expect(result.detail).toBeUndefined();
  });
});
