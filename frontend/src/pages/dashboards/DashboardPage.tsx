/** Dashboard view and edit: variables, time range, refresh and live mode in the toolbar; the
 * panels on a 24-column grid (drag and resize while editing); save with the version read, a
 * conflict explained with the user's changes kept. */
import { Link, useNavigate, useParams, useSearch } from "@tanstack/react-router";
import { useCallback, useEffect, useMemo, useState, type ReactNode } from "react";
import ReactGridLayout, { useContainerWidth } from "react-grid-layout";

import type { PanelDraft } from "../../api/types";
import { ConnectionIndicator, LiveToggle } from "../../components/LiveIndicator";
import { ErrorState, Spinner } from "../../components/states";
import { RefreshPicker, TimeRangePicker } from "../../components/TimePicker";
import { useAlertAnnotations, useAlertRules } from "../../hooks/useAlerts";
import { parseDuration, resolveRange, absoluteRange, type ResolvedRange, type TimeRange } from "../../lib/time";
import { initialSelection, variableText } from "../../lib/variables";
import type { PanelContext } from "../../panels/PanelView";
import { PanelView } from "../../panels/PanelView";
import { canEditDashboard, useAuth } from "../../stores/auth";
import { useDashboard, type EditablePanel } from "../../stores/dashboard";
import { useLive } from "../../stores/live";
import { PanelEditor } from "./PanelEditor";
import { VariablesBar } from "./VariablesBar";

const NEW_PANEL: PanelDraft = { title: "New panel", type: "line", query: "", options: {}, position: { x: 0, y: 0, w: 12, h: 8 } };

function ConflictBanner() {
  const conflict = useDashboard((s) => s.conflict);
  const overwrite = useDashboard((s) => s.overwrite);
  const dashboard = useDashboard((s) => s.dashboard);
  const load = useDashboard((s) => s.load);
  if (conflict === null) return null;
  return (
    <div role="alert" className="mx-4 mt-3 rounded-md border border-warn/50 bg-warn/10 p-3 text-sm" data-testid="save-conflict">
      <p className="font-medium text-warn">Not saved: someone else saved this dashboard after you opened it.</p>
      <p className="mt-1 text-ink">{conflict.message}</p>
      <p className="mt-1 text-ink-muted">Your changes are still here. Save them over the newer version, or reload theirs and lose yours.</p>
      <div className="mt-2 flex gap-2">
        <button type="button" className="btn btn-primary" onClick={() => void overwrite()} data-testid="conflict-overwrite">Save mine over theirs</button>
        <button type="button" className="btn btn-danger" onClick={() => dashboard !== null && void load(dashboard.id)} data-testid="conflict-reload">Discard mine and reload</button>
      </div>
    </div>
  );
}

/** The grid measures its own box: it mounts with the dashboard, so the width is right at once. */
function Grid({ children, layout, editing, onLayout }: {
  children: ReactNode;
  layout: { i: string; x: number; y: number; w: number; h: number; minW: number; minH: number }[];
  editing: boolean;
  onLayout: (layout: { i: string; x: number; y: number; w: number; h: number }[]) => void;
}) {
  const { width, containerRef, mounted } = useContainerWidth();
  return (
    <div ref={containerRef} className="min-w-0" data-grid-width={Math.round(width)}>
      {mounted && (
        <ReactGridLayout
          width={width}
          layout={layout}
          gridConfig={{ cols: 24, rowHeight: 30, margin: [8, 8] }}
          dragConfig={{ enabled: editing, handle: ".panel-drag-handle", cancel: "button" }}
          resizeConfig={{ enabled: editing }}
          onLayoutChange={(l) => onLayout(l.map(({ i, x, y, w, h }) => ({ i, x, y, w, h })))}
        >
          {children}
        </ReactGridLayout>
      )}
    </div>
  );
}

export default function DashboardPage() {
  const params = useParams({ strict: false }) as { id?: string };
  const search = useSearch({ strict: false }) as Record<string, string | undefined>;
  const navigate = useNavigate();
  const id = Number(params.id);
  const user = useAuth((s) => s.user);
  const store = useDashboard();
  const { dashboard, panels, editing, dirty, loading, loadError, saving, saveError } = store;
  const liveEnabled = useLive((s) => s.enabled);
  const [editor, setEditor] = useState<{ key: string | null; panel: PanelDraft } | null>(null);
  const [tick, setTick] = useState(() => ({ key: 0, now: Date.now() }));
  const refreshKey = tick.key;
  const bump = useCallback(() => setTick((t) => ({ key: t.key + 1, now: Date.now() })), []);

  useEffect(() => {
    if (Number.isInteger(id)) void store.load(id);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id]);

  // Unsaved changes survive a reload prompt, not a silent navigation away.
  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  const timeRange: TimeRange = {
    from: search.from ?? dashboard?.time_range.from ?? "now-1h",
    to: search.to ?? dashboard?.time_range.to ?? "now",
  };
  const refresh = search.refresh ?? dashboard?.refresh ?? "";
  const relative = timeRange.to.startsWith("now");

  const rangeResult = useMemo((): { range: ResolvedRange | null; error: string | null } => {
    try {
      return { range: resolveRange(timeRange, tick.now), error: null };
    } catch (e) {
      return { range: null, error: e instanceof Error ? e.message : String(e) };
    }
    // refreshKey moves a relative range along with the clock.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [timeRange.from, timeRange.to, tick.now]);

  useEffect(() => {
    const ms = parseDuration(refresh);
    if (ms === null || ms <= 0 || liveEnabled || !relative) return;
    const timer = setInterval(bump, Math.max(1000, ms));
    return () => clearInterval(timer);
  }, [refresh, liveEnabled, relative, bump]);

  const variables = useMemo(() => dashboard?.variables ?? [], [dashboard]);
  const selection = useMemo(() => {
    const out: Record<string, string[]> = {};
    for (const v of variables) out[v.name] = initialSelection(v, search[`var-${v.name}`]);
    return out;
  }, [variables, search]);
  const variableValues = useMemo(() => {
    const out: Record<string, string> = {};
    for (const v of variables) out[v.name] = variableText(v, selection[v.name] ?? []);
    return out;
  }, [variables, selection]);

  const rules = useAlertRules(refreshKey, dashboard !== null);
  const events = useAlertAnnotations(rules.rules, refreshKey);
  const liveAlerts = useLive((s) => s.alerts);
  const annotations = useMemo(
    () => [
      ...events.map((e) => ({ time: e.time, text: e.text, color: e.kind === "resolved" ? "#22c55e" : "#ef4444" })),
      ...liveAlerts.map((a) => ({
        time: typeof a.time === "number" ? (a.time < 1e11 ? a.time * 1000 : a.time) : Date.parse(a.time),
        text: `${a.alertname}: ${a.state}`,
        color: a.state === "resolved" || a.state === "inactive" ? "#22c55e" : "#ef4444",
      })),
    ],
    [events, liveAlerts],
  );

  const setSearch = useCallback(
    (patch: Record<string, string | undefined>) => {
      void navigate({ to: ".", search: (prev: Record<string, unknown>) => ({ ...prev, ...patch }) as never, replace: true });
    },
    [navigate],
  );
  const onZoom = useCallback((start: number, end: number) => { setSearch({ ...absoluteRange(start, end) }); bump(); }, [setSearch, bump]);

  if (!Number.isInteger(id)) return <div className="p-6"><ErrorState title="No such dashboard" error={`"${params.id}" is not a dashboard id`} /></div>;
  if (loading && dashboard === null) return <div className="p-6"><Spinner label="Loading dashboard" /></div>;
  if (loadError !== null) return <div className="p-6"><ErrorState title="The dashboard could not be loaded" error={loadError} onRetry={() => void store.load(id)} /></div>;
  if (dashboard === null) return null;

  const canEdit = canEditDashboard(user, dashboard.owner?.id ?? null);
  const ctx: PanelContext | null =
    rangeResult.range === null
      ? null
      : { range: rangeResult.range, relative, variables: variableValues, refreshKey, annotations, rules, onZoom };

  const openEditor = (p: EditablePanel | null) =>
    setEditor(p === null ? { key: null, panel: NEW_PANEL } : { key: p.key, panel: { title: p.title, type: p.type, query: p.query, options: p.options, position: p.position } });

  const layout = panels.map((p) => ({ i: p.key, ...p.position, minW: 2, minH: 3 }));

  return (
    <div className="flex min-h-full flex-col" data-testid="dashboard-page" data-dashboard-id={dashboard.id} data-version={dashboard.version}>
      <div className="sticky top-0 z-20 flex flex-wrap items-center gap-2 border-b border-line bg-canvas/95 px-4 py-2 backdrop-blur">
        <Link to="/dashboards" className="text-sm text-ink-muted hover:text-ink">Dashboards /</Link>
        {editing ? (
          <input className="input w-64 py-1" value={store.name} onChange={(e) => store.setName(e.target.value)} aria-label="Dashboard name" data-testid="dashboard-name-input" />
        ) : (
          <h1 className="text-base font-semibold" data-testid="dashboard-title">{dashboard.name}</h1>
        )}
        {dashboard.provisioned && <span className="rounded bg-surface-2 px-1.5 py-0.5 text-[10px] uppercase text-ink-muted" title="Loaded from a file at start">provisioned</span>}
        {dirty && <span className="text-xs text-warn" data-testid="unsaved">unsaved changes</span>}
        <div className="ml-auto flex flex-wrap items-center gap-2">
          {editing ? (
            <>
              <button type="button" className="btn" onClick={() => openEditor(null)} data-testid="add-panel">+ Add panel</button>
              <button type="button" className="btn" onClick={() => store.discard()} data-testid="discard">Discard</button>
              <button type="button" className="btn btn-primary" disabled={saving || !dirty} onClick={() => void store.save().then((ok) => ok && store.setEditing(false))} data-testid="save-dashboard">
                {saving ? "Saving…" : "Save"}
              </button>
            </>
          ) : (
            canEdit && <button type="button" className="btn" onClick={() => store.setEditing(true)} data-testid="edit-dashboard">Edit</button>
          )}
          <span className="mx-1 h-5 w-px bg-line" />
          <TimeRangePicker value={timeRange} onChange={(r) => { setSearch({ from: r.from, to: r.to }); bump(); }} />
          <RefreshPicker value={refresh} onChange={(r) => setSearch({ refresh: r })} onRefresh={bump} disabled={liveEnabled} />
          <LiveToggle {...(relative ? {} : { disabled: true, reason: "Live mode needs a range that ends now" })} />
          <ConnectionIndicator />
        </div>
      </div>
      <div className="flex flex-wrap items-center gap-2 px-4 pt-3">
        <VariablesBar variables={variables} selection={selection} onChange={(name, values) => setSearch({ [`var-${name}`]: values.join(",") })} />
        {!canEdit && <span className="ml-auto text-xs text-ink-muted" data-testid="read-only">Read only: {user?.role === "viewer" ? "viewers cannot edit dashboards" : "only its owner or an admin may change it"}</span>}
      </div>
      <ConflictBanner />
      {saveError !== null && <div className="mx-4 mt-3"><ErrorState title="Not saved" error={saveError} /></div>}
      {rangeResult.error !== null && <div className="mx-4 mt-3"><ErrorState title="Bad time range" error={rangeResult.error} /></div>}
      <div className="min-w-0 flex-1 px-2 pb-8 pt-1" data-testid="dashboard-grid">
        {panels.length === 0 && (
          <div className="m-4 rounded-md border border-dashed border-line p-10 text-center text-ink-muted">
            <p className="text-ink">This dashboard has no panels yet.</p>
            {canEdit && (
              <button type="button" className="btn btn-primary mt-3" onClick={() => { store.setEditing(true); openEditor(null); }} data-testid="add-first-panel">
                + Add a panel
              </button>
            )}
          </div>
        )}
        {ctx !== null && panels.length > 0 && (
          <Grid layout={layout} editing={editing} onLayout={(l) => { if (useDashboard.getState().editing) store.applyLayout(l); }}>
            {panels.map((p) => (
              <div key={p.key} data-testid="grid-item" data-panel-key={p.key} data-x={p.position.x} data-y={p.position.y} data-w={p.position.w} data-h={p.position.h}>
                <PanelView
                  panel={p}
                  panelKey={p.key}
                  ctx={ctx}
                  editing={editing}
                  canEdit={canEdit}
                  onEdit={() => { store.setEditing(true); openEditor(p); }}
                  onDuplicate={() => { store.setEditing(true); store.duplicatePanel(p.key); }}
                  onDelete={() => { store.setEditing(true); store.removePanel(p.key); }}
                />
              </div>
            ))}
          </Grid>
        )}
      </div>
      {editor !== null && ctx !== null && (
        <PanelEditor
          initial={editor.panel}
          ctx={ctx}
          onCancel={() => setEditor(null)}
          onApply={(panel) => {
            if (editor.key === null) store.addPanel(panel);
            else store.updatePanel(editor.key, panel);
            setEditor(null);
          }}
        />
      )}
    </div>
  );
}
