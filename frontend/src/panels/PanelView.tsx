/** A panel on the grid: header (title, state, menu), and its chart with loading, empty and
 * error states. */
import { useEffect, useRef, useState } from "react";

import type { AlertRule, PanelDraft } from "../api/types";
import { ErrorState, EmptyState, Spinner } from "../components/states";
import { usePanelData } from "../hooks/usePanelData";
import { download, slug } from "../lib/download";
import { seriesToCsv, seriesToJson } from "../lib/series";
import type { ResolvedRange } from "../lib/time";
import { useLive } from "../stores/live";
import { AlertListPanel } from "./AlertListPanel";
import { GaugePanel } from "./GaugePanel";
import { HeatmapPanel } from "./HeatmapPanel";
import { StatPanel } from "./StatPanel";
import { TablePanel } from "./TablePanel";
import { TimeSeriesPanel, type Annotation } from "./TimeSeriesPanel";

export interface PanelContext {
  range: ResolvedRange;
  relative: boolean;
  variables: Readonly<Record<string, string>>;
  refreshKey: number;
  annotations: Annotation[];
  rules: { rules: AlertRule[]; loading: boolean; error: string | null };
  onZoom: (start: number, end: number) => void;
}

export function PanelBody({ panel, ctx, onData }: {
  panel: PanelDraft;
  ctx: PanelContext;
  onData?: (data: ReturnType<typeof usePanelData>) => void;
}) {
  const isAlertList = panel.options.source === "alerts";
  const data = usePanelData({
    query: isAlertList ? "" : panel.query,
    options: isAlertList ? {} : panel.options,
    range: ctx.range,
    variables: ctx.variables,
    refreshKey: ctx.refreshKey,
    relative: ctx.relative,
    // Bars need room: fewer, wider buckets.
    maxPoints: panel.type === "bar" ? 40 : 300,
  });
  useEffect(() => {
    onData?.(data);
  });
  // Live results slide past the range the page resolved: the time axis follows the newest point.
  const live = useLive((st) => st.enabled) && ctx.relative;
  let range = ctx.range;
  if (live) {
    const newest = data.series.reduce((acc, s) => Math.max(acc, s.points.at(-1)?.[0] ?? 0), 0);
    if (newest > range.end) range = { start: range.start + (newest - range.end), end: newest };
  }
  if (isAlertList) {
    const service = ctx.variables.service;
    const filter = service === undefined || service === ".*" ? undefined : (a: { labels: Record<string, string> }) => {
      try {
        return a.labels.service === undefined || new RegExp(`^(?:${service})$`).test(a.labels.service);
      } catch {
        return true;
      }
    };
    return <AlertListPanel rules={ctx.rules.rules} loading={ctx.rules.loading} error={ctx.rules.error} {...(filter ? { filter } : {})} />;
  }
  if (data.queries.length === 0) return <EmptyState title="No query">Edit the panel and write a PromQL query.</EmptyState>;
  if (data.error !== null && data.series.length === 0) return <ErrorState title="Query failed" error={data.error} />;
  if (data.loading && data.series.length === 0) return <Spinner />;
  if (data.series.length === 0 || data.series.every((s) => s.points.length === 0))
    return <EmptyState title="No data">The query returned no series in this time range.</EmptyState>;
  switch (panel.type) {
    case "line":
    case "area":
    case "bar":
      return <TimeSeriesPanel type={panel.type} series={data.series} options={panel.options} range={range} annotations={ctx.annotations} onZoom={ctx.onZoom} />;
    case "stat":
      return <StatPanel series={data.series} options={panel.options} />;
    case "gauge":
      return <GaugePanel series={data.series} options={panel.options} />;
    case "heatmap":
      return <HeatmapPanel series={data.series} byTarget={data.byTarget} options={panel.options} range={range} rules={ctx.rules.rules} />;
    case "table":
      return <TablePanel series={data.series} options={panel.options} />;
  }
}

export function PanelView({ panel, panelKey, ctx, editing, canEdit, onEdit, onDuplicate, onDelete }: {
  panel: PanelDraft;
  panelKey: string;
  ctx: PanelContext;
  editing: boolean;
  canEdit: boolean;
  onEdit: () => void;
  onDuplicate: () => void;
  onDelete: () => void;
}) {
  const [menu, setMenu] = useState(false);
  const dataRef = useRef<ReturnType<typeof usePanelData> | null>(null);
  const [status, setStatus] = useState<{ loading: boolean; error: string | null }>({ loading: false, error: null });
  const menuRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!menu) return;
    const close = (e: MouseEvent) => {
      if (menuRef.current !== null && !menuRef.current.contains(e.target as Node)) setMenu(false);
    };
    document.addEventListener("mousedown", close);
    return () => document.removeEventListener("mousedown", close);
  }, [menu]);

  const exportAs = (kind: "csv" | "json") => {
    const series = dataRef.current?.series ?? [];
    if (kind === "csv") download(`${slug(panel.title)}.csv`, seriesToCsv(series), "text/csv");
    else download(`${slug(panel.title)}.json`, seriesToJson(series), "application/json");
    setMenu(false);
  };

  return (
    <section className="flex h-full flex-col rounded-md border border-line bg-surface" data-testid="panel" data-panel-key={panelKey} data-panel-type={panel.type} aria-label={panel.title || "Panel"}>
      <header className={`panel-drag-handle flex h-8 shrink-0 items-center gap-2 px-2 ${editing ? "cursor-move" : ""}`} data-testid="panel-header">
        <h3 className="min-w-0 flex-1 truncate text-[13px] font-medium text-ink" data-testid="panel-title">{panel.title || "Untitled"}</h3>
        {status.loading && <span className="h-3 w-3 animate-spin rounded-full border-2 border-line border-t-accent" aria-label="loading" />}
        {status.error !== null && <span className="text-xs text-bad" title={status.error}>⚠</span>}
        <div className="relative" ref={menuRef}>
          <button type="button" className="rounded px-1.5 text-ink-muted hover:bg-surface-2 hover:text-ink" aria-label="Panel menu" data-testid="panel-menu" onMouseDown={(e) => e.stopPropagation()} onClick={() => setMenu((m) => !m)}>
            ⋮
          </button>
          {menu && (
            <div className="absolute right-0 z-30 mt-1 w-44 rounded-md border border-line bg-surface-2 py-1 text-sm shadow-xl" role="menu" onMouseDown={(e) => e.stopPropagation()}>
              {canEdit && (
                <>
                  <button type="button" role="menuitem" className="block w-full px-3 py-1.5 text-left hover:bg-canvas" data-testid="panel-edit" onClick={() => { setMenu(false); onEdit(); }}>Edit</button>
                  <button type="button" role="menuitem" className="block w-full px-3 py-1.5 text-left hover:bg-canvas" data-testid="panel-duplicate" onClick={() => { setMenu(false); onDuplicate(); }}>Duplicate</button>
                </>
              )}
              <button type="button" role="menuitem" className="block w-full px-3 py-1.5 text-left hover:bg-canvas" data-testid="panel-export-csv" onClick={() => exportAs("csv")}>Export CSV</button>
              <button type="button" role="menuitem" className="block w-full px-3 py-1.5 text-left hover:bg-canvas" data-testid="panel-export-json" onClick={() => exportAs("json")}>Export JSON</button>
              {canEdit && (
                <button type="button" role="menuitem" className="block w-full px-3 py-1.5 text-left text-bad hover:bg-canvas" data-testid="panel-delete" onClick={() => { setMenu(false); onDelete(); }}>Delete</button>
              )}
            </div>
          )}
        </div>
      </header>
      <div className="relative min-h-0 flex-1 px-2 pb-2" onMouseDown={(e) => { if (!editing) e.stopPropagation(); }}>
        <PanelBody
          panel={panel}
          ctx={ctx}
          onData={(d) => {
            dataRef.current = d;
            if (d.loading !== status.loading || d.error !== status.error) setStatus({ loading: d.loading, error: d.error });
          }}
        />
      </div>
    </section>
  );
}
