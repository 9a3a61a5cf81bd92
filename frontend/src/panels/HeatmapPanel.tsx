/** Heatmaps in SVG.
 * - over time (default): a row per series, a column per time bucket, coloured by value;
 * - `options.mode = "matrix"`: rows are the values of `options.rowLabel` (e.g. services),
 *   columns are the panel's targets (e.g. metric types), each cell the latest value coloured
 *   by that column's alert thresholds (the alert rules on its metric) — a health matrix. */
import type { AlertRule, PanelOptions, Threshold } from "../api/types";
import { formatValue, normalizeThresholds, thresholdColor } from "../lib/format";
import { reduce, type Series } from "../lib/series";
import { formatTick, type ResolvedRange } from "../lib/time";

const SEVERITY_COLOR: Record<string, string> = { warning: "#f5a524", critical: "#ef4444" };

/** Thresholds from the enabled alert rules on `metric`: warning → orange, critical → red. A
 * rule firing below its threshold ("lt") turns cells red as the value falls. */
export function thresholdsFromRules(rules: readonly AlertRule[], metric: string): { thresholds: Threshold[]; below: boolean } {
  const mine = rules.filter((r) => r.enabled && r.query.trim() === metric && r.threshold !== null);
  const below = mine.some((r) => r.condition === "lt" || r.condition === "le");
  const thresholds = mine.map((r) => ({ value: r.threshold as number, color: SEVERITY_COLOR[r.severity] ?? "#f5a524" }));
  return { thresholds: thresholds.sort((a, b) => a.value - b.value), below };
}

export function cellColor(value: number | null, thresholds: readonly Threshold[], below: boolean): string {
  if (value === null) return "#1d222c";
  if (!below) return thresholdColor(value, thresholds, "#2f7d4f");
  // Below-thresholds: the lowest threshold the value is under wins.
  let chosen = "#2f7d4f";
  for (const t of [...thresholds].sort((a, b) => b.value - a.value)) if (value < t.value) chosen = t.color;
  return chosen;
}

interface MatrixTarget {
  name: string;
  metric: string;
  unit: string;
  series: Series[];
}

function Matrix({ targets, rowLabel, rules }: { targets: MatrixTarget[]; rowLabel: string; rules: readonly AlertRule[] }) {
  const rows = [...new Set(targets.flatMap((t) => t.series.map((s) => s.labels[rowLabel] ?? s.name)))].sort();
  if (rows.length === 0) return null;
  return (
    <div className="h-full w-full overflow-auto" data-testid="heatmap-matrix">
      <table className="h-full w-full table-fixed border-separate border-spacing-1 text-xs">
        <thead>
          <tr>
            <th className="w-24" />
            {targets.map((t) => (
              <th key={t.name} className="truncate pb-1 font-medium text-ink-muted">{t.name}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row}>
              <th className="truncate pr-2 text-right font-medium text-ink-muted">{row}</th>
              {targets.map((t) => {
                const s = t.series.find((x) => (x.labels[rowLabel] ?? x.name) === row);
                const value = s === undefined ? null : reduce(s.points, "last");
                const { thresholds, below } = thresholdsFromRules(rules, t.metric);
                const bg = cellColor(value, thresholds, below);
                return (
                  <td key={t.name} className="rounded text-center font-semibold tabular-nums text-white/90" style={{ background: bg }} data-testid="heatmap-cell" title={`${row} · ${t.name}`}>
                    {formatValue(value, t.unit)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function mix(a: string, b: string, f: number): string {
  const pa = [1, 3, 5].map((i) => parseInt(a.slice(i, i + 2), 16));
  const pb = [1, 3, 5].map((i) => parseInt(b.slice(i, i + 2), 16));
  return `rgb(${pa.map((x, i) => Math.round(x + (pb[i]! - x) * f)).join(",")})`;
}

function OverTime({ series, options, range }: { series: Series[]; options: PanelOptions; range: ResolvedRange }) {
  const buckets = 48;
  const width = (range.end - range.start) / buckets;
  const thresholds = normalizeThresholds(options.thresholds);
  const unit = typeof options.unit === "string" ? options.unit : "";
  const cells = series.map((s) => {
    const sums = new Array<number>(buckets).fill(0);
    const counts = new Array<number>(buckets).fill(0);
    for (const [t, v] of s.points) {
      if (!Number.isFinite(v)) continue;
      const b = Math.min(buckets - 1, Math.floor((t - range.start) / width));
      if (b < 0) continue;
      sums[b]! += v;
      counts[b]! += 1;
    }
    return sums.map((sum, i) => (counts[i]! > 0 ? sum / counts[i]! : null));
  });
  const values = cells.flat().filter((v): v is number => v !== null);
  const lo = values.length ? Math.min(...values) : 0;
  const hi = values.length ? Math.max(...values) : 1;
  const rowH = 100 / Math.max(1, series.length);
  return (
    <div className="flex h-full w-full flex-col" data-testid="heatmap-time">
      <div className="flex min-h-0 flex-1">
        <div className="flex w-24 shrink-0 flex-col text-right text-[11px] text-ink-muted">
          {series.map((s) => (
            <div key={s.key} className="flex flex-1 items-center justify-end truncate pr-2" title={s.name}>
              {s.labels[typeof options.rowLabel === "string" ? options.rowLabel : ""] ?? s.name}
            </div>
          ))}
        </div>
        <svg className="h-full flex-1" viewBox={`0 0 ${buckets} 100`} preserveAspectRatio="none">
          {cells.map((row, r) =>
            row.map((v, c) => (
              <rect key={`${r}-${c}`} x={c + 0.05} y={r * rowH + 0.3} width={0.9} height={rowH - 0.6}
                fill={v === null ? "#1d222c" : thresholds.length > 0 ? thresholdColor(v, thresholds, "#2f7d4f") : mix("#12324a", "#f5a524", (v - lo) / (hi - lo || 1))}>
                <title>{`${series[r]?.name}: ${formatValue(v, unit)}`}</title>
              </rect>
            )),
          )}
        </svg>
      </div>
      <div className="ml-24 flex justify-between text-[10px] text-ink-muted">
        <span>{formatTick(range.start, range.end - range.start)}</span>
        <span>{formatTick(range.end, range.end - range.start)}</span>
      </div>
    </div>
  );
}

export function HeatmapPanel({ series, byTarget, options, range, rules }: {
  series: Series[];
  byTarget: Series[][];
  options: PanelOptions;
  range: ResolvedRange;
  rules: readonly AlertRule[];
}) {
  if (options.mode === "matrix" && Array.isArray(options.targets)) {
    const targets: MatrixTarget[] = options.targets.map((t, i) => {
      const extra = t as { legendFormat?: string; metric?: string; unit?: string; name?: string };
      return {
        name: extra.name ?? extra.legendFormat ?? t.expr,
        metric: extra.metric ?? /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(t.expr.replace(/^\w+\(/, ""))?.[0] ?? "",
        unit: extra.unit ?? "",
        series: byTarget[i] ?? [],
      };
    });
    return <Matrix targets={targets} rowLabel={typeof options.rowLabel === "string" ? options.rowLabel : "service"} rules={rules} />;
  }
  return <OverTime series={series} options={options} range={range} />;
}
