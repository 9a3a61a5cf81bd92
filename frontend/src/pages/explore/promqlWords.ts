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

/** What the cursor is completing: a word outside braces (metric, function...), a label
 * name inside `metric{...}`, or a label's value after `label="`. */
export type CompletionContext =
  | { kind: "word"; start: number; prefix: string }
  | { kind: "label"; start: number; prefix: string; metric: string | null }
  | { kind: "value"; start: number; prefix: string; metric: string | null; label: string }
  | { kind: "none" };

export function completionContext(text: string, cursor: number): CompletionContext {
  if (!insideBraces(text, cursor)) {
    const { start, word } = wordAt(text, cursor);
    return word ? { kind: "word", start, prefix: word } : { kind: "none" };
  }
  const open = text.lastIndexOf("{", cursor - 1);
  const before = /([A-Za-z_:][A-Za-z0-9_:]*)\s*$/.exec(text.slice(0, open));
  const metric = before?.[1] ?? null;
  // The matcher being typed: from the last comma (outside quotes) or the brace.
  const inside = text.slice(open + 1, cursor);
  let segmentStart = 0;
  let quote: string | null = null;
  for (let i = 0; i < inside.length; i++) {
    const c = inside[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ",") segmentStart = i + 1;
  }
  const segment = inside.slice(segmentStart);
  const offset = open + 1 + segmentStart;
  const name = /^(\s*)([A-Za-z_][A-Za-z0-9_]*)?$/.exec(segment);
  if (name) {
    return { kind: "label", start: offset + (name[1]?.length ?? 0), prefix: name[2] ?? "", metric };
  }
  const value = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(["'])((?:[^"'\\]|\\.)*)$/.exec(segment);
  if (value) {
    const prefix = value[4] ?? "";
    return { kind: "value", start: cursor - prefix.length, prefix, metric,
      label: value[1] ?? "" };
  }
  return { kind: "none" };
}

/** Completions from a plain list: prefix matches first, then substrings. */
export function filterWords(words: string[], prefix: string, limit = 12): string[] {
  const lower = prefix.toLowerCase();
  const starts = words.filter((w) => w.toLowerCase().startsWith(lower) && w !== prefix);
  const contains = words.filter((w) => !w.toLowerCase().startsWith(lower)
    && w.toLowerCase().includes(lower));
  return [...starts, ...contains].slice(0, limit);
}
