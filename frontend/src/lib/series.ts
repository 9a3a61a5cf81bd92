/** Prometheus results → what the charts draw: named series of [ms, value] points, rows, CSV. */
import type { MatrixSeries, QueryData } from "../api/types";
import { lttb } from "./lttb";

export type Point = [number, number];

export interface Series {
  /** Stable key for chart data ("s0", "s1", ...). */
  key: string;
  name: string;
  labels: Record<string, string>;
  /** [epoch ms, value]; NaN marks a missing or non-finite value. */
  points: Point[];
}

export function sampleValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  const v = Number(text);
  return Number.isNaN(v) ? NaN : v;
}

/** `{{label}}` legend templates, or the series' labels as PromQL writes them. */
export function seriesName(metric: Record<string, string>, legendFormat?: string): string {
  if (legendFormat !== undefined && legendFormat.trim() !== "") {
    return legendFormat.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_, name: string) => metric[name] ?? "");
  }
  const name = metric.__name__ ?? "";
  const labels = Object.entries(metric)
    .filter(([k]) => k !== "__name__")
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v}"`);
  if (labels.length === 0) return name === "" ? "{}" : name;
  return `${name}{${labels.join(", ")}}`;
}

export function matrixToSeries(result: readonly MatrixSeries[], legendFormat?: string): Series[] {
  return result.map((s, i) => ({
    key: `s${i}`,
    name: seriesName(s.metric, legendFormat),
    labels: s.metric,
    points: s.values.map(([t, v]): Point => [Math.round(t * 1000), sampleValue(v)]),
  }));
}

/** Any query answer as series (an instant vector is one point per series). */
export function dataToSeries(data: QueryData, legendFormat?: string): Series[] {
  switch (data.resultType) {
    case "matrix":
      return matrixToSeries(data.result, legendFormat);
    case "vector":
      return data.result.map((s, i) => ({
        key: `s${i}`,
        name: seriesName(s.metric, legendFormat),
        labels: s.metric,
        points: [[Math.round(s.value[0] * 1000), sampleValue(s.value[1])]],
      }));
    case "scalar":
    case "string":
      return [{ key: "s0", name: "scalar", labels: {}, points: [[Math.round(data.result[0] * 1000), sampleValue(data.result[1])]] }];
  }
}

export type Row = { t: number } & Record<string, number | null>;

/** One row per timestamp with each series' value under its key (null where it has none). */
export function seriesToRows(series: readonly Series[]): Row[] {
  const byTime = new Map<number, Row>();
  for (const s of series) {
    for (const [t, v] of s.points) {
      let row = byTime.get(t);
      if (row === undefined) {
        row = { t } as Row;
        byTime.set(t, row);
      }
      row[s.key] = Number.isFinite(v) ? v : null;
    }
  }
  return [...byTime.values()].sort((a, b) => a.t - b.t);
}

/** Each series cut to at most `maxPoints` by LTTB (missing values are left out, not invented). */
export function downsample(series: readonly Series[], maxPoints: number): Series[] {
  return series.map((s) => {
    if (s.points.length <= maxPoints) return s;
    const finite = s.points.filter(([, v]) => Number.isFinite(v));
    return { ...s, points: lttb(finite, maxPoints) };
  });
}

/**
 * At most about `maxRows` rows that keep every series' shape: LTTB picks each series' telling
 * points (at least 32 per series) and the chart keeps the union of their times, so all series
 * still share one time axis (stacking and tooltips need that).
 */
export function downsampleRows(rows: readonly Row[], keys: readonly string[], maxRows: number): Row[] {
  if (rows.length <= maxRows) return rows.slice();
  const perSeries = Math.max(32, Math.floor(maxRows / Math.max(1, keys.length)));
  const keep = new Set<number>([0, rows.length - 1]);
  for (const k of keys) {
    const points: [number, number][] = [];
    rows.forEach((r, i) => {
      const v = r[k];
      if (v !== null && v !== undefined) points.push([i, v]);
    });
    for (const [i] of lttb(points, perSeries)) keep.add(i);
  }
  return [...keep].sort((a, b) => a - b).map((i) => rows[i]!);
}

export type Reducer = "last" | "mean" | "max" | "min";

export function reduce(points: readonly Point[], how: Reducer = "last"): number | null {
  const values = points.map(([, v]) => v).filter((v) => Number.isFinite(v));
  if (values.length === 0) return null;
  switch (how) {
    case "last":
      return values[values.length - 1]!;
    case "mean":
      return values.reduce((a, b) => a + b, 0) / values.length;
    case "max":
      return Math.max(...values);
    case "min":
      return Math.min(...values);
  }
}

function csvCell(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** "time,<series>..." with an ISO time per row: what a panel's CSV export holds. */
export function seriesToCsv(series: readonly Series[]): string {
  const rows = seriesToRows(series);
  const header = ["time", ...series.map((s) => csvCell(s.name))].join(",");
  const lines = rows.map((r) =>
    [new Date(r.t).toISOString(), ...series.map((s) => (r[s.key] == null ? "" : String(r[s.key])))].join(","),
  );
  return [header, ...lines].join("\n") + "\n";
}

/** The panel's data as JSON: series with labels and [ms, value] points. */
export function seriesToJson(series: readonly Series[]): string {
  return JSON.stringify(
    series.map((s) => ({ name: s.name, labels: s.labels, points: s.points.map(([t, v]) => [t, Number.isFinite(v) ? v : null]) })),
    null,
    2,
  );
}
