/** A PromQL editor that offers metric names, functions, label names and label values from
 * the query API as you type (Ctrl+Space opens the list; ↑ ↓ Enter/Tab choose; Esc closes). */
import { useEffect, useRef, useState } from "react";

import { prom } from "../api";
import { applySuggestion, completionContext, rankSuggestions, type CompletionContext, type Suggestion } from "../lib/autocomplete";

// Names change rarely: one fetch per page load, label values per (label, metric).
let metricNames: Promise<string[]> | null = null;
const labelNames = new Map<string, Promise<string[]>>();
const labelValues = new Map<string, Promise<string[]>>();

function cached(map: Map<string, Promise<string[]>>, key: string, load: () => Promise<string[]>): Promise<string[]> {
  let p = map.get(key);
  if (p === undefined) {
    p = load().catch(() => {
      map.delete(key);
      return [];
    });
    map.set(key, p);
  }
  return p;
}

async function sourcesFor(ctx: CompletionContext): Promise<{ metrics?: string[]; labels?: string[]; values?: string[] }> {
  switch (ctx.kind) {
    case "metric":
      metricNames ??= prom.labelValues("__name__").catch(() => {
        metricNames = null;
        return [];
      });
      return { metrics: await metricNames };
    case "label-name": {
      const match = ctx.metric === undefined ? undefined : [ctx.metric];
      return { labels: await cached(labelNames, ctx.metric ?? "", () => prom.labelNames(match)) };
    }
    case "label-value": {
      const match = ctx.metric === undefined ? undefined : [ctx.metric];
      return { values: await cached(labelValues, `${ctx.label}\u0000${ctx.metric ?? ""}`, () => prom.labelValues(ctx.label, match)) };
    }
    default:
      return {};
  }
}

const KIND_BADGE: Record<Suggestion["kind"], string> = {
  metric: "M",
  function: "ƒ",
  aggregation: "Σ",
  label: "L",
  value: "V",
};

export function PromQLInput({ value, onChange, onSubmit, placeholder, testId = "promql-input", rows = 2 }: {
  value: string;
  onChange: (value: string) => void;
  onSubmit?: () => void;
  placeholder?: string;
  testId?: string;
  rows?: number;
}) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState<Suggestion[]>([]);
  const [active, setActive] = useState(0);
  const [ctx, setCtx] = useState<CompletionContext>({ kind: "none" });
  const request = useRef(0);

  const refresh = (text: string, cursor: number, force = false) => {
    const context = completionContext(text, cursor);
    setCtx(context);
    if (context.kind === "none" || (!force && context.kind === "metric" && context.prefix === "")) {
      request.current++; // an answer still on its way must not reopen the list
      setOpen(false);
      return;
    }
    const id = ++request.current;
    void sourcesFor(context).then((sources) => {
      if (id !== request.current) return;
      const ranked = rankSuggestions(context, sources);
      setItems(ranked);
      setActive(0);
      setOpen(ranked.length > 0 && !(ranked.length === 1 && ranked[0]!.label === context.prefix));
    });
  };

  useEffect(() => {
    if (!open) return;
    const close = () => setOpen(false);
    window.addEventListener("resize", close);
    return () => window.removeEventListener("resize", close);
  }, [open]);

  const choose = (s: Suggestion) => {
    const el = ref.current;
    if (el === null) return;
    const next = applySuggestion(value, el.selectionStart, ctx, s);
    onChange(next.text);
    setOpen(false);
    requestAnimationFrame(() => {
      // Keys typed before this frame already moved on from the chosen text: leave
      // their cursor where it is.
      if (el.value !== next.text) return;
      el.focus();
      el.setSelectionRange(next.cursor, next.cursor);
      if (s.kind === "function" || s.kind === "aggregation") refresh(next.text, next.cursor);
    });
  };

  return (
    <div className="relative">
      <textarea
        ref={ref}
        className="input min-h-[2.5rem] resize-y font-mono text-[13px] leading-5"
        rows={rows}
        spellCheck={false}
        autoComplete="off"
        placeholder={placeholder ?? 'PromQL, e.g. rate(http_requests_total{service="api"}[5m])'}
        value={value}
        data-testid={testId}
        aria-autocomplete="list"
        aria-expanded={open}
        onChange={(e) => {
          onChange(e.target.value);
          refresh(e.target.value, e.target.selectionStart);
        }}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={(e) => {
          if (e.key === " " && e.ctrlKey) {
            e.preventDefault();
            refresh(value, e.currentTarget.selectionStart, true);
            return;
          }
          if (open) {
            if (e.key === "ArrowDown") {
              e.preventDefault();
              setActive((a) => Math.min(items.length - 1, a + 1));
              return;
            }
            if (e.key === "ArrowUp") {
              e.preventDefault();
              setActive((a) => Math.max(0, a - 1));
              return;
            }
            if ((e.key === "Enter" || e.key === "Tab") && items[active] !== undefined) {
              e.preventDefault();
              choose(items[active]);
              return;
            }
            if (e.key === "Escape") {
              e.preventDefault();
              setOpen(false);
              return;
            }
          }
          if (e.key === "Enter" && (e.shiftKey || e.ctrlKey || e.metaKey) && onSubmit !== undefined) {
            e.preventDefault();
            onSubmit();
          }
        }}
      />
      {open && (
        <ul className="absolute left-0 z-50 mt-1 max-h-64 w-full max-w-xl overflow-auto rounded-md border border-line bg-surface-2 py-1 font-mono text-[12px] shadow-2xl" role="listbox" data-testid="autocomplete">
          {items.map((s, i) => (
            <li
              key={`${s.kind}-${s.label}`}
              role="option"
              aria-selected={i === active}
              data-testid="autocomplete-item"
              className={`flex cursor-pointer items-center gap-2 px-2 py-1 ${i === active ? "bg-accent/20 text-ink" : "text-ink-muted"}`}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(s);
              }}
              onMouseEnter={() => setActive(i)}
            >
              <span className="w-4 text-center text-[10px] text-accent">{KIND_BADGE[s.kind]}</span>
              {s.label}
              <span className="ml-auto text-[10px] uppercase text-ink-muted/70">{s.kind}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
