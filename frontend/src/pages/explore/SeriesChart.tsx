// A Prometheus result drawn by the dashboards' own time-series chart (Recharts, LTTB,
// legend), with an optional threshold line (the alert rule preview draws one).

import { useMemo } from "react";

import type { QueryData as ApiQueryData } from "../../api/types";
import { dataToSeries } from "../../lib/series";
import { TimeSeriesPanel } from "../../panels/TimeSeriesPanel";
import type { QueryData } from "./transform";

export function SeriesChart({ data, height = 280, threshold, domain, testId = "series-chart" }: {
  data: QueryData;
  height?: number;
  threshold?: number | null;
  domain?: [number, number]; // the time axis (ms); default: the data's first to last sample
  testId?: string;
}) {
  const series = useMemo(() => dataToSeries(data as ApiQueryData), [data]);
  const points = series.reduce((n, s) => Math.max(n, s.points.length), 0);
  const range = useMemo(() => {
    if (domain) return { start: domain[0], end: domain[1] };
    const times = series.flatMap((s) => s.points.map(([t]) => t));
    if (times.length === 0) return { start: 0, end: 60_000 }; // nothing to draw
    const start = Math.min(...times);
    const end = Math.max(...times);
    return start < end ? { start, end } : { start: start - 60_000, end: end + 60_000 };
  }, [domain, series]);
  const options = useMemo(() => {
    if (threshold === undefined || threshold === null || !Number.isFinite(threshold)) return {};
    // The y axis reaches the threshold, so the line is drawn even far from the data.
    const values = series.flatMap((s) => s.points.map(([, v]) => v)).filter(Number.isFinite);
    const low = Math.min(threshold, ...values);
    const high = Math.max(threshold, ...values);
    const pad = (high - low) * 0.05 || Math.abs(threshold) * 0.05 || 1;
    return { thresholds: [{ value: threshold, color: "#ef4444" }],
      min: low >= 0 && low - pad < 0 ? 0 : low - pad, max: high + pad };
  }, [threshold, series]);
  return (
    <div data-testid={testId} data-series-count={series.length} data-points={points}
      style={{ height }}>
      <TimeSeriesPanel type="line" series={series} options={options} range={range} />
    </div>
  );
}
