// A rule's history: each firing and resolution, newest first, with how its notification went.

import { formatValue } from "../explore/transform";
import { alertsApi } from "./api";
import type { Rule } from "./types";
import { Badge, Button, Empty, ErrorBox, LabelList, Loading } from "./ui";
import { useResource } from "./useResource";

export function RuleHistory({ rule, onClose }: { rule: Rule; onClose: () => void }) {
  const events = useResource((signal) => alertsApi.history(rule.id, 200, signal), [rule.id], 5000);
  return (
    <section data-testid="rule-history" className="space-y-3">
      <div className="flex items-center justify-between">
        <h2 className="text-lg font-semibold text-ink">History of {rule.name}</h2>
        <Button onClick={onClose}>Back to rules</Button>
      </div>
      {events.error !== null && <ErrorBox error={events.error} retry={events.reload} />}
      {events.loading && <Loading what="the history" />}
      {events.data && events.data.length === 0 && (
        <Empty testId="rule-history-empty">
          {rule.name} has not fired yet. Transitions to firing and back appear here.
        </Empty>
      )}
      {events.data && events.data.length > 0 && (
        <div className="overflow-x-auto rounded-lg border border-line">
          <table className="w-full text-left text-sm">
            <thead className="bg-surface-2 text-xs uppercase text-ink-muted">
              <tr>
                <th className="px-3 py-2">At</th><th className="px-3 py-2">Event</th>
                <th className="px-3 py-2">Labels</th><th className="px-3 py-2 text-right">Value</th>
                <th className="px-3 py-2">Notification</th>
              </tr>
            </thead>
            <tbody>
              {events.data.map((e) => (
                <tr key={e.id} data-testid="rule-history-row" className="border-t border-line align-top">
                  <td className="whitespace-nowrap px-3 py-1.5 text-xs text-ink-muted">
                    {e.at ? new Date(e.at).toLocaleString() : "—"}
                  </td>
                  <td className="px-3 py-1.5"><Badge>{e.kind}</Badge></td>
                  <td className="px-3 py-1.5"><LabelList labels={e.labels} omit={["alertname"]} /></td>
                  <td className="px-3 py-1.5 text-right font-mono">{formatValue(e.value)}</td>
                  <td className="px-3 py-1.5 text-xs">
                    <Badge kind={e.notification_status}>{e.notification_status}</Badge>
                    {e.notification_error && (
                      <span className="ml-2 text-bad">{e.notification_error}</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
