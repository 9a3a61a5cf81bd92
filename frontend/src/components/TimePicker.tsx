/** Time range (quick relative ranges, or absolute from/to) and auto-refresh pickers. */
import { useEffect, useRef, useState } from "react";

import { describeRange, parseTime, QUICK_RANGES, REFRESH_INTERVALS, type TimeRange } from "../lib/time";

export function TimeRangePicker({ value, onChange }: { value: TimeRange; onChange: (range: TimeRange) => void }) {
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState(value.from);
  const [to, setTo] = useState(value.to);
  const [error, setError] = useState<string | null>(null);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (ref.current !== null && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", close);
    return () => document.removeEventListener("mousedown", close);
  }, [open]);

  const apply = () => {
    const now = Date.now();
    const a = parseTime(from, now);
    const b = parseTime(to, now);
    if (a === null) return setError(`"${from}" is not a time: now-6h, 2026-01-01T00:00:00Z`);
    if (b === null) return setError(`"${to}" is not a time: now, 2026-01-01T00:00:00Z`);
    if (a >= b) return setError("From must be before To");
    setError(null);
    onChange({ from, to });
    setOpen(false);
  };

  return (
    <div className="relative" ref={ref}>
      <button
        type="button"
        className="btn"
        data-testid="time-range"
        onClick={() => {
          setFrom(value.from);
          setTo(value.to);
          setError(null);
          setOpen((o) => !o);
        }}
      >
        <svg viewBox="0 0 24 24" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth="1.8"><circle cx="12" cy="12" r="9" /><path d="M12 7v5l3 2" /></svg>
        {describeRange(value)}
      </button>
      {open && (
        <div className="absolute right-0 z-40 mt-1 flex w-[34rem] rounded-md border border-line bg-surface-2 shadow-2xl" data-testid="time-range-menu">
          <div className="flex-1 border-r border-line p-3">
            <p className="mb-2 text-sm font-medium">Absolute time range</p>
            <label className="label" htmlFor="tr-from">From</label>
            <input id="tr-from" className="input mb-2 font-mono" value={from} onChange={(e) => setFrom(e.target.value)} data-testid="time-from" />
            <label className="label" htmlFor="tr-to">To</label>
            <input id="tr-to" className="input mb-2 font-mono" value={to} onChange={(e) => setTo(e.target.value)} data-testid="time-to" />
            {error !== null && <p className="mb-2 text-xs text-bad" role="alert">{error}</p>}
            <button type="button" className="btn btn-primary" onClick={apply} data-testid="time-apply">Apply time range</button>
            <p className="mt-2 text-xs text-ink-muted">Relative: now-30m, now-2d, now/d. Absolute: 2026-12-05T10:00:00Z.</p>
          </div>
          <ul className="w-44 py-1 text-sm">
            {QUICK_RANGES.map((q) => (
              <li key={q.label}>
                <button
                  type="button"
                  className={`block w-full px-3 py-1 text-left hover:bg-canvas ${q.from === value.from && q.to === value.to ? "text-accent" : ""}`}
                  onClick={() => {
                    onChange({ from: q.from, to: q.to });
                    setOpen(false);
                  }}
                >
                  {q.label}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

export function RefreshPicker({ value, onChange, onRefresh, disabled }: {
  value: string;
  onChange: (refresh: string) => void;
  onRefresh: () => void;
  disabled?: boolean;
}) {
  return (
    <div className="flex">
      <button type="button" className="btn rounded-r-none" onClick={onRefresh} aria-label="Refresh now" data-testid="refresh-now" disabled={disabled}>
        <svg viewBox="0 0 24 24" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth="1.8"><path d="M21 12a9 9 0 1 1-2.6-6.4M21 3v6h-6" /></svg>
      </button>
      <select
        className="rounded-r-md border border-l-0 border-line bg-surface-2 px-2 text-sm text-ink"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-label="Auto-refresh"
        data-testid="refresh-interval"
        disabled={disabled}
      >
        {REFRESH_INTERVALS.map((r) => (
          <option key={r} value={r}>{r === "" ? "Off" : r}</option>
        ))}
      </select>
    </div>
  );
}
