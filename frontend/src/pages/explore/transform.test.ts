import { describe, expect, it } from "vitest";

import { autoStep, formatValue, matrixToChart, resultToTable, seriesName } from "./transform";

describe("seriesName", () => {
  it("prints the name and sorted labels", () => {
    expect(seriesName({ __name__: "up", job: "query", instance: "a" }))
      .toBe('up{instance="a", job="query"}');
    expect(seriesName({ __name__: "up" })).toBe("up");
    expect(seriesName({ service: "api" })).toBe('{service="api"}');
    expect(seriesName({})).toBe("{}");
  });
});

describe("matrixToChart", () => {
  it("joins series on time, null where a series has no sample or no finite value", () => {
    const { series, rows } = matrixToChart({ resultType: "matrix", result: [
      { metric: { __name__: "x", s: "a" }, values: [[10, "1"], [20, "2"], [30, "NaN"]] },
      { metric: { __name__: "x", s: "b" }, values: [[20, "5"], [40, "+Inf"], [5, "7"]] },
    ] });
    expect(series.map((s) => [s.key, s.name])).toEqual([["s0", 'x{s="a"}'], ["s1", 'x{s="b"}']]);
    expect(rows).toEqual([
      { t: 5000, s0: null, s1: 7 }, { t: 10000, s0: 1, s1: null }, { t: 20000, s0: 2, s1: 5 },
      { t: 30000, s0: null, s1: null }, { t: 40000, s0: null, s1: null },
    ]);
  });

  it("draws an instant vector or a scalar as points", () => {
    expect(matrixToChart({ resultType: "vector", result: [
      { metric: { a: "1" }, value: [100, "3"] }, { metric: { a: "2" }, value: [100, "4"] },
    ] }).rows).toEqual([{ t: 100000, s0: 3, s1: 4 }]);
    expect(matrixToChart({ resultType: "scalar", result: [100, "2.5"] }).rows)
      .toEqual([{ t: 100000, s0: 2.5 }]);
  });
});

describe("resultToTable", () => {
  it("gives a range's last sample and how many there were", () => {
    expect(resultToTable({ resultType: "matrix", result: [
      { metric: { __name__: "x" }, values: [[1, "1"], [2, "9"]] },
    ] })).toEqual([{ name: "x", metric: { __name__: "x" }, value: 9, text: "9", time: 2000,
      points: 2 }]);
  });

  it("keeps the text of values that are not finite", () => {
    const [row] = resultToTable({ resultType: "vector", result: [
      { metric: { __name__: "x" }, value: [1, "-Inf"] }] });
    expect(row).toMatchObject({ value: null, text: "-Inf" });
  });
});

describe("autoStep and formatValue", () => {
  it("rounds the step up to a nice one", () => {
    expect(autoStep(3600)).toBe(15);
    expect(autoStep(300)).toBe(1);
    expect(autoStep(7 * 86400)).toBe(3600);
    expect(autoStep(400 * 86400)).toBe(172800);
  });
  it("shortens big and small numbers", () => {
    expect(formatValue(1234)).toBe("1.23k");
    expect(formatValue(2_500_000)).toBe("2.5M");
    expect(formatValue(0.5)).toBe("0.5");
    expect(formatValue(0.0001)).toBe("1.00e-4");
    expect(formatValue(null)).toBe("—");
    expect(formatValue(0)).toBe("0");
  });
});
