import { describe, expect, it } from "vitest";

import { insideBraces, suggest, wordAt } from "./promqlWords";

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
