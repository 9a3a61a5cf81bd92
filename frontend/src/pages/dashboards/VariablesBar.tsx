/** Template variables above the grid: `label_values(metric, label)` fills the choices from
 * the query API; custom variables offer their listed options. */
import { useEffect, useMemo, useState } from "react";

import { prom, type Variable } from "../../api";
import { ALL, parseLabelValuesQuery } from "../../lib/variables";

function useChoices(variable: Variable): { choices: string[]; error: string | null } {
  const [state, setState] = useState<{ choices: string[]; error: string | null }>({ choices: [], error: null });
  const q = typeof variable.query === "string" ? variable.query : "";
  const parsed = parseLabelValuesQuery(q);
  const listed = useMemo(
    () =>
      Array.isArray(variable.options)
        ? variable.options.map((o) => (typeof o === "string" ? o : String((o as { value?: unknown }).value ?? "")))
        : q.split(",").map((x) => x.trim()).filter(Boolean),
    [variable.options, q],
  );
  useEffect(() => {
    const parsed = parseLabelValuesQuery(q);
    if (parsed === null) return;
    let cancelled = false;
    prom
      .labelValues(parsed.label, parsed.metric === undefined ? undefined : [parsed.metric])
      .then((values) => !cancelled && setState({ choices: values, error: null }))
      .catch((e: unknown) => !cancelled && setState({ choices: [], error: e instanceof Error ? e.message : String(e) }));
    return () => {
      cancelled = true;
    };
  }, [q]);
  return parsed === null ? { choices: listed, error: null } : state;
}

function VariablePicker({ variable, selected, onChange }: { variable: Variable; selected: string[]; onChange: (values: string[]) => void }) {
  const { choices, error } = useChoices(variable);
  const includeAll = variable.include_all === true || variable.includeAll === true;
  const value = selected.includes(ALL) || selected.length === 0 ? ALL : selected[0]!;
  return (
    <label className="flex items-center text-sm" title={error ?? undefined}>
      <span className="rounded-l-md border border-line bg-surface-2 px-2 py-1 text-ink-muted">{variable.label ?? variable.name}</span>
      <select
        className={`rounded-r-md border border-l-0 border-line bg-canvas px-2 py-1 ${error !== null ? "text-bad" : "text-ink"}`}
        value={value}
        onChange={(e) => onChange([e.target.value])}
        data-testid={`variable-${variable.name}`}
      >
        {(includeAll || choices.length === 0) && <option value={ALL}>All</option>}
        {choices.map((c) => (
          <option key={c} value={c}>{c}</option>
        ))}
      </select>
    </label>
  );
}

export function VariablesBar({ variables, selection, onChange }: {
  variables: readonly Variable[];
  selection: Readonly<Record<string, string[]>>;
  onChange: (name: string, values: string[]) => void;
}) {
  const shown = variables.filter((v) => v.hidden !== true && typeof v.name === "string");
  if (shown.length === 0) return null;
  return (
    <div className="flex flex-wrap items-center gap-2" data-testid="variables">
      {shown.map((v) => (
        <VariablePicker key={v.name} variable={v} selected={selection[v.name] ?? [ALL]} onChange={(values) => onChange(v.name, values)} />
      ))}
    </div>
  );
}
