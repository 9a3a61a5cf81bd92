/** A gauge per series: a 240° arc from min to max (0-100 unless set), coloured by the thresholds. */
import type { PanelOptions } from "../api/types";
import { formatValue, normalizeThresholds, thresholdColor } from "../lib/format";
import { reduce, type Series } from "../lib/series";

function arc(cx: number, cy: number, r: number, from: number, to: number): string {
  const p = (a: number) => [cx + r * Math.cos(a), cy + r * Math.sin(a)] as const;
  const [x0, y0] = p(from);
  const [x1, y1] = p(to);
  return `M${x0.toFixed(2)},${y0.toFixed(2)} A${r},${r} 0 ${to - from > Math.PI ? 1 : 0} 1 ${x1.toFixed(2)},${y1.toFixed(2)}`;
}

export function GaugePanel({ series, options }: { series: Series[]; options: PanelOptions }) {
  const unit = typeof options.unit === "string" ? options.unit : "";
  const decimals = typeof options.decimals === "number" ? options.decimals : undefined;
  const min = typeof options.min === "number" ? options.min : 0;
  const max = typeof options.max === "number" ? options.max : unit === "percentunit" ? 1 : 100;
  const thresholds = normalizeThresholds(options.thresholds);
  const start = (150 * Math.PI) / 180;
  const sweep = (240 * Math.PI) / 180;
  return (
    <div className="flex h-full w-full items-center justify-around gap-2" data-testid="gauge-panel">
      {series.map((s) => {
        const value = reduce(s.points, "last");
        const fraction = value === null ? 0 : Math.min(1, Math.max(0, (value - min) / (max - min || 1)));
        const color = thresholdColor(value, thresholds, "#73bf69");
        return (
          <figure key={s.key} className="flex h-full min-w-0 flex-1 flex-col items-center justify-center">
            <svg viewBox="0 0 100 80" className="h-full max-h-full w-full">
              <path d={arc(50, 50, 38, start, start + sweep)} stroke="#2a303c" strokeWidth={9} fill="none" strokeLinecap="round" />
              {fraction > 0 && <path d={arc(50, 50, 38, start, start + sweep * fraction)} stroke={color} strokeWidth={9} fill="none" strokeLinecap="round" />}
              <text x={50} y={54} textAnchor="middle" fill={color} fontSize={13} fontWeight={600} data-testid="gauge-value">
                {formatValue(value, unit, decimals)}
              </text>
              <text x={20} y={78} textAnchor="middle" fill="#8b93a5" fontSize={6}>{formatValue(min, unit)}</text>
              <text x={80} y={78} textAnchor="middle" fill="#8b93a5" fontSize={6}>{formatValue(max, unit)}</text>
            </svg>
            {series.length > 1 && <figcaption className="max-w-full truncate text-xs text-ink-muted">{s.name}</figcaption>}
          </figure>
        );
      })}
    </div>
  );
}
