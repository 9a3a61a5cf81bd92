/** Dashboards: search, create, import (Lookout or Grafana JSON) and export. */
import { Link, useNavigate } from "@tanstack/react-router";
import { useEffect, useMemo, useState } from "react";

import { dashboards as api, type DashboardSummary, type ImportReport } from "../../api";
import { EmptyState, ErrorState, Spinner } from "../../components/states";
import { download, slug } from "../../lib/download";
import { canEditDashboard, hasRole, useAuth } from "../../stores/auth";

function ImportDialog({ onClose, onImported }: { onClose: () => void; onImported: (id: number, report: ImportReport) => void }) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (e) {
      setError(`Not JSON: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    setBusy(true);
    try {
      const { dashboard, report } = await api.importJson(document);
      onImported(dashboard.id, report);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="fixed inset-0 z-50 flex items-center justify-center bg-black/60 p-4" role="dialog" aria-label="Import dashboard" data-testid="import-dialog">
      <div className="card w-full max-w-2xl p-5">
        <h2 className="mb-1 text-base font-semibold">Import a dashboard</h2>
        <p className="mb-3 text-sm text-ink-muted">Paste or upload Lookout dashboard JSON, or a Grafana dashboard (its panels, variables and Prometheus queries are converted; a report lists what was not).</p>
        <input
          type="file"
          accept="application/json,.json"
          className="mb-2 block text-sm text-ink-muted file:mr-3 file:rounded-md file:border file:border-line file:bg-surface-2 file:px-3 file:py-1 file:text-ink"
          data-testid="import-file"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file !== undefined) void file.text().then(setText);
          }}
        />
        <textarea className="input h-64 font-mono text-xs" value={text} onChange={(e) => setText(e.target.value)} placeholder='{"format": "lookout.dashboard/v1", ...} or a Grafana dashboard' data-testid="import-json" />
        {error !== null && <div className="mt-2"><ErrorState title="Not imported" error={error} /></div>}
        <div className="mt-3 flex justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button type="button" className="btn btn-primary" disabled={busy || text.trim() === ""} onClick={() => void submit()} data-testid="import-submit">{busy ? "Importing…" : "Import"}</button>
        </div>
      </div>
    </div>
  );
}

function ImportReportBanner({ report, id, onClose }: { report: ImportReport; id: number; onClose: () => void }) {
  const missing = report.not_converted ?? [];
  const warnings = report.warnings ?? [];
  return (
    <div className="card mb-4 p-4 text-sm" data-testid="import-report">
      <div className="flex items-center gap-2">
        <p className="flex-1 font-medium text-ok">Imported from {report.source ?? "JSON"}{typeof report.panels_converted === "number" ? `: ${report.panels_converted} panels converted` : ""}.</p>
        <Link to="/dashboards/$id" params={{ id: String(id) }} className="btn btn-primary">Open it</Link>
        <button type="button" className="btn btn-ghost" onClick={onClose} aria-label="Close report">✕</button>
      </div>
      {missing.length > 0 && (
        <>
          <p className="mt-2 text-ink-muted">Not converted:</p>
          <ul className="ml-4 list-disc text-ink-muted">{missing.map((m, i) => <li key={i}><span className="text-ink">{m.where}</span>: {m.what}</li>)}</ul>
        </>
      )}
      {warnings.length > 0 && <ul className="ml-4 mt-2 list-disc text-warn">{warnings.map((w, i) => <li key={i}>{w}</li>)}</ul>}
    </div>
  );
}

export default function DashboardsListPage() {
  const user = useAuth((s) => s.user);
  const navigate = useNavigate();
  const [list, setList] = useState<DashboardSummary[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [filter, setFilter] = useState("");
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState("");
  const [createError, setCreateError] = useState<string | null>(null);
  const [importing, setImporting] = useState(false);
  const [report, setReport] = useState<{ id: number; report: ImportReport } | null>(null);
  const [reloadKey, setReloadKey] = useState(0);

  useEffect(() => {
    let cancelled = false;
    api
      .list()
      .then(({ dashboards }) => !cancelled && (setList(dashboards), setError(null)))
      .catch((e: unknown) => !cancelled && setError(e));
    return () => {
      cancelled = true;
    };
  }, [reloadKey]);

  const shown = useMemo(() => {
    const f = filter.trim().toLowerCase();
    return (list ?? [])
      .filter((d) => f === "" || d.name.toLowerCase().includes(f) || d.description.toLowerCase().includes(f))
      .sort((a, b) => a.name.localeCompare(b.name));
  }, [list, filter]);

  const create = async () => {
    try {
      const d = await api.create({ name: name.trim() });
      void navigate({ to: "/dashboards/$id", params: { id: String(d.id) } });
    } catch (e) {
      setCreateError(e instanceof Error ? e.message : String(e));
    }
  };

  const exportOne = async (d: DashboardSummary) => {
    try {
      const doc = await api.exportJson(d.id);
      download(`${slug(d.name)}.json`, JSON.stringify(doc, null, 2), "application/json");
    } catch (e) {
      setError(e);
    }
  };

  const remove = async (d: DashboardSummary) => {
    if (!window.confirm(`Delete the dashboard "${d.name}" and its panels?`)) return;
    try {
      await api.remove(d.id);
      setReloadKey((k) => k + 1);
    } catch (e) {
      setError(e);
    }
  };

  const isEditor = hasRole(user, "editor");
  return (
    <div className="mx-auto max-w-6xl p-6" data-testid="dashboards-page">
      <div className="mb-5 flex flex-wrap items-center gap-3">
        <h1 className="flex-1 text-xl font-semibold">Dashboards</h1>
        <input className="input w-72" placeholder="Search dashboards" value={filter} onChange={(e) => setFilter(e.target.value)} aria-label="Search dashboards" data-testid="dashboard-search" />
        {isEditor && (
          <>
            <button type="button" className="btn" onClick={() => setImporting(true)} data-testid="import-dashboard">Import</button>
            <button type="button" className="btn btn-primary" onClick={() => { setCreating(true); setCreateError(null); }} data-testid="new-dashboard">+ New dashboard</button>
          </>
        )}
      </div>
      {creating && (
        <form className="card mb-4 flex flex-wrap items-center gap-2 p-3" onSubmit={(e) => { e.preventDefault(); void create(); }} data-testid="create-dashboard-form">
          <input className="input w-80" autoFocus placeholder="Dashboard name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} data-testid="new-dashboard-name" />
          <button type="submit" className="btn btn-primary" disabled={name.trim() === ""} data-testid="create-dashboard">Create</button>
          <button type="button" className="btn" onClick={() => setCreating(false)}>Cancel</button>
          {createError !== null && <p className="w-full text-sm text-bad" role="alert">{createError}</p>}
        </form>
      )}
      {report !== null && <ImportReportBanner id={report.id} report={report.report} onClose={() => setReport(null)} />}
      {error !== null && <div className="mb-4"><ErrorState title="Dashboards could not be loaded" error={error} onRetry={() => setReloadKey((k) => k + 1)} /></div>}
      {list === null && error === null ? (
        <Spinner label="Loading dashboards" />
      ) : list !== null && shown.length === 0 ? (
        <div className="card"><EmptyState title={filter ? `No dashboard matches "${filter}"` : "No dashboards yet"}>{isEditor && !filter ? "Create one or import a Grafana dashboard." : null}</EmptyState></div>
      ) : (
        <ul className="card divide-y divide-line" data-testid="dashboard-list">
          {shown.map((d) => (
            <li key={d.id} className="flex items-center gap-3 px-4 py-3 hover:bg-surface-2/50" data-testid="dashboard-row">
              <svg viewBox="0 0 24 24" className="h-5 w-5 shrink-0 text-ink-muted" fill="none" stroke="currentColor" strokeWidth="1.6"><path d="M3 3h8v8H3zM13 3h8v5h-8zM13 10h8v11h-8zM3 13h8v8H3z" /></svg>
              <div className="min-w-0 flex-1">
                <Link to="/dashboards/$id" params={{ id: String(d.id) }} className="font-medium text-ink hover:text-accent" data-testid="dashboard-link">{d.name}</Link>
                {d.description && <p className="truncate text-xs text-ink-muted">{d.description}</p>}
              </div>
              {d.provisioned && <span className="rounded bg-surface-2 px-1.5 py-0.5 text-[10px] uppercase text-ink-muted">provisioned</span>}
              <span className="w-28 truncate text-xs text-ink-muted">{d.owner?.username ?? "—"}</span>
              <span className="w-36 text-xs text-ink-muted">{new Date(d.updated_at).toLocaleString()}</span>
              <button type="button" className="btn btn-ghost px-2 text-xs" onClick={() => void exportOne(d)} data-testid="export-dashboard">Export</button>
              {canEditDashboard(user, d.owner?.id ?? null) && (
                <button type="button" className="btn btn-ghost px-2 text-xs text-bad" onClick={() => void remove(d)} data-testid="delete-dashboard">Delete</button>
              )}
            </li>
          ))}
        </ul>
      )}
      {importing && (
        <ImportDialog
          onClose={() => setImporting(false)}
          onImported={(id, r) => {
            setImporting(false);
            setReport({ id, report: r });
            setReloadKey((k) => k + 1);
          }}
        />
      )}
    </div>
  );
}
