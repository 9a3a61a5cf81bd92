import { describe, expect, it } from "vitest";

import { formatValue, normalizeThresholds, thresholdColor } from "./format";

describe("formatValue", () => {
  it("formats units", () => {
    expect(formatValue(12.345, "ms")).toBe("12.3 ms");
    expect(formatValue(2460, "ms")).toBe("2.46 s");
    expect(formatValue(0.25, "s")).toBe("250 ms");
    expect(formatValue(97.34, "percent")).toBe("97.3%");
    expect(formatValue(0.5, "percentunit")).toBe("50.0%");
    expect(formatValue(1590, "reqps")).toBe("1.59K req/s");
    expect(formatValue(2048, "bytes")).toBe("2.00 KiB");
    expect(formatValue(3.14159, "", 2)).toBe("3.14");
  });

  it("shows missing and infinite values", () => {
    expect(formatValue(null)).toBe("–");
    expect(formatValue(NaN)).toBe("–");
    expect(formatValue(Infinity)).toBe("+Inf");
  });
});

describe("thresholds", () => {
  it("reads Lookout's list and Grafana's steps, base first", () => {
    const grafana = normalizeThresholds({ mode: "absolute", steps: [{ color: "green", value: null }, { color: "red", value: 10 }, { color: "orange", value: 5 }] });
    expect(grafana.map((t) => t.value)).toEqual([-Infinity, 5, 10]);
    expect(normalizeThresholds([{ value: 1, color: "#123456" }])).toEqual([{ value: 1, color: "#123456" }]);
    expect(normalizeThresholds("nonsense")).toEqual([]);
  });

  it("colours a value by the highest threshold it reaches", () => {
    const t = normalizeThresholds({ steps: [{ color: "green", value: null }, { color: "orange", value: 5 }, { color: "red", value: 10 }] });
    expect(thresholdColor(1, t)).toBe("#22c55e");
    expect(thresholdColor(5, t)).toBe("#f97316");
    expect(thresholdColor(50, t)).toBe("#ef4444");
    expect(thresholdColor(null, t, "grey")).toBe("grey");
  });
});
