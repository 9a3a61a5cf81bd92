// A PromQL text box with completion of metric names, functions, aggregations and keywords
// (Tab or Enter takes the highlighted one; Ctrl/Cmd+Enter runs the query).

import { useEffect, useRef, useState } from "react";

import { inputClass } from "../alerts/ui";
import { queryApi } from "./api";
import { insideBraces, suggest, type Suggestion, wordAt } from "./promqlWords";

let metricNames: Promise<string[]> | null = null;

function loadMetricNames(): Promise<string[]> {
  metricNames ??= queryApi.metricNames().catch(() => {
    metricNames = null; // try again next time; completion is a help, not a must
    return [];
  });
  return metricNames;
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
  const [metrics, setMetrics] = useState<string[]>([]);
  const [items, setItems] = useState<Suggestion[]>([]);
  const [active, setActive] = useState(0);
  const ref = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    let live = true;
    void loadMetricNames().then((names) => live && setMetrics(names));
    return () => {
      live = false;
    };
  }, []);

  const refresh = (text: string, cursor: number) => {
    const { word } = wordAt(text, cursor);
    setItems(insideBraces(text, cursor) ? [] : suggest(word, metrics));
    setActive(0);
  };

  const accept = (s: Suggestion) => {
    const el = ref.current;
    const cursor = el?.selectionStart ?? value.length;
    const { start } = wordAt(value, cursor);
    const tail = s.kind === "function" || s.kind === "aggregation" ? "(" : "";
    const next = value.slice(0, start) + s.word + tail + value.slice(cursor);
    onChange(next);
    setItems([]);
    const at = start + s.word.length + tail.length;
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(at, at);
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
            onRun?.();
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
          className="absolute z-20 mt-1 max-h-64 w-96 overflow-y-auto rounded border border-gray-700 bg-gray-900 py-1 text-sm shadow-xl">
          {items.map((s, i) => (
            <li key={`${s.kind}:${s.word}`} role="option" aria-selected={i === active}
              onMouseDown={(e) => {
                e.preventDefault();
                accept(s);
              }}
              className={`flex cursor-pointer justify-between px-3 py-1 font-mono ${i === active
                ? "bg-blue-900/60 text-white" : "text-gray-300 hover:bg-gray-800"}`}>
              <span>{s.word}</span>
              <span className="text-xs text-gray-500">{s.kind}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
