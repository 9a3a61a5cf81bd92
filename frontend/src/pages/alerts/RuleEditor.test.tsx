import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";

import { RuleEditor } from "./RuleEditor";

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status,
    headers: { "Content-Type": "application/json" } });
}

/** fetch as the browser would see it: query and preview calls answered empty, the
 * rule POST answered by `onPost`. */
function stubFetch(onPost: (body: unknown) => Response) {
  const calls: { url: string; method: string; body: unknown }[] = [];
  vi.stubGlobal("fetch", vi.fn(async (url: string, init?: RequestInit) => {
    const method = init?.method ?? "GET";
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ url, method, body });
    if (method === "POST") return onPost(body);
    if (url.startsWith("/prometheus/api/v1/label")) return json(200, { status: "success", data: [] });
    return json(200, { status: "success", data: { resultType: "matrix", result: [] } });
  }));
  return calls;
}

const type = (testId: string, value: string) =>
  fireEvent.change(screen.getByTestId(testId), { target: { value } });

describe("RuleEditor", () => {
  it("names the wrong fields and sends nothing", async () => {
    const calls = stubFetch(() => json(201, {}));
    render(<RuleEditor rule={null} onSaved={vi.fn()} onCancel={vi.fn()} />);
    type("rule-name", "High Latency");
    type("rule-for", "soon");
    fireEvent.click(screen.getByTestId("rule-save"));
    expect(await screen.findByText("letters, digits, _ and : only (like HighLatency)")).toBeTruthy();
    expect(screen.getByText("a PromQL expression is required")).toBeTruthy();
    expect(screen.getByText("a duration such as 30s, 5m or 1h30m")).toBeTruthy();
    expect(calls.filter((c) => c.method === "POST")).toEqual([]);
  });

  it("posts the rule and shows the API's refusal", async () => {
    const calls = stubFetch(() => json(403, { error: { type: "forbidden",
      message: "changing alert rules needs the editor role" } }));
    const onSaved = vi.fn();
    render(<RuleEditor rule={null} onSaved={onSaved} onCancel={vi.fn()} />);
    type("rule-name", "HighLatency");
    type("rule-query", "latency_ms");
    type("rule-threshold", "500");
    fireEvent.click(screen.getByTestId("rule-save"));
    await waitFor(() => expect(screen.getByTestId("rule-save-error").textContent)
      .toBe("Not allowed — changing alert rules needs the editor role"));
    expect(onSaved).not.toHaveBeenCalled();
    const [post] = calls.filter((c) => c.method === "POST");
    expect(post).toEqual({ url: "/api/v1/alerts", method: "POST", body: {
      name: "HighLatency", group: "default", query: "latency_ms", condition: "gt",
      threshold: 500, for: "1m", keep_firing_for: "0s", severity: "warning", enabled: true,
      labels: {}, annotations: {}, notification_targets: [], interval: null, limit: 0 } });
  });
});
