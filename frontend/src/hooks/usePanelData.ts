/** A panel's data: a range query over the dashboard's time range (re-run on refresh), or the
 * live subscription's results while live mode is on. */
import { useEffect, useState } from "react";

import { ApiError, prom } from "../api";
import type { PanelOptions } from "../api/types";
import { matrixToSeries, type Series } from "../lib/series";
import type { ResolvedRange } from "../lib/time";
import { stepFor } from "../lib/time";
import { interpolate } from "../lib/variables";
import { subscribe, useLive } from "../stores/live";

export interface PanelData {
  series: Series[];
  /** One list per target (`options.targets`, or the panel's query), same order. */
  byTarget: Series[][];
  loading: boolean;
  error: string | null;
  step: number;
  /** The queries as sent, variables replaced. */
  queries: string[];
}

export interface PanelQueryInput {
  query: string;
  options: PanelOptions;
  range: ResolvedRange;
  variables: Readonly<Record<string, string>>;
  /** Changes whenever the dashboard refreshes. */
  refreshKey: number;
  /** The range is relative to now, so live mode can slide it. */
  relative: boolean;
  maxPoints?: number;
}

/** The queries a panel runs: its query (with `options.legendFormat`), then any further
 * `options.targets` (Grafana imports keep every target there; their `legend` or
 * `legendFormat`). In heatmap matrix mode the targets are the columns, all of them. */
export function targetsOf(query: string, options: PanelOptions): { expr: string; legendFormat?: string }[] {
  const listed = (Array.isArray(options.targets) ? options.targets : [])
    .filter((t) => typeof t.expr === "string" && t.expr !== "")
    .map((t) => {
      const legend = t.legendFormat ?? (t as { legend?: unknown }).legend;
      return typeof legend === "string" && legend !== "" ? { expr: t.expr, legendFormat: legend } : { expr: t.expr };
    });
  if (options.mode === "matrix" && listed.length > 0) return listed;
  if (query.trim() === "") return [];
  const own = typeof options.legendFormat === "string" && options.legendFormat !== "" ? options.legendFormat : listed[0]?.legendFormat;
  return [{ expr: query, ...(own !== undefined ? { legendFormat: own } : {}) }, ...listed.slice(1)];
}

function messageOf(e: unknown): string {
  if (e instanceof ApiError) return e.status === 0 ? e.message : `${e.message} (HTTP ${e.status})`;
  return e instanceof Error ? e.message : String(e);
}

export function usePanelData(input: PanelQueryInput): PanelData {
  const { query, options, range, variables, refreshKey, relative } = input;
  const step = stepFor(range, input.maxPoints ?? 300);
  const targets = targetsOf(query, options);
  const queries = targets.map((t) => interpolate(t.expr, variables, step));
  const key = JSON.stringify([queries, targets.map((t) => t.legendFormat ?? ""), range.start, range.end, step, refreshKey]);
  const live = useLive((s) => s.enabled) && relative;
  const [state, setState] = useState<{ key: string; series: Series[][]; error: string | null; loading: boolean }>({
    key: "",
    series: [],
    error: null,
    loading: queries.length > 0,
  });

  useEffect(() => {
    const parsed = JSON.parse(key) as [string[], string[], number, number, number, number];
    const [qs, legends, start, end, stp] = parsed;
    if (qs.length === 0) return;
    if (live) {
      const results: Series[][] = qs.map(() => []);
      const drops = qs.map((q, i) =>
        subscribe(
          { query: q, range: Math.round((end - start) / 1000), step: stp },
          (r) => {
            results[i] = matrixToSeries(r.result, legends[i] || undefined);
            setState({ key, series: [...results], error: null, loading: false });
          },
          (message) => setState((s) => ({ ...s, key, error: message, loading: false })),
        ),
      );
      return () => drops.forEach((drop) => drop());
    }
    const controller = new AbortController();
    Promise.all(qs.map((q) => prom.queryRange(q, start / 1000, end / 1000, stp, controller.signal)))
      .then((answers) => {
        setState({
          key,
          series: answers.map((a, i) => matrixToSeries(a.result, legends[i] || undefined)),
          error: null,
          loading: false,
        });
      })
      .catch((e: unknown) => {
        if (controller.signal.aborted) return;
        setState((s) => ({ ...s, key, error: messageOf(e), loading: false }));
      });
    return () => controller.abort();
  }, [key, live]);

  if (queries.length === 0) return { series: [], byTarget: [], loading: false, error: null, step, queries };
  // An answer for an older key is still shown (no flicker) while the new one loads.
  const loading = state.key !== key || state.loading;
  // Several targets draw as one list of series.
  const series = state.series.length > 1 ? state.series.flat().map((s, i) => ({ ...s, key: `s${i}` })) : (state.series[0] ?? []);
  return { series, byTarget: state.series, loading, error: state.error, step, queries };
}
