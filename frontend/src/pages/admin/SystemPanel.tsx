// System: each dependency's status and latency, uptime and version; series, samples,
// ingest rate, queue depths, database size and cache hit rate.

import { Badge, ErrorBox, Loading } from "../alerts/ui";
import { useResource } from "../alerts/useResource";
import { adminApi, formatBytes, formatUptime } from "./api";

function Stat({ label, value, hint, testId }: {
  label: string; value: string; hint?: string; testId?: string;
}) {
  return (
    <div data-testid={testId} data-value={value} className="card p-4">
      <div className="text-xs uppercase tracking-wide text-ink-muted">{label}</div>
      <div className="mt-1 text-2xl font-semibold text-ink">{value}</div>
      {hint && <div className="mt-1 text-xs text-ink-muted">{hint}</div>}
    </div>
  );
}

export function SystemPanel() {
  const health = useResource((signal) => adminApi.health(signal), [], 10_000);
  const stats = useResource((signal) => adminApi.stats(signal), [], 10_000);
  return (
    <div className="space-y-6">
      <section>
        <h2 className="mb-2 text-sm font-semibold text-ink">Health</h2>
        {health.error !== null && <ErrorBox error={health.error} retry={health.reload} />}
        {health.loading && <Loading what="health" />}
        {health.data && (
          <div data-testid="admin-health" className="card p-4">
            <div className="mb-3 flex flex-wrap items-center gap-4 text-sm text-ink">
              <Badge testId="admin-health-status">{health.data.status}</Badge>
              <span>version {health.data.version}</span>
              <span>query service up {formatUptime(health.data.uptime_s)}</span>
            </div>
            <table className="w-full text-left text-sm">
              <tbody>
                {Object.entries(health.data.dependencies).map(([name, d]) => (
                  <tr key={name} data-testid="admin-dependency" className="border-t border-line">
                    <td className="py-1.5 pr-4 capitalize text-ink">{name}</td>
                    <td className="py-1.5 pr-4"><Badge>{d.status}</Badge></td>
                    <td className="py-1.5 pr-4 text-right font-mono text-ink-muted">{d.latency_ms} ms</td>
                    <td className="py-1.5 text-xs text-bad">{d.error ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section>
        <h2 className="mb-2 text-sm font-semibold text-ink">Statistics</h2>
        {stats.error !== null && <ErrorBox error={stats.error} retry={stats.reload} />}
        {stats.loading && <Loading what="statistics" />}
        {stats.data && (
          <div data-testid="admin-stats" className="grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-6">
            <Stat label="Series" value={stats.data.series.toLocaleString()} testId="admin-stat-series" />
            {stats.data.samples === 0 && stats.data.series > 0
              ? <Stat label="Samples" value="—" hint="PostgreSQL estimates it after its next ANALYZE" />
              : <Stat label="Samples" value={`≈ ${stats.data.samples.toLocaleString()}`}
                hint="PostgreSQL's estimate" />}
            <Stat label="Ingest rate" value={`${stats.data.ingest_rate_per_s.toLocaleString()}/s`} />
            <Stat label="Database size" value={formatBytes(stats.data.database_bytes)} />
            <Stat label="Cache hit rate" value={stats.data.cache_hit_rate === null ? "—"
              : `${(stats.data.cache_hit_rate * 100).toFixed(1)}%`} hint={stats.data.cache_scope} />
            <Stat label="Queues (ingest / DLQ)" value={stats.data.queue_depth === null
              ? "broker down"
              : `${stats.data.queue_depth["metrics.ingest"] ?? 0} / ${stats.data.queue_depth["metrics.dlq"] ?? 0}`} />
          </div>
        )}
      </section>
    </div>
  );
}
