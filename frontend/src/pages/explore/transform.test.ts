import { describe, expect, it } from "vitest";

import { autoStep, formatValue, resultToTable, seriesName } from "./transform";

describe("seriesName", () => {
  it("prints the name and sorted labels", () => {
    expect(seriesName({ __name__: "up", job: "query", instance: "a" }))
      .toBe('up{instance="a", job="query"}');
    expect(seriesName({ __name__: "up" })).toBe("up");
    expect(seriesName({ service: "api" })).toBe('{service="api"}');
    expect(seriesName({})).toBe("{}");
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
