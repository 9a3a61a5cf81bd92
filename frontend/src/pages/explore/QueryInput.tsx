// A PromQL text box with completion: metric names, functions, aggregations and keywords;
// inside `metric{...}` the metric's label names, and inside quotes that label's values
// (asked of the server as they are needed). Tab or Enter takes the highlighted item,
// Ctrl/Cmd+Enter runs the query.

import { useEffect, useRef, useState } from "react";

import { inputClass } from "../alerts/ui";
import { queryApi } from "./api";
import { type CompletionContext, completionContext, filterWords, suggest } from "./promqlWords";

interface Item {
  word: string;
  kind: string;
}

// Answers are kept for the page's life: completion is a help, a failed look-up is retried.
const cache = new Map<string, Promise<string[]>>();

function cached(key: string, load: () => Promise<string[]>): Promise<string[]> {
  let p = cache.get(key);
  if (!p) {
    p = load().catch(() => {
      cache.delete(key);
      return [];
    });
    cache.set(key, p);
  }
  return p;
}

const metricNames = () => cached("metrics", () => queryApi.metricNames());

async function itemsFor(ctx: CompletionContext): Promise<Item[]> {
  switch (ctx.kind) {
    case "word":
      return suggest(ctx.prefix, await metricNames());
    case "label": {
      const names = await cached(`labels:${ctx.metric ?? ""}`,
        () => queryApi.labelNames(ctx.metric));
      return filterWords(names.filter((n) => n !== "__name__"), ctx.prefix)
        .map((word) => ({ word, kind: "label" }));
    }
    case "value": {
      const values = await cached(`values:${ctx.label}:${ctx.metric ?? ""}`,
        () => queryApi.labelValues(ctx.label, ctx.metric));
      return filterWords(values, ctx.prefix).map((word) => ({ word, kind: ctx.label }));
    }
    default:
      return [];
  }
}

export function QueryInput({ value, onChange, onRun, id, testId = "query-input", rows = 2,
  placeholder = "PromQL, e.g. rate(http_requests_total[5m])" }: {
  value: string;
  onChange: (value: string) => void;
  onRun?: () => void;
  id?: string;
  testId?: string;
  rows?: number;
  placeholder?: string;
}) {
  const [items, setItems] = useState<Item[]>([]);
  const [active, setActive] = useState(0);
  const context = useRef<CompletionContext>({ kind: "none" });
  const request = useRef(0);
  const ref = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    void metricNames(); // warm the list before the first keystroke
  }, []);

  const refresh = (text: string, cursor: number) => {
    const ctx = completionContext(text, cursor);
    context.current = ctx;
    const n = ++request.current;
    void itemsFor(ctx).then((found) => {
      if (n !== request.current) return; // a later keystroke asked again
      setItems(found);
      setActive(0);
    });
  };

  const accept = (item: Item) => {
    const ctx = context.current;
    if (ctx.kind === "none") return;
    const el = ref.current;
    const cursor = el?.selectionStart ?? value.length;
    const tail = item.kind === "function" || item.kind === "aggregation" ? "("
      : ctx.kind === "label" ? "=\"" : "";
    const next = value.slice(0, ctx.start) + item.word + tail + value.slice(cursor);
    onChange(next);
    setItems([]);
    request.current++;
    const at = ctx.start + item.word.length + tail.length;
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(at, at);
      if (ctx.kind === "label") refresh(next, at); // go on with the label's values
    });
  };

  return (
    <div className="relative">
      <textarea ref={ref} id={id} data-testid={testId} rows={rows} value={value} spellCheck={false}
        placeholder={placeholder} autoComplete="off"
        className={`${inputClass} w-full resize-y font-mono`}
        onChange={(e) => {
          onChange(e.target.value);
          refresh(e.target.value, e.target.selectionStart);
        }}
        onBlur={() => window.setTimeout(() => setItems([]), 150)}
        onKeyDown={(e) => {
          if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
            e.preventDefault();
            setItems([]);
            request.current++;
            onRun?.();
            return;
          }
          if (e.ctrlKey && e.key === " ") {
            e.preventDefault();
            refresh(value, e.currentTarget.selectionStart);
            return;
          }
          if (items.length === 0) return;
          if (e.key === "ArrowDown" || e.key === "ArrowUp") {
            e.preventDefault();
            const step = e.key === "ArrowDown" ? 1 : items.length - 1;
            setActive((a) => (a + step) % items.length);
          } else if (e.key === "Tab" || e.key === "Enter") {
            const chosen = items[active];
            if (chosen) {
              e.preventDefault();
              accept(chosen);
            }
          } else if (e.key === "Escape") {
            setItems([]);
          }
        }} />
      {items.length > 0 && (
        <ul role="listbox" data-testid={`${testId}-suggestions`}
          className="absolute z-20 mt-1 max-h-64 w-96 overflow-y-auto rounded border border-line bg-surface-2 py-1 text-sm shadow-xl">
          {items.map((s, i) => (
            <li key={`${s.kind}:${s.word}`} role="option" aria-selected={i === active}
              onMouseDown={(e) => {
                e.preventDefault();
                accept(s);
              }}
              className={`flex cursor-pointer justify-between gap-4 px-3 py-1 font-mono ${i === active
                ? "bg-accent/20 text-ink" : "text-ink hover:bg-surface-2"}`}>
              <span className="truncate">{s.word}</span>
              <span className="shrink-0 text-xs text-ink-muted">{s.kind}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
