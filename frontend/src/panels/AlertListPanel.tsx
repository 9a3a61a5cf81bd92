/** The alerts that are firing or pending now (a table panel with `options.source = "alerts"`). */
import type { AlertRule, SeriesAlert } from "../api/types";
import { EmptyState, ErrorState, Spinner } from "../components/states";

const STATE_STYLE: Record<string, string> = {
  firing: "bg-bad/20 text-bad border-bad/40",
  pending: "bg-warn/15 text-warn border-warn/40",
};

function since(iso: string | null): string {
  if (iso === null) return "";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export function AlertListPanel({ rules, loading, error, filter }: {
  rules: readonly AlertRule[];
  loading: boolean;
  error: string | null;
  /** Only alerts whose labels match (e.g. the dashboard's service variable). */
  filter?: (alert: SeriesAlert) => boolean;
}) {
  if (loading && rules.length === 0) return <Spinner label="Loading alerts" />;
  if (error !== null && rules.length === 0) return <ErrorState title="Alerts are unavailable" error={error} />;
  const active = rules
    .flatMap((rule) => rule.alerts.filter((a) => a.state === "firing" || a.state === "pending").map((a) => ({ rule, alert: a })))
    .filter(({ alert }) => filter === undefined || filter(alert))
    .sort((a, b) => (a.alert.state === b.alert.state ? 0 : a.alert.state === "firing" ? -1 : 1));
  if (active.length === 0)
    return (
      <EmptyState title="No alerts firing">
        {rules.length === 0 ? "No alert rules yet: add them on the Alerts page." : `All ${rules.length} rules are quiet.`}
      </EmptyState>
    );
  return (
    <ul className="h-full space-y-1 overflow-auto text-xs" data-testid="alert-list">
      {active.map(({ rule, alert }) => (
        <li key={`${rule.id}-${alert.fingerprint}`} className="flex items-center gap-2 rounded-md bg-surface-2/60 px-2 py-1.5" data-testid="alert-row" data-state={alert.state} data-alertname={rule.name}>
          <span className={`rounded border px-1.5 py-0.5 text-[10px] font-semibold uppercase ${STATE_STYLE[alert.state] ?? ""}`}>{alert.state}</span>
          <span className="font-medium text-ink">{rule.name}</span>
          {alert.labels.service !== undefined && <span className="text-ink-muted">{alert.labels.service}</span>}
          <span className="rounded bg-canvas px-1 text-[10px] uppercase text-ink-muted">{rule.severity}</span>
          <span className="ml-auto truncate text-ink-muted" title={alert.annotations.summary ?? ""}>{alert.annotations.summary ?? ""}</span>
          <span className="shrink-0 tabular-nums text-ink-muted">{since(alert.fired_at ?? alert.active_at)}</span>
        </li>
      ))}
    </ul>
  );
}
