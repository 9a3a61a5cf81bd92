/** Stat cards: one big number per series (its last value by default), coloured by the
 * thresholds, with a sparkline of the range. */
import type { PanelOptions } from "../api/types";
import { formatValue, normalizeThresholds, thresholdColor } from "../lib/format";
import { lttb } from "../lib/lttb";
import { reduce, type Reducer, type Series } from "../lib/series";

function Sparkline({ series, color }: { series: Series; color: string }) {
  const finite = series.points.filter(([, v]) => Number.isFinite(v));
  if (finite.length < 2) return null;
  const pts = lttb(finite, 80);
  const xs = pts.map(([t]) => t);
  const ys = pts.map(([, v]) => v);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (t: number) => ((t - x0) / (x1 - x0 || 1)) * 100;
  const sy = (v: number) => 28 - ((v - y0) / (y1 - y0 || 1)) * 26;
  const d = pts.map(([t, v], i) => `${i === 0 ? "M" : "L"}${sx(t).toFixed(2)},${sy(v).toFixed(2)}`).join("");
  return (
    <svg viewBox="0 0 100 30" preserveAspectRatio="none" className="absolute inset-x-0 bottom-0 h-1/3 w-full opacity-60">
      <path d={`${d}L100,30L0,30Z`} fill={color} fillOpacity={0.15} />
      <path d={d} fill="none" stroke={color} strokeWidth={1.2} vectorEffect="non-scaling-stroke" />
    </svg>
  );
}

export function StatPanel({ series, options }: { series: Series[]; options: PanelOptions }) {
  const unit = typeof options.unit === "string" ? options.unit : "";
  const decimals = typeof options.decimals === "number" ? options.decimals : undefined;
  const thresholds = normalizeThresholds(options.thresholds);
  const how = (typeof options.reduce === "string" ? options.reduce : "last") as Reducer;
  // Cards wrap by the panel's width; their text scales with each card's box (container units).
  const many = series.length > 1;
  return (
    <div
      className="grid h-full w-full gap-1.5"
      style={{ gridTemplateColumns: many ? "repeat(auto-fit, minmax(92px, 1fr))" : "1fr", gridAutoRows: "minmax(0, 1fr)" }}
      data-testid="stat-panel"
    >
      {series.map((s) => {
        const value = reduce(s.points, how);
        const color = thresholdColor(value, thresholds, "#73bf69");
        return (
          <div key={s.key} className="relative flex min-h-0 flex-col items-center justify-center overflow-hidden rounded-md bg-surface-2/60 px-1.5" style={{ containerType: "size" }} data-testid="stat-value">
            <Sparkline series={s} color={color} />
            {many && <div className="z-10 max-w-full truncate text-[11px] text-ink-muted" title={s.name}>{s.name}</div>}
            <div className="z-10 max-w-full truncate whitespace-nowrap font-semibold tabular-nums leading-tight" style={{ color, fontSize: many ? "clamp(0.75rem, min(13cqw, 30cqh), 1.9rem)" : "clamp(1rem, min(18cqw, 40cqh), 3.2rem)" }}>
              {formatValue(value, unit, decimals)}
            </div>
          </div>
        );
      })}
    </div>
  );
}
