import { describe, expect, it } from "vitest";

import { absoluteRange, describeRange, parseDuration, parseTime, resolveRange, stepFor } from "./time";

const NOW = Date.UTC(2026, 11, 5, 14, 30, 45, 500);

describe("parseTime", () => {
  it("reads relative times with units and rounding", () => {
    expect(parseTime("now", NOW)).toBe(NOW);
    expect(parseTime("now-6h", NOW)).toBe(NOW - 6 * 3_600_000);
    expect(parseTime("now-15m", NOW)).toBe(NOW - 15 * 60_000);
    expect(parseTime("now+1d", NOW)).toBe(NOW + 86_400_000);
    expect(parseTime("now/d", NOW)).toBe(Date.UTC(2026, 11, 5));
    expect(parseTime("now-1d/d", NOW)).toBe(Date.UTC(2026, 11, 4));
    expect(parseTime("now/h", NOW)).toBe(Date.UTC(2026, 11, 5, 14));
  });

  it("reads RFC 3339 and epoch seconds or milliseconds", () => {
    expect(parseTime("2026-12-05T10:00:00Z", NOW)).toBe(Date.UTC(2026, 11, 5, 10));
    expect(parseTime("1764928800", NOW)).toBe(1764928800_000);
    expect(parseTime("1764928800123", NOW)).toBe(1764928800123);
  });

  it("refuses what is not a time", () => {
    expect(parseTime("yesterday", NOW)).toBeNull();
    expect(parseTime("now-6x", NOW)).toBeNull();
    expect(parseTime("", NOW)).toBeNull();
  });
});

describe("resolveRange", () => {
  it("resolves both ends", () => {
    expect(resolveRange({ from: "now-1h", to: "now" }, NOW)).toEqual({ start: NOW - 3_600_000, end: NOW });
  });

  it("names the wrong end, and a start not before the end", () => {
    expect(() => resolveRange({ from: "soon", to: "now" }, NOW)).toThrow(/"soon" is not a time/);
    expect(() => resolveRange({ from: "now", to: "now-1h" }, NOW)).toThrow(/before its end/);
  });

  it("round-trips an absolute range (drag-to-zoom)", () => {
    const r = absoluteRange(NOW - 600_000, NOW - 60_000);
    expect(resolveRange(r, 0)).toEqual({ start: NOW - 600_000, end: NOW - 60_000 });
  });
});

describe("durations and steps", () => {
  it("parses durations, compound ones included", () => {
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("5m")).toBe(300_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("")).toBeNull();
    expect(parseDuration("5 minutes")).toBeNull();
  });

  it("picks a clean step giving about the asked number of points", () => {
    expect(stepFor({ start: 0, end: 3_600_000 }, 300)).toBe(15);
    expect(stepFor({ start: 0, end: 300_000 }, 300)).toBe(1);
    expect(stepFor({ start: 0, end: 7 * 86_400_000 }, 300)).toBe(3600);
  });

  it("names quick ranges", () => {
    expect(describeRange({ from: "now-6h", to: "now" })).toBe("Last 6 hours");
    expect(describeRange({ from: "now-90m", to: "now" })).toBe("now-90m to now");
  });
});
