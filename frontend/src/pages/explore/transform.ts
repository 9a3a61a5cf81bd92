// Prometheus query results (data of /prometheus/api/v1/query and /query_range) → the rows
// of the explore page's table (the chart takes lib/series.ts's series).

export type Labels = Record<string, string>;
export type SamplePair = [number, string];

export type QueryData =
  | { resultType: "matrix"; result: { metric: Labels; values: SamplePair[] }[] }
  | { resultType: "vector"; result: { metric: Labels; value: SamplePair }[] }
  | { resultType: "scalar"; result: SamplePair }
  | { resultType: "string"; result: SamplePair };

export interface TableRow {
  name: string;
  metric: Labels;
  value: number | null; // null: not a finite number (NaN, ±Inf) — `text` says which
  text: string;
  time: number; // milliseconds
  points: number; // samples behind the row (1 for an instant vector)
}

/** `name{a="1", b="2"}` with the labels sorted; `{}` for a series without any. */
export function seriesName(metric: Labels): string {
  const name = metric.__name__ ?? "";
  const labels = Object.keys(metric).filter((k) => k !== "__name__").sort()
    .map((k) => `${k}="${metric[k]}"`);
  if (labels.length === 0) return name || "{}";
  return `${name}{${labels.join(", ")}}`;
}

/** A sample's value string as a number a chart can draw; null for NaN and ±Inf. */
export function sampleValue(text: string): number | null {
  const v = Number(text);
  return Number.isFinite(v) ? v : null;
}

/** One row per series: an instant vector's value, or a range's last sample. */
export function resultToTable(data: QueryData): TableRow[] {
  switch (data.resultType) {
    case "vector":
      return data.result.map((r) => ({ name: seriesName(r.metric), metric: r.metric,
        value: sampleValue(r.value[1]), text: r.value[1], time: r.value[0] * 1000, points: 1 }));
    case "matrix":
      return data.result.map((r) => {
        const last = r.values[r.values.length - 1];
        return { name: seriesName(r.metric), metric: r.metric,
          value: last ? sampleValue(last[1]) : null, text: last ? last[1] : "",
          time: last ? last[0] * 1000 : 0, points: r.values.length };
      });
    default:
      return [{ name: data.resultType, metric: {}, value: sampleValue(String(data.result[1])),
        text: String(data.result[1]), time: data.result[0] * 1000, points: 1 }];
  }
}

const NICE_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
  21600, 43200, 86400];

/** A round step (seconds) giving at most `maxPoints` points over the range. */
export function autoStep(rangeSeconds: number, maxPoints = 300): number {
  const raw = rangeSeconds / maxPoints;
  return NICE_STEPS.find((s) => s >= raw) ?? Math.ceil(raw / 86400) * 86400;
}

/** A compact number for axes and tables: 1.2k, 3.4M, 0.0012. */
export function formatValue(v: number | null): string {
  if (v === null) return "—";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e15 || a < 1e-3)) return v.toExponential(2);
  for (const [limit, suffix] of [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]] as const) {
    if (a >= limit) return `${+(v / limit).toFixed(2)}${suffix}`;
  }
  return `${+v.toFixed(3)}`;
}
