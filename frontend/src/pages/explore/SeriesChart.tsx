// A time-series chart of a Prometheus result (Recharts), with a legend that hides and
// shows series, and an optional threshold line (the alert rule preview draws one).

import { useMemo, useState } from "react";
import {
  CartesianGrid, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis,
} from "recharts";

import { formatValue, matrixToChart, type QueryData } from "./transform";

export const SERIES_COLORS = ["#60a5fa", "#f59e0b", "#34d399", "#f472b6", "#a78bfa", "#22d3ee",
  "#fb7185", "#a3e635", "#fbbf24", "#818cf8"];

export function seriesColor(i: number): string {
  return SERIES_COLORS[i % SERIES_COLORS.length] ?? "#60a5fa";
}

function timeLabel(t: number, spanMs: number): string {
  const d = new Date(t);
  if (spanMs > 2 * 86400_000) {
    return d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit",
      minute: "2-digit" });
  }
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit",
    ...(spanMs < 600_000 ? { second: "2-digit" } : {}) });
}

export function SeriesChart({ data, height = 280, threshold, domain, testId = "series-chart" }: {
  data: QueryData;
  height?: number;
  threshold?: number | null;
  domain?: [number, number]; // the time axis (ms); default: the data's first to last sample
  testId?: string;
}) {
  const { series, rows } = useMemo(() => matrixToChart(data), [data]);
  const [hidden, setHidden] = useState<Set<string>>(new Set());
  const span = domain ? domain[1] - domain[0]
    : rows.length > 1 ? (rows[rows.length - 1]?.t ?? 0) - (rows[0]?.t ?? 0) : 0;
  const toggle = (key: string) => setHidden((h) => {
    const next = new Set(h);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    return next;
  });
  return (
    <div data-testid={testId} data-series-count={series.length} data-points={rows.length}>
      <div style={{ height }}>
        <ResponsiveContainer width="100%" height="100%">
          <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
            <CartesianGrid stroke="#2a303c" strokeDasharray="3 3" />
            <XAxis dataKey="t" type="number" scale="time" domain={domain ?? ["dataMin", "dataMax"]}
              tickFormatter={(t: number) => timeLabel(t, span)} stroke="#8b93a5" fontSize={11}
              minTickGap={40} />
            <YAxis tickFormatter={(v: number) => formatValue(v)} stroke="#8b93a5" fontSize={11}
              width={56} domain={["auto", "auto"]} />
            <Tooltip
              contentStyle={{ background: "#161a22", border: "1px solid #2a303c", fontSize: 12 }}
              labelFormatter={(t) => new Date(Number(t)).toLocaleString()}
              formatter={(v, key) => [formatValue(typeof v === "number" ? v : null),
                series.find((s) => s.key === key)?.name ?? String(key)]} />
            {threshold !== undefined && threshold !== null && Number.isFinite(threshold) && (
              <ReferenceLine y={threshold} stroke="#ef4444" strokeDasharray="6 3"
                ifOverflow="extendDomain" label={{ value: `threshold ${formatValue(threshold)}`,
                  fill: "#fca5a5", fontSize: 11, position: "insideTopRight" }} />
            )}
            {series.map((s, i) => (
              <Line key={s.key} dataKey={s.key} hide={hidden.has(s.key)} dot={rows.length < 3}
                stroke={seriesColor(i)} strokeWidth={1.5}
                isAnimationActive={false} connectNulls={false} name={s.name} />
            ))}
          </LineChart>
        </ResponsiveContainer>
      </div>
      {series.length > 0 && (
        <ul className="mt-2 flex max-h-24 flex-wrap gap-x-4 gap-y-1 overflow-y-auto text-xs">
          {series.map((s, i) => (
            <li key={s.key}>
              <button type="button" onClick={() => toggle(s.key)}
                className={`flex items-center gap-1.5 font-mono ${hidden.has(s.key)
                  ? "text-ink-muted/60" : "text-ink hover:text-ink"}`}>
                <span className="inline-block h-2 w-3 rounded-sm"
                  style={{ background: seriesColor(i) }} />
                {s.name}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
