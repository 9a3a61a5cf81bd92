// Explore: run an ad-hoc PromQL query, as a range (graph) or at an instant, and see the
// series drawn and listed.

import { useCallback, useEffect, useRef, useState } from "react";

import { PromQLInput } from "../../components/PromQLInput";
import { Button, Empty, ErrorBox, inputClass, Loading, PageHeader } from "../alerts/ui";
import { queryApi } from "./api";
import { SeriesChart } from "./SeriesChart";
import { autoStep, formatValue, type QueryData, resultToTable } from "./transform";

export const RANGES: { label: string; seconds: number }[] = [
  { label: "Last 5 minutes", seconds: 300 }, { label: "Last 15 minutes", seconds: 900 },
  { label: "Last 1 hour", seconds: 3600 }, { label: "Last 3 hours", seconds: 10800 },
  { label: "Last 6 hours", seconds: 21600 }, { label: "Last 12 hours", seconds: 43200 },
  { label: "Last 24 hours", seconds: 86400 }, { label: "Last 7 days", seconds: 604800 },
];

const HISTORY_KEY = "lookout.explore.history";

function loadHistory(): string[] {
  try {
    const raw: unknown = JSON.parse(localStorage.getItem(HISTORY_KEY) ?? "[]");
    return Array.isArray(raw) ? raw.filter((q): q is string => typeof q === "string") : [];
  } catch {
    return [];
  }
}

interface Outcome {
  data: QueryData;
  warnings: string[];
  tookMs: number;
  mode: "range" | "instant";
  step: number;
  window: [number, number]; // ms
}

export function ExplorePage() {
  // A query given in the address (?query=..., the alerts page links there) runs at once.
  const [fromAddress] = useState(
    () => new URLSearchParams(window.location.search).get("query") ?? "");
  const [query, setQuery] = useState(fromAddress);
  const [mode, setMode] = useState<"range" | "instant">("range");
  const [range, setRange] = useState(3600);
  const [stepText, setStepText] = useState("");
  const [running, setRunning] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [history, setHistory] = useState<string[]>(loadHistory);
  const controller = useRef<AbortController | null>(null);

  const run = useCallback(async () => {
    const q = query.trim();
    if (!q) {
      setError(new Error("Type a PromQL query first, e.g. up or rate(x[5m])."));
      return;
    }
    controller.current?.abort();
    const c = new AbortController();
    controller.current = c;
    setRunning(true);
    setError(null);
    const end = Date.now() / 1000;
    const step = stepText.trim() ? Number(stepText) : autoStep(range);
    const t0 = performance.now();
    try {
      if (!(step > 0)) throw new Error("Step: a positive number of seconds, or empty for auto.");
      const answer = mode === "range"
        ? await queryApi.range(q, end - range, end, step, c.signal)
        : await queryApi.instant(q, end, c.signal);
      setOutcome({ data: answer.data, warnings: answer.warnings ?? [], mode, step,
        tookMs: Math.round(performance.now() - t0), window: [(end - range) * 1000, end * 1000] });
      setHistory((h) => {
        const next = [q, ...h.filter((x) => x !== q)].slice(0, 15);
        localStorage.setItem(HISTORY_KEY, JSON.stringify(next));
        return next;
      });
    } catch (e) {
      if (c.signal.aborted) return;
      setError(e);
      setOutcome(null);
    } finally {
      if (controller.current === c) setRunning(false);
    }
  }, [query, mode, range, stepText]);

  useEffect(() => () => controller.current?.abort(), []);
  const ranFromAddress = useRef(false);
  useEffect(() => {
    if (!ranFromAddress.current && fromAddress) {
      ranFromAddress.current = true;
      void run();
    }
  }, [fromAddress, run]);

  const table = outcome ? resultToTable(outcome.data) : [];
  const seriesCount = outcome ? table.length : 0;

  return (
    <div className="p-6" data-testid="explore-page">
      <PageHeader title="Explore" subtitle="Ad-hoc PromQL against everything Lookout stores." />
      <section className="card p-4">
        <PromQLInput value={query} onChange={setQuery} onSubmit={() => void run()}
          testId="explore-query" />
        <div className="mt-3 flex flex-wrap items-center gap-3">
          <div role="radiogroup" aria-label="Query type" className="flex overflow-hidden rounded border border-line">
            {(["range", "instant"] as const).map((m) => (
              <button key={m} type="button" role="radio" aria-checked={mode === m}
                data-testid={`explore-mode-${m}`} onClick={() => setMode(m)}
                className={`px-3 py-1.5 text-sm ${mode === m ? "bg-accent-strong text-white"
                  : "bg-surface-2 text-ink hover:bg-surface-2"}`}>
                {m === "range" ? "Range" : "Instant"}
              </button>
            ))}
          </div>
          <label className="flex items-center gap-2 whitespace-nowrap text-sm text-ink-muted">
            Time range
            <select data-testid="explore-range" value={range} disabled={mode === "instant"}
              onChange={(e) => setRange(Number(e.target.value))}
              className={`${inputClass} w-44`}>
              {RANGES.map((r) => <option key={r.seconds} value={r.seconds}>{r.label}</option>)}
            </select>
          </label>
          <label className="flex items-center gap-2 whitespace-nowrap text-sm text-ink-muted">
            Step (s)
            <input data-testid="explore-step" value={stepText} disabled={mode === "instant"}
              onChange={(e) => setStepText(e.target.value)} placeholder={`auto (${autoStep(range)})`}
              className={`${inputClass} w-28`} inputMode="decimal" />
          </label>
          <Button variant="primary" data-testid="explore-run" disabled={running}
            onClick={() => void run()}>
            {running ? "Running…" : "Run query"}
          </Button>
          <span className="text-xs text-ink-muted">Ctrl+Enter runs · Ctrl+Space suggests · Tab completes</span>
          {history.length > 0 && (
            <select aria-label="Recent queries" value="" className={`${inputClass} ml-auto w-64`}
              onChange={(e) => e.target.value && setQuery(e.target.value)}>
              <option value="">Recent queries…</option>
              {history.map((q) => <option key={q} value={q}>{q}</option>)}
            </select>
          )}
        </div>
      </section>

      <section className="mt-4 space-y-4">
        {error !== null && <ErrorBox error={error} testId="explore-error" />}
        {running && !outcome && <Loading what="the result" />}
        {!running && !outcome && error === null && (
          <Empty testId="explore-empty">
            Run a query to see its series here. Try <code className="font-mono">up</code> or a
            metric name — completion offers the ones Lookout has.
          </Empty>
        )}
        {outcome && (
          <>
            <p data-testid="explore-summary" className="text-xs text-ink-muted">
              {seriesCount} series · {outcome.data.resultType} · {outcome.tookMs} ms
              {outcome.mode === "range" && ` · step ${outcome.step}s`}
              {outcome.warnings.map((w) => <span key={w} className="ml-2 text-warn">⚠ {w}</span>)}
            </p>
            {seriesCount === 0 ? (
              <Empty testId="explore-no-data">
                The query is valid but returned no series for this time range.
              </Empty>
            ) : (
              <>
                <div className="card p-4">
                  <SeriesChart data={outcome.data} testId="explore-chart"
                    {...(outcome.mode === "range" ? { domain: outcome.window } : {})} />
                </div>
                <div className="overflow-x-auto rounded-lg border border-line">
                  <table data-testid="explore-table" className="w-full text-left text-sm">
                    <thead className="bg-surface-2 text-xs uppercase text-ink-muted">
                      <tr>
                        <th className="px-3 py-2">Series</th>
                        <th className="px-3 py-2 text-right">
                          {outcome.mode === "range" ? "Last value" : "Value"}
                        </th>
                        <th className="px-3 py-2">At</th>
                        {outcome.mode === "range" && <th className="px-3 py-2 text-right">Points</th>}
                      </tr>
                    </thead>
                    <tbody>
                      {table.map((row) => (
                        <tr key={row.name} data-testid="explore-row"
                          className="border-t border-line hover:bg-surface-2/60">
                          <td className="px-3 py-1.5 font-mono text-xs text-ink">{row.name}</td>
                          <td className="px-3 py-1.5 text-right font-mono" title={row.text}>
                            {row.value === null ? row.text : formatValue(row.value)}
                          </td>
                          <td className="px-3 py-1.5 text-xs text-ink-muted">
                            {row.time ? new Date(row.time).toLocaleTimeString() : "—"}
                          </td>
                          {outcome.mode === "range" && (
                            <td className="px-3 py-1.5 text-right text-ink-muted">{row.points}</td>
                          )}
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </>
            )}
          </>
        )}
      </section>
    </div>
  );
}
