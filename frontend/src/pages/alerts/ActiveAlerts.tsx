// Alerts pending and firing now (/prometheus/api/v1/alerts), each with the silences that
// mute it and a button that starts a silence for exactly its labels.

import { formatValue, sampleValue } from "../explore/transform";
import { ago } from "./duration";
import { matchesLabels } from "./matchers";
import type { Matcher, PrometheusAlert, Silence } from "./types";
import { Badge, Button, Empty, LabelList } from "./ui";

export function ActiveAlerts({ alerts, silences, editable, onSilence, now }: {
  alerts: PrometheusAlert[]; silences: Silence[]; editable: boolean;
  onSilence: (matchers: Matcher[]) => void; now: number;
}) {
  if (alerts.length === 0) {
    return <Empty testId="active-empty">Nothing is pending or firing. All quiet.</Empty>;
  }
  const order = { firing: 0, pending: 1 };
  const sorted = [...alerts].sort((a, b) => order[a.state] - order[b.state]
    || a.activeAt.localeCompare(b.activeAt));
  return (
    <div className="overflow-x-auto rounded-lg border border-line">
      <table data-testid="active-table" className="w-full text-left text-sm">
        <thead className="bg-surface-2 text-xs uppercase text-ink-muted">
          <tr>
            <th className="px-3 py-2">State</th><th className="px-3 py-2">Alert</th>
            <th className="px-3 py-2">Labels</th><th className="px-3 py-2">Summary</th>
            <th className="px-3 py-2 text-right">Value</th><th className="px-3 py-2">Active since</th>
            <th className="px-3 py-2" />
          </tr>
        </thead>
        <tbody>
          {sorted.map((a) => {
            const muting = silences.filter((s) => s.status.state === "active"
              && matchesLabels(s.matchers, a.labels));
            const labels = Object.entries(a.labels).filter(([k]) => k !== "alertname");
            return (
              <tr key={JSON.stringify(a.labels)} data-testid="active-alert"
                data-alertname={a.labels.alertname} data-state={a.state}
                className="border-t border-line align-top">
                <td className="px-3 py-2">
                  <Badge>{a.state}</Badge>
                  {muting.length > 0 && <div className="mt-1"><Badge kind="silenced">silenced</Badge></div>}
                </td>
                <td className="px-3 py-2 font-medium text-ink">{a.labels.alertname}</td>
                <td className="px-3 py-2"><LabelList labels={a.labels} omit={["alertname"]} /></td>
                <td className="max-w-sm px-3 py-2 text-ink">
                  {a.annotations.summary ?? a.annotations.description ?? ""}
                </td>
                <td className="px-3 py-2 text-right font-mono" title={a.value}>
                  {a.value === "" ? "—" : formatValue(sampleValue(a.value))}
                </td>
                <td className="whitespace-nowrap px-3 py-2 text-xs text-ink-muted"
                  title={new Date(a.activeAt).toLocaleString()}>{ago(a.activeAt, now)}</td>
                <td className="px-3 py-2 text-right">
                  {editable && muting.length === 0 && (
                    <Button variant="ghost" className="text-xs" onClick={() => onSilence(
                      labels.map(([name, value]) => ({ name, value, isRegex: false, isEqual: true })))}>
                      Silence…
                    </Button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
