import { describe, expect, it } from "vitest";

import { completionContext, filterWords, insideBraces, suggest, wordAt } from "./promqlWords";

describe("query box completion", () => {
  it("finds the word at the cursor", () => {
    expect(wordAt("sum(rate(lat", 12)).toEqual({ start: 9, word: "lat" });
    expect(wordAt("rate(x[5m]) ", 12)).toEqual({ start: 12, word: "" });
    expect(wordAt("x[5m", 4)).toEqual({ start: 4, word: "" }); // 5m is not an identifier
  });

  it("knows when the cursor is among label matchers", () => {
    expect(insideBraces('up{job="a', 9)).toBe(true);
    expect(insideBraces('up{job="}"} + x', 15)).toBe(false);
  });

  it("suggests prefix matches first, then substrings, without the word itself", () => {
    const words = suggest("rate", ["latency_ms", "rate_limit_hits", "error_rate_percent"])
      .map((s) => `${s.kind}:${s.word}`);
    expect(words).toEqual(["metric:rate_limit_hits", "metric:error_rate_percent",
      "function:irate"]);
    expect(suggest("", ["x"])).toEqual([]);
  });
});

describe("completionContext", () => {
  it("completes words outside braces", () => {
    expect(completionContext("sum(rate(lat", 12)).toEqual({ kind: "word", start: 9, prefix: "lat" });
    expect(completionContext("x + ", 4)).toEqual({ kind: "none" });
  });

  it("completes label names after the brace or a comma, knowing the metric", () => {
    expect(completionContext("latency_ms{", 11))
      .toEqual({ kind: "label", start: 11, prefix: "", metric: "latency_ms" });
    const text = 'rate(http_total{code="200", meth';
    expect(completionContext(text, text.length))
      .toEqual({ kind: "label", start: 28, prefix: "meth", metric: "http_total" });
    expect(completionContext("{ser", 4)).toEqual({ kind: "label", start: 1, prefix: "ser", metric: null });
  });

  it("completes a label's values inside the quotes", () => {
    const text = 'latency_ms{service=~"ap';
    expect(completionContext(text, text.length)).toEqual(
      { kind: "value", start: 21, prefix: "ap", metric: "latency_ms", label: "service" });
    const comma = 'up{job="a,b", instance="';
    expect(completionContext(comma, comma.length)).toEqual(
      { kind: "value", start: comma.length, prefix: "", metric: "up", label: "instance" });
  });

  it("filters plain word lists", () => {
    expect(filterWords(["api", "auth", "cache", "rapid"], "a")).toEqual(["api", "auth", "cache", "rapid"]);
    expect(filterWords(["api", "auth", "rapid"], "ap")).toEqual(["api", "rapid"]);
  });
});
