// Words the query box suggests: PromQL functions, aggregations and keywords (from the
// PromQL reference), and the metric names the server knows.

export const PROMQL_FUNCTIONS = [
  "abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes", "clamp", "clamp_max",
  "clamp_min", "count_over_time", "day_of_month", "day_of_week", "day_of_year", "days_in_month",
  "delta", "deriv", "exp", "floor", "histogram_quantile", "holt_winters", "hour", "idelta",
  "increase", "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2",
  "max_over_time", "min_over_time", "minute", "month", "predict_linear", "present_over_time",
  "quantile_over_time", "rate", "resets", "round", "scalar", "sgn", "sort", "sort_desc", "sqrt",
  "stddev_over_time", "stdvar_over_time", "sum_over_time", "time", "timestamp", "vector", "year",
];

export const PROMQL_AGGREGATIONS = [
  "avg", "bottomk", "count", "count_values", "group", "max", "min", "quantile", "stddev",
  "stdvar", "sum", "topk",
];

export const PROMQL_KEYWORDS = ["by", "without", "on", "ignoring", "group_left", "group_right",
  "offset", "bool", "and", "or", "unless"];

export interface Suggestion {
  word: string;
  kind: "metric" | "function" | "aggregation" | "keyword";
}

/** The identifier being typed at `cursor`: its start and text (empty when none). */
export function wordAt(text: string, cursor: number): { start: number; word: string } {
  let start = cursor;
  while (start > 0 && /[A-Za-z0-9_:]/.test(text[start - 1] ?? "")) start--;
  const word = text.slice(start, cursor);
  return /^[A-Za-z_:]/.test(word) ? { start, word } : { start: cursor, word: "" };
}

/** Whether `cursor` is inside braces (label matchers), where metric names make no sense. */
export function insideBraces(text: string, cursor: number): boolean {
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < cursor; i++) {
    const c = text[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "{") depth++;
    else if (c === "}") depth = Math.max(0, depth - 1);
  }
  return depth > 0;
}

/** Up to `limit` completions of `word`: prefix matches first, then substring matches. */
export function suggest(word: string, metrics: string[], limit = 12): Suggestion[] {
  if (!word) return [];
  const lower = word.toLowerCase();
  const all: Suggestion[] = [
    ...metrics.map((w) => ({ word: w, kind: "metric" as const })),
    ...PROMQL_AGGREGATIONS.map((w) => ({ word: w, kind: "aggregation" as const })),
    ...PROMQL_FUNCTIONS.map((w) => ({ word: w, kind: "function" as const })),
    ...PROMQL_KEYWORDS.map((w) => ({ word: w, kind: "keyword" as const })),
  ].filter((s) => s.word !== word);
  const prefix = all.filter((s) => s.word.toLowerCase().startsWith(lower));
  const inner = all.filter((s) => !s.word.toLowerCase().startsWith(lower)
    && s.word.toLowerCase().includes(lower));
  return [...prefix, ...inner].slice(0, limit);
}
