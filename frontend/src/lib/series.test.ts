import { describe, expect, it } from "vitest";

import type { MatrixSeries } from "../api/types";
import { dataToSeries, downsample, downsampleRows, matrixToSeries, reduce, seriesName, seriesToCsv, seriesToJson, seriesToRows } from "./series";

const MATRIX: MatrixSeries[] = [
  { metric: { __name__: "latency_ms", service: "api" }, values: [[1700000000, "12.5"], [1700000015, "13"], [1700000030, "NaN"]] },
  { metric: { __name__: "latency_ms", service: "auth" }, values: [[1700000015, "+Inf"], [1700000030, "4"]] },
];

describe("Prometheus results to series", () => {
  it("names series by their labels or a legend template", () => {
    expect(seriesName({ __name__: "up", job: "query", instance: "a:1" })).toBe('up{instance="a:1", job="query"}');
    expect(seriesName({ __name__: "up" })).toBe("up");
    expect(seriesName({})).toBe("{}");
    expect(seriesName({ service: "api", code: "500" }, "{{service}} ({{ code }})")).toBe("api (500)");
  });

  it("turns a matrix into series of [ms, value] with special values read", () => {
    const [api, auth] = matrixToSeries(MATRIX, "{{service}}");
    expect(api!.name).toBe("api");
    expect(api!.points.slice(0, 2)).toEqual([[1700000000000, 12.5], [1700000015000, 13]]);
    expect(Number.isNaN(api!.points[2]![1])).toBe(true);
    expect(auth!.points[0]).toEqual([1700000015000, Infinity]);
  });

  it("turns instant vectors and scalars into one-point series", () => {
    const v = dataToSeries({ resultType: "vector", result: [{ metric: { a: "1" }, value: [1700000000, "2"] }] });
    expect(v[0]!.points).toEqual([[1700000000000, 2]]);
    const s = dataToSeries({ resultType: "scalar", result: [1700000000, "3"] });
    expect(s[0]!.points).toEqual([[1700000000000, 3]]);
  });

  it("merges series into rows by time, missing and non-finite values as null", () => {
    const rows = seriesToRows(matrixToSeries(MATRIX));
    expect(rows).toEqual([
      { t: 1700000000000, s0: 12.5 },
      { t: 1700000015000, s0: 13, s1: null },
      { t: 1700000030000, s0: null, s1: 4 },
    ]);
  });

  it("reduces to last, mean, max and min over the finite values", () => {
    const [api] = matrixToSeries(MATRIX);
    expect(reduce(api!.points, "last")).toBe(13);
    expect(reduce(api!.points, "mean")).toBe(12.75);
    expect(reduce(api!.points, "max")).toBe(13);
    expect(reduce([], "last")).toBeNull();
  });
});

describe("downsampling for drawing", () => {
  const long = Array.from({ length: 10_000 }, (_, i) => [1700000000 + i, String(Math.sin(i / 50))] as [number, string]);
  const many: MatrixSeries[] = Array.from({ length: 50 }, (_, s) => ({ metric: { s: String(s) }, values: long }));

  it("cuts each long series by LTTB", () => {
    const out = downsample(matrixToSeries(many), 800);
    expect(out.every((s) => s.points.length === 800)).toBe(true);
  });

  it("keeps a shared time axis with every series' shape when cutting rows", () => {
    const series = matrixToSeries(many);
    const rows = seriesToRows(series);
    const cut = downsampleRows(rows, series.map((s) => s.key), 1000);
    expect(cut.length).toBeLessThan(rows.length / 2);
    expect(cut[0]).toBe(rows[0]);
    expect(cut.at(-1)).toBe(rows.at(-1));
    for (let i = 1; i < cut.length; i++) expect(cut[i]!.t).toBeGreaterThan(cut[i - 1]!.t);
  });
});

describe("exports", () => {
  it("writes CSV with a time column and quoted names", () => {
    const csv = seriesToCsv(matrixToSeries(MATRIX));
    const lines = csv.trim().split("\n");
    expect(lines[0]).toBe('time,"latency_ms{service=""api""}","latency_ms{service=""auth""}"');
    expect(lines[1]).toBe("2023-11-14T22:13:20.000Z,12.5,");
    expect(lines[3]).toBe("2023-11-14T22:13:50.000Z,,4");
  });

  it("writes JSON with labels and null for non-finite values", () => {
    const parsed = JSON.parse(seriesToJson(matrixToSeries(MATRIX)));
    expect(parsed[1].labels.service).toBe("auth");
    expect(parsed[1].points[0]).toEqual([1700000015000, null]);
  });
});
