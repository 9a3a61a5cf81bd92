import { describe, expect, it } from "vitest";

import { applySuggestion, completionContext, rankSuggestions } from "./autocomplete";

const at = (text: string) => completionContext(text.replace("|", ""), text.indexOf("|"));

describe("completionContext", () => {
  it("offers metric names and functions at the top level", () => {
    expect(at("lat|")).toEqual({ kind: "metric", prefix: "lat", from: 0 });
    expect(at("sum(rate(http_req|")).toEqual({ kind: "metric", prefix: "http_req", from: 9 });
    expect(at("a + b|")).toMatchObject({ kind: "metric", prefix: "b" });
  });

  it("offers label names inside braces, with the metric they belong to", () => {
    expect(at("latency_ms{|")).toEqual({ kind: "label-name", prefix: "", from: 11, metric: "latency_ms" });
    expect(at('latency_ms{service="api", ho|')).toMatchObject({ kind: "label-name", prefix: "ho", metric: "latency_ms" });
    expect(at("{ser|")).toEqual({ kind: "label-name", prefix: "ser", from: 1 });
  });

  it("offers label names in by (...) and without (...)", () => {
    expect(at("sum by (serv|")).toMatchObject({ kind: "label-name", prefix: "serv" });
    expect(at("max without (|) (x)")).toMatchObject({ kind: "label-name", prefix: "" });
  });

  it("offers label values inside the quotes after a matcher", () => {
    expect(at('latency_ms{service="a|')).toEqual({ kind: "label-value", prefix: "a", from: 20, label: "service", metric: "latency_ms" });
    expect(at('up{job=~"que|')).toMatchObject({ kind: "label-value", label: "job", prefix: "que" });
  });

  it("offers nothing inside durations, numbers or plain strings", () => {
    expect(at("rate(x[5|")).toEqual({ kind: "none" });
    expect(at("x > 10|")).toEqual({ kind: "none" });
    expect(at('label_replace(x, "ds|')).toEqual({ kind: "none" });
  });
});

describe("suggestions", () => {
  it("ranks prefix matches before substring matches, metrics and functions together", () => {
    const out = rankSuggestions({ kind: "metric", prefix: "rate", from: 0 }, { metrics: ["error_rate_percent", "rate_limit_total"] });
    expect(out.map((s) => s.label)).toEqual(["rate_limit_total", "rate", "error_rate_percent", "irate"]);
    expect(out[1]!.insert).toBe("rate(");
  });

  it("leaves out __name__ from label names and escapes quotes in values", () => {
    expect(rankSuggestions({ kind: "label-name", prefix: "", from: 0 }, { labels: ["__name__", "service"] }).map((s) => s.label)).toEqual(["service"]);
    expect(rankSuggestions({ kind: "label-value", prefix: "", from: 0, label: "x" }, { values: ['a"b'] })[0]!.insert).toBe('a\\"b');
  });

  it("replaces the whole word under the cursor", () => {
    const text = "latency_m + 1";
    const ctx = completionContext(text, 5);
    expect(applySuggestion(text, 5, ctx, { label: "latency_ms", kind: "metric", insert: "latency_ms" })).toEqual({ text: "latency_ms + 1", cursor: 10 });
    const v = 'up{job="qu"}';
    const vctx = completionContext(v, 10);
    expect(applySuggestion(v, 10, vctx, { label: "query", kind: "value", insert: "query" }).text).toBe('up{job="query"}');
  });
});
