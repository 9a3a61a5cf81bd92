// The rule editor's preview: the query over the last hour with the threshold drawn, and
// the series the rule would make active now (the expression evaluated at this instant).

import { useEffect, useState } from "react";

import { queryApi } from "../explore/api";
import { SeriesChart } from "../explore/SeriesChart";
import { autoStep, type QueryData, resultToTable, formatValue } from "../explore/transform";
import { ruleExpression } from "./ruleForm";
import type { Condition } from "./types";
import { Empty, ErrorBox, Loading } from "./ui";

const WINDOW_S = 3600;

interface Preview {
  range: QueryData;
  window: [number, number];
  active: ReturnType<typeof resultToTable>;
}

export function RulePreview({ query, condition, threshold }: {
  query: string; condition: Condition | ""; threshold: string;
}) {
  const [state, setState] = useState<{ preview: Preview | null; error: unknown;
    loading: boolean }>({ preview: null, error: null, loading: false });
  const thresholdValue = threshold.trim() === "" ? null : Number(threshold);
  const expression = ruleExpression(query.trim(), condition,
    thresholdValue !== null && Number.isFinite(thresholdValue) ? thresholdValue : null);

  useEffect(() => {
    if (!query.trim()) return;
    const controller = new AbortController();
    const timer = window.setTimeout(() => {
      setState((s) => ({ ...s, loading: true }));
      const end = Date.now() / 1000;
      Promise.all([
        queryApi.range(query.trim(), end - WINDOW_S, end, autoStep(WINDOW_S, 240),
          controller.signal),
        queryApi.instant(expression, end, controller.signal),
      ]).then(([range, now]) => setState({
        preview: { range: range.data, active: resultToTable(now.data),
          window: [(end - WINDOW_S) * 1000, end * 1000] }, error: null,
        loading: false,
      }), (error: unknown) => {
        if (!controller.signal.aborted) setState({ preview: null, error, loading: false });
      });
    }, 500);
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
  }, [query, expression]);

  if (!query.trim()) {
    return <Empty testId="rule-preview-empty">Type a query to preview it over the last hour.</Empty>;
  }
  const { preview, error, loading } = state;
  return (
    <div data-testid="rule-preview" className="space-y-3">
      <p className="text-xs text-ink-muted">
        Evaluated as <code className="font-mono text-ink">{expression}</code>
      </p>
      {error !== null && <ErrorBox error={error} testId="rule-preview-error" />}
      {loading && !preview && <Loading what="the preview" />}
      {preview && (
        <>
          {preview.range.resultType === "matrix" && preview.range.result.length === 0 ? (
            <Empty testId="rule-preview-no-data">No data for this query in the last hour.</Empty>
          ) : (
            <SeriesChart data={preview.range} height={200} testId="rule-preview-chart"
              domain={preview.window}
              threshold={condition !== "" ? thresholdValue : null} />
          )}
          <p data-testid="rule-preview-active" className="text-sm">
            {preview.active.length === 0
              ? <span className="text-ok">No series would be active now.</span>
              : <span className="text-warn">
                {preview.active.length} series would be active now:
              </span>}
          </p>
          {preview.active.length > 0 && (
            <ul className="max-h-32 overflow-y-auto text-xs">
              {preview.active.slice(0, 20).map((row) => (
                <li key={row.name} className="flex justify-between gap-4 font-mono text-ink">
                  <span className="truncate">{row.name}</span>
                  <span>{row.value === null ? row.text : formatValue(row.value)}</span>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </div>
  );
}
