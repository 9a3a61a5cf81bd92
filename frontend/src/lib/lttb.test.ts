import { describe, expect, it } from "vitest";

import { lttb } from "./lttb";

describe("lttb", () => {
  it("keeps short series as they are", () => {
    const points: [number, number][] = [[0, 1], [1, 2], [2, 3]];
    expect(lttb(points, 10)).toEqual(points);
  });

  it("cuts to the threshold, keeping the first and last points and the order", () => {
    const points = Array.from({ length: 10_000 }, (_, i): [number, number] => [i, Math.sin(i / 100)]);
    const out = lttb(points, 500);
    expect(out).toHaveLength(500);
    expect(out[0]).toEqual(points[0]);
    expect(out[499]).toEqual(points[9_999]);
    for (let i = 1; i < out.length; i++) expect(out[i]![0]).toBeGreaterThan(out[i - 1]![0]);
  });

  it("keeps a lone spike that averaging would flatten", () => {
    const points = Array.from({ length: 1_000 }, (_, i): [number, number] => [i, i === 537 ? 100 : 0]);
    const out = lttb(points, 50);
    expect(out.some(([x, y]) => x === 537 && y === 100)).toBe(true);
  });

  it("cuts 50 series of 10,000 points to 1,000 points each", () => {
    const series = Array.from({ length: 50 }, (_, s) =>
      Array.from({ length: 10_000 }, (_, i): [number, number] => [i * 1000, Math.sin(i / (s + 10)) * s]),
    );
    const out = series.map((p) => lttb(p, 1000));
    expect(out.every((p) => p.length === 1000)).toBe(true);
  });
});
