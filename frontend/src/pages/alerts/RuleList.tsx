// The rules table: state, expression, severity, timing, targets, and the actions an
// editor may take (edit, enable/disable, history, delete).

import { useState } from "react";

import { alertsApi } from "./api";
import { formatDuration } from "./duration";
import type { Me } from "./me";
import { ruleExpression } from "./ruleForm";
import type { Rule } from "./types";
import { Badge, Button, Empty, ErrorBox } from "./ui";

/** Whether `me` may change `rule`: an admin any rule, an editor their own (as the API decides). */
export function mayChange(rule: Rule, me: Me | undefined): boolean {
  if (me?.role === "admin") return true;
  return me?.role === "editor" && rule.owner?.id === me.id;
}

export function RuleList({ rules, me, onEdit, onHistory, onChanged }: {
  rules: Rule[]; me: Me | undefined; onEdit: (rule: Rule) => void;
  onHistory: (rule: Rule) => void; onChanged: () => void;
}) {
  const editable = me?.role === "editor" || me?.role === "admin";
  const [error, setError] = useState<unknown>(null);
  const [filter, setFilter] = useState("");

  const act = async (what: () => Promise<unknown>) => {
    setError(null);
    try {
      await what();
      onChanged();
    } catch (e) {
      setError(e);
    }
  };

  if (rules.length === 0) {
    return (
      <Empty testId="rules-empty">
        No alert rules yet.{editable ? " Create one with “New rule”, or import a Prometheus rule file through the API."
          : " Editors create them."}
      </Empty>
    );
  }
  const shown = rules.filter((r) => !filter
    || `${r.name} ${r.group} ${r.query}`.toLowerCase().includes(filter.toLowerCase()));
  return (
    <div className="space-y-3">
      {error !== null && <ErrorBox error={error} testId="rules-action-error" />}
      <input aria-label="Filter rules" placeholder="Filter by name, group or query…" value={filter}
        onChange={(e) => setFilter(e.target.value)}
        className="w-72 rounded border border-line bg-canvas px-2 py-1.5 text-sm text-ink" />
      <div className="overflow-x-auto rounded-lg border border-line">
        <table data-testid="rules-table" className="w-full text-left text-sm">
          <thead className="bg-surface-2 text-xs uppercase text-ink-muted">
            <tr>
              <th className="px-3 py-2">State</th><th className="px-3 py-2">Rule</th>
              <th className="px-3 py-2">Expression</th><th className="px-3 py-2">Severity</th>
              <th className="px-3 py-2">For</th><th className="px-3 py-2">Targets</th>
              <th className="px-3 py-2 text-right">Actions</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((rule) => {
              const firing = rule.alerts.filter((a) => a.state === "firing").length;
              return (
                <tr key={rule.id} data-testid="rule-row" data-rule-name={rule.name}
                  data-state={rule.state} className="border-t border-line align-top hover:bg-surface-2/60">
                  <td className="px-3 py-2">
                    <Badge kind={rule.enabled ? rule.state : "disabled"} testId="rule-state">
                      {rule.enabled ? rule.state : "disabled"}
                    </Badge>
                    {firing > 0 && <div className="mt-1 text-xs text-bad">{firing} series</div>}
                  </td>
                  <td className="px-3 py-2">
                    <div className="font-medium text-ink">{rule.name}</div>
                    <div className="text-xs text-ink-muted">
                      {rule.group}{rule.provisioned ? " · provisioned" : ""}
                      {` · ${rule.owner?.username ?? "admins"}`}
                    </div>
                  </td>
                  <td className="max-w-md px-3 py-2 font-mono text-xs text-ink">
                    {ruleExpression(rule.query, rule.condition, rule.threshold)}
                  </td>
                  <td className="px-3 py-2"><Badge>{rule.severity}</Badge></td>
                  <td className="whitespace-nowrap px-3 py-2 text-xs text-ink">
                    {formatDuration(rule.for)}
                    {rule.interval !== null && (
                      <div className="text-ink-muted">every {formatDuration(rule.interval)}</div>
                    )}
                    {rule.keep_firing_for > 0 && (
                      <div className="text-ink-muted">keep {formatDuration(rule.keep_firing_for)}</div>
                    )}
                  </td>
                  <td className="px-3 py-2 text-xs text-ink-muted">
                    {rule.notification_targets.length === 0 ? "—"
                      : rule.notification_targets.map((t) => (
                        <div key={`${t.type}:${t.address}`} className="truncate">{t.type}: {t.address}</div>
                      ))}
                  </td>
                  <td className="whitespace-nowrap px-3 py-2 text-right">
                    <div className="flex justify-end gap-1">
                      <a className="btn btn-ghost text-xs" title="Open the query in Explore"
                        href={`/explore?query=${encodeURIComponent(rule.query)}`}>Explore</a>
                      <Button variant="ghost" className="text-xs" onClick={() => onHistory(rule)}>
                        History
                      </Button>
                      {mayChange(rule, me) && (
                        <>
                          <Button variant="ghost" className="text-xs" data-testid="rule-edit"
                            onClick={() => onEdit(rule)}>Edit</Button>
                          <Button variant="ghost" className="text-xs"
                            onClick={() => void act(() => alertsApi.setEnabled(rule.id, !rule.enabled))}>
                            {rule.enabled ? "Disable" : "Enable"}
                          </Button>
                          <Button variant="ghost" className="text-xs text-bad" data-testid="rule-delete"
                            onClick={() => {
                              if (window.confirm(`Delete the rule ${rule.name}? Its history goes too.`)) {
                                void act(() => alertsApi.deleteRule(rule.id));
                              }
                            }}>Delete</Button>
                        </>
                      )}
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}
