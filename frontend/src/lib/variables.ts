/** Template variables: `$service`, `${service}` and `[[service]]` in panel queries. */
import type { Variable } from "../api/types";

export const ALL = "$__all";

/** The regex that stands for "all values" of a variable. */
export function allValue(variable: Variable): string {
  const custom = variable.all_value;
  return typeof custom === "string" && custom !== "" ? custom : ".*";
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The text that replaces the variable: a value, an alternation of several, or the "all" regex. */
export function variableText(variable: Variable, selected: readonly string[]): string {
  if (selected.length === 0 || selected.includes(ALL)) return allValue(variable);
  if (selected.length === 1) return selected[0]!;
  return `(${selected.map(escapeRegex).join("|")})`;
}

/**
 * Replaces every known variable in `query`. Several values or "all" need a regex match, so a
 * `label="$var"` matcher becomes `label=~"..."`. `$__interval` / `$__rate_interval` are the
 * step and four steps (at least one minute), as Grafana defines them.
 */
export function interpolate(query: string, values: Readonly<Record<string, string>>, stepSeconds?: number): string {
  let out = query;
  if (stepSeconds !== undefined) {
    const step = Math.max(1, Math.round(stepSeconds));
    out = out
      .replace(/\$__rate_interval|\$\{__rate_interval\}/g, `${Math.max(4 * step, 60)}s`)
      .replace(/\$__interval|\$\{__interval\}/g, `${step}s`)
      .replace(/\$__range|\$\{__range\}/g, `${step}s`);
  }
  // Longest names first so $service_name is not read as $service + "_name".
  const names = Object.keys(values).sort((a, b) => b.length - a.length);
  for (const name of names) {
    const value = values[name]!;
    const ref = `(?:\\$\\{${name}\\}|\\$${name}(?![a-zA-Z0-9_])|\\[\\[${name}\\]\\])`;
    const isRegex = /[|()*+?[\]^$\\]/.test(value);
    if (isRegex) out = out.replace(new RegExp(`(\\w+)\\s*=\\s*"${ref}"`, "g"), (_, label: string) => `${label}=~"${value}"`);
    out = out.replace(new RegExp(ref, "g"), () => value);
  }
  return out;
}

/** `label_values(metric, label)` or `label_values(label)` → its parts; null for other queries. */
export function parseLabelValuesQuery(query: string): { metric?: string; label: string } | null {
  const m = /^\s*label_values\(\s*(?:([^,]+?)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/.exec(query);
  if (m === null) return null;
  return m[1] === undefined ? { label: m[2]! } : { metric: m[1], label: m[2]! };
}

/** The selection a variable starts with: what the URL says, else its `current`, else all. */
export function initialSelection(variable: Variable, fromUrl: string | undefined): string[] {
  if (fromUrl !== undefined && fromUrl !== "") return fromUrl.split(",");
  const current = variable.current;
  if (typeof current === "string" && current !== "" && current !== allValue(variable) && current !== ".*") return [current];
  if (Array.isArray(current) && current.length > 0) return current.map(String);
  return variable.include_all === true || variable.includeAll === true || variable.type === "query" ? [ALL] : [];
}
