/** What the PromQL input should offer at the cursor: metric names and functions, label names
 * inside `{...}` or `by (...)`, or label values after `label="`. Pure, so it is unit-tested. */

export const PROMQL_FUNCTIONS: readonly string[] = [
  "abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min",
  "count_over_time", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "delta", "deriv", "exp",
  "floor", "histogram_quantile", "holt_winters", "hour", "idelta", "increase", "irate", "label_join",
  "label_replace", "last_over_time", "ln", "log10", "log2", "max_over_time", "min_over_time", "minute", "month",
  "predict_linear", "present_over_time", "quantile_over_time", "rate", "resets", "round", "scalar", "sgn", "sort",
  "sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time", "time", "timestamp", "vector", "year",
];

export const PROMQL_AGGREGATIONS: readonly string[] = [
  "avg", "bottomk", "count", "count_values", "group", "max", "min", "quantile", "stddev", "stdvar", "sum", "topk",
];

export type CompletionContext =
  | { kind: "metric"; prefix: string; from: number }
  | { kind: "label-name"; prefix: string; from: number; metric?: string }
  | { kind: "label-value"; prefix: string; from: number; metric?: string; label: string }
  | { kind: "none" };

const IDENT = /[a-zA-Z0-9_:]*$/;

/** The completion context of `text` with the cursor at `cursor`. */
export function completionContext(text: string, cursor: number): CompletionContext {
  const before = text.slice(0, cursor);
  // Inside a string: a label value when it follows `label=`, `!=`, `=~`, `!~` in braces.
  let quote: string | null = null;
  let braceOpen = -1;
  let parenStack: number[] = [];
  for (let i = 0; i < before.length; i++) {
    const c = before[i]!;
    if (quote !== null) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'" || c === "`") quote = c;
    else if (c === "{") braceOpen = i;
    else if (c === "}") braceOpen = -1;
    else if (c === "(") parenStack.push(i);
    else if (c === ")") parenStack = parenStack.slice(0, -1);
  }
  if (quote !== null) {
    const start = before.lastIndexOf(quote);
    const m = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*$/.exec(before.slice(0, start));
    if (braceOpen >= 0 && m !== null) {
      const metric = metricBefore(before, braceOpen);
      return { kind: "label-value", prefix: before.slice(start + 1), from: start + 1, label: m[1]!, ...(metric ? { metric } : {}) };
    }
    return { kind: "none" };
  }
  const word = IDENT.exec(before)?.[0] ?? "";
  const from = cursor - word.length;
  if (braceOpen >= 0) {
    // After `{` or `,` comes a label name; after an operator, a quote is expected.
    const lead = before.slice(braceOpen + 1, from).trimEnd();
    if (lead === "" || lead.endsWith(",")) {
      const metric = metricBefore(before, braceOpen);
      return { kind: "label-name", prefix: word, from, ...(metric ? { metric } : {}) };
    }
    return { kind: "none" };
  }
  const open = parenStack[parenStack.length - 1];
  if (open !== undefined && /\b(by|without|on|ignoring|group_left|group_right)\s*$/.test(before.slice(0, open))) {
    return { kind: "label-name", prefix: word, from };
  }
  // A range `[5m]` or a number is not a name.
  if (/\[[^\]]*$/.test(before) || /^\d/.test(word)) return { kind: "none" };
  return { kind: "metric", prefix: word, from };
}

function metricBefore(text: string, braceIndex: number): string | undefined {
  const m = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*$/.exec(text.slice(0, braceIndex));
  return m?.[1];
}

export interface Suggestion {
  label: string;
  kind: "metric" | "function" | "aggregation" | "label" | "value";
  /** What is inserted in place of the prefix. */
  insert: string;
}

/** The candidates for a context, best first: prefix matches, then substring matches. */
export function rankSuggestions(
  context: CompletionContext,
  sources: { metrics?: readonly string[]; labels?: readonly string[]; values?: readonly string[] },
  limit = 50,
): Suggestion[] {
  if (context.kind === "none") return [];
  const prefix = context.prefix.toLowerCase();
  let all: Suggestion[];
  if (context.kind === "metric") {
    all = [
      ...(sources.metrics ?? []).map((m): Suggestion => ({ label: m, kind: "metric", insert: m })),
      ...PROMQL_FUNCTIONS.map((f): Suggestion => ({ label: f, kind: "function", insert: `${f}(` })),
      ...PROMQL_AGGREGATIONS.map((f): Suggestion => ({ label: f, kind: "aggregation", insert: `${f}(` })),
    ];
  } else if (context.kind === "label-name") {
    all = (sources.labels ?? []).filter((l) => l !== "__name__").map((l) => ({ label: l, kind: "label", insert: l }));
  } else {
    all = (sources.values ?? []).map((v) => ({ label: v, kind: "value", insert: v.replace(/["\\]/g, "\\$&") }));
  }
  const starts = all.filter((s) => s.label.toLowerCase().startsWith(prefix));
  const contains = prefix === "" ? [] : all.filter((s) => !s.label.toLowerCase().startsWith(prefix) && s.label.toLowerCase().includes(prefix));
  return [...starts, ...contains].slice(0, limit);
}

/** The text after choosing `suggestion`, and where the cursor goes. */
export function applySuggestion(text: string, cursor: number, context: CompletionContext, suggestion: Suggestion): { text: string; cursor: number } {
  if (context.kind === "none") return { text, cursor };
  // Replace the whole word under the cursor, not just the part before it.
  const rest = text.slice(cursor);
  const tail = context.kind === "label-value" ? (/^[^"']*/.exec(rest)?.[0] ?? "") : (/^[a-zA-Z0-9_:]*/.exec(rest)?.[0] ?? "");
  const next = text.slice(0, context.from) + suggestion.insert + text.slice(cursor + tail.length);
  return { text: next, cursor: context.from + suggestion.insert.length };
}
