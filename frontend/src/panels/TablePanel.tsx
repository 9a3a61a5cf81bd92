/** A table of series: their labels and latest value (coloured by the thresholds). */
import type { PanelOptions } from "../api/types";
import { formatValue, normalizeThresholds, thresholdColor } from "../lib/format";
import { reduce, type Series } from "../lib/series";

export function TablePanel({ series, options }: { series: Series[]; options: PanelOptions }) {
  const unit = typeof options.unit === "string" ? options.unit : "";
  const decimals = typeof options.decimals === "number" ? options.decimals : undefined;
  const thresholds = normalizeThresholds(options.thresholds);
  const labels = [...new Set(series.flatMap((s) => Object.keys(s.labels)))].sort((a, b) =>
    a === "__name__" ? -1 : b === "__name__" ? 1 : a.localeCompare(b),
  );
  return (
    <div className="h-full w-full overflow-auto" data-testid="table-panel">
      <table className="w-full text-left text-xs">
        <thead className="sticky top-0 bg-surface text-ink-muted">
          <tr>
            {labels.map((l) => (
              <th key={l} className="border-b border-line px-2 py-1.5 font-medium">{l === "__name__" ? "metric" : l}</th>
            ))}
            <th className="border-b border-line px-2 py-1.5 text-right font-medium">value</th>
          </tr>
        </thead>
        <tbody>
          {series.map((s) => {
            const value = reduce(s.points, "last");
            return (
              <tr key={s.key} className="hover:bg-surface-2">
                {labels.map((l) => (
                  <td key={l} className="border-b border-line/60 px-2 py-1">{s.labels[l] ?? ""}</td>
                ))}
                <td className="border-b border-line/60 px-2 py-1 text-right font-medium tabular-nums" style={{ color: thresholds.length ? thresholdColor(value, thresholds) : undefined }}>
                  {formatValue(value, unit, decimals)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
