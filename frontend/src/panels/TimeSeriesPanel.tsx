/** Line, area and bar charts over time (Recharts), with thresholds, alert annotations and
 * drag-to-zoom. Long series are cut by LTTB before drawing. */
import { useMemo, useState } from "react";
import {
  Area,
  AreaChart,
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ReferenceArea,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";

import type { PanelOptions, PanelType } from "../api/types";
import { formatValue, normalizeThresholds, seriesColor } from "../lib/format";
import { downsampleRows, seriesToRows, type Series } from "../lib/series";
import { formatDateTime, formatTick, type ResolvedRange } from "../lib/time";

export interface Annotation {
  /** Epoch ms. */
  time: number;
  text: string;
  color: string;
}

interface Props {
  type: Extract<PanelType, "line" | "area" | "bar">;
  series: Series[];
  options: PanelOptions;
  range: ResolvedRange;
  annotations?: Annotation[];
  onZoom?: (start: number, end: number) => void;
  /** How many points a chart keeps; more are cut by LTTB. */
  maxPoints?: number;
}

const AXIS = { stroke: "#2a303c", tick: { fill: "#8b93a5", fontSize: 11 } } as const;

export function TimeSeriesPanel({ type, series, options, range, annotations = [], onZoom, maxPoints = 1000 }: Props) {
  const keys = useMemo(() => series.map((s) => s.key), [series]);
  const rows = useMemo(() => downsampleRows(seriesToRows(series), keys, type === "bar" ? 120 : maxPoints), [series, keys, type, maxPoints]);
  const [drag, setDrag] = useState<{ from: number; to: number } | null>(null);
  const unit = typeof options.unit === "string" ? options.unit : "";
  const decimals = typeof options.decimals === "number" ? options.decimals : undefined;
  const thresholds = normalizeThresholds(options.thresholds).filter((t) => Number.isFinite(t.value));
  const span = range.end - range.start;
  const legendShown = options.legend?.show !== false && series.length > 0 && series.length <= 30;
  const stacked = options.stacking === true;
  const yDomain: [number | string, number | string] = [
    typeof options.min === "number" ? options.min : "auto",
    typeof options.max === "number" ? options.max : "auto",
  ];

  const handlers = {
    onMouseDown: (e: { activeLabel?: string | number | undefined } | null) => {
      const x = Number(e?.activeLabel);
      if (onZoom !== undefined && Number.isFinite(x)) setDrag({ from: x, to: x });
    },
    onMouseMove: (e: { activeLabel?: string | number | undefined } | null) => {
      const x = Number(e?.activeLabel);
      if (drag !== null && Number.isFinite(x)) setDrag({ ...drag, to: x });
    },
    onMouseUp: () => {
      if (drag !== null && onZoom !== undefined && Math.abs(drag.to - drag.from) > 0) {
        onZoom(Math.min(drag.from, drag.to), Math.max(drag.from, drag.to));
      }
      setDrag(null);
    },
  };

  const common = (
    <>
      <CartesianGrid stroke="#232833" vertical={false} />
      <XAxis
        dataKey="t"
        type="number"
        scale="time"
        domain={[range.start, range.end]}
        allowDataOverflow
        tickFormatter={(t: number) => formatTick(t, span)}
        minTickGap={40}
        {...AXIS}
      />
      <YAxis
        tickFormatter={(v: number) => formatValue(v, unit === "reqps" || unit === "ops" ? "short" : unit, decimals)}
        domain={yDomain}
        width={76}
        allowDataOverflow={typeof options.min === "number" || typeof options.max === "number"}
        {...AXIS}
      />
      <Tooltip
        isAnimationActive={false}
        contentStyle={{ background: "#161a22", border: "1px solid #2a303c", borderRadius: 6, fontSize: 12 }}
        labelStyle={{ color: "#d8dce6" }}
        labelFormatter={(t) => formatDateTime(Number(t))}
        formatter={(v) => formatValue(typeof v === "number" ? v : Number(v), unit, decimals)}
        itemSorter={(item) => -(typeof item.value === "number" ? item.value : 0)}
      />
      {legendShown && (
        <Legend
          verticalAlign="bottom"
          height={Math.min(48, 16 * Math.ceil(series.length / 4))}
          iconSize={8}
          wrapperStyle={{ fontSize: 11, overflowY: "auto", color: "#8b93a5" }}
        />
      )}
      {thresholds.map((t) => (
        <ReferenceLine key={`th-${t.value}`} y={t.value} stroke={t.color} strokeDasharray="4 4" strokeOpacity={0.7} ifOverflow="hidden" />
      ))}
      {annotations
        .filter((a) => a.time >= range.start && a.time <= range.end)
        .map((a, i) => (
          <ReferenceLine key={`an-${i}`} x={a.time} stroke={a.color} strokeDasharray="2 3" label={{ value: "▲", fill: a.color, fontSize: 9, position: "insideBottom" }}>
            <title>{a.text}</title>
          </ReferenceLine>
        ))}
      {drag !== null && <ReferenceArea x1={drag.from} x2={drag.to} fill="#4f8cff" fillOpacity={0.15} stroke="#4f8cff" strokeOpacity={0.4} />}
    </>
  );

  const chartProps = { data: rows, margin: { top: 8, right: 12, bottom: 0, left: 0 }, ...handlers };
  return (
    <div className="h-full w-full select-none" data-testid="timeseries-chart" data-series={series.length} data-points={rows.length}>
      <ResponsiveContainer width="100%" height="100%" minWidth={0} minHeight={0}>
        {type === "area" ? (
          <AreaChart {...chartProps}>
            {common}
            {series.map((s, i) => (
              <Area
                key={s.key}
                dataKey={s.key}
                name={s.name}
                type="linear"
                stroke={seriesColor(i)}
                fill={seriesColor(i)}
                fillOpacity={0.18}
                strokeWidth={1.5}
                isAnimationActive={false}
                connectNulls
                {...(stacked ? { stackId: "stack" } : {})}
              />
            ))}
          </AreaChart>
        ) : type === "bar" ? (
          <BarChart {...chartProps}>
            {common}
            {series.map((s, i) => (
              <Bar key={s.key} dataKey={s.key} name={s.name} fill={seriesColor(i)} isAnimationActive={false} {...(stacked ? { stackId: "stack" } : {})} />
            ))}
          </BarChart>
        ) : (
          <LineChart {...chartProps}>
            {common}
            {series.map((s, i) => (
              <Line
                key={s.key}
                dataKey={s.key}
                name={s.name}
                type="linear"
                stroke={seriesColor(i)}
                strokeWidth={1.5}
                dot={false}
                isAnimationActive={false}
                connectNulls
              />
            ))}
          </LineChart>
        )}
      </ResponsiveContainer>
    </div>
  );
}
