/** Time ranges as dashboards store them ("now-6h" .. "now", RFC 3339, epoch) and as queries need them. */

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  M: 30 * 86_400_000,
  y: 365 * 86_400_000,
};

const RELATIVE = /^now(?:([+-])(\d+)(ms|s|m|h|d|w|M|y))?(?:\/(s|m|h|d|w|M|y))?$/;

/** Milliseconds of a duration such as "30s", "5m", "1h30m"; null when it is not one. */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (t === "") return null;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g;
  let total = 0;
  let consumed = 0;
  for (const m of t.matchAll(re)) {
    if (m.index !== consumed) return null;
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ""] ?? 0);
    consumed += m[0].length;
  }
  return consumed === t.length ? total : null;
}

function startOf(ms: number, unit: string): number {
  const d = new Date(ms);
  switch (unit) {
    case "y":
      return Date.UTC(d.getUTCFullYear(), 0, 1);
    case "M":
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    case "w": {
      const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
      return day - ((d.getUTCDay() + 6) % 7) * UNIT_MS.d!;
    }
    default: {
      const size = UNIT_MS[unit] ?? 1;
      return Math.floor(ms / size) * size;
    }
  }
}

/** A time expression → epoch milliseconds; null when it is not one. */
export function parseTime(text: string, now: number): number | null {
  const t = text.trim();
  const rel = RELATIVE.exec(t);
  if (rel !== null) {
    let ms = now;
    if (rel[1] !== undefined) ms += (rel[1] === "-" ? -1 : 1) * Number(rel[2]) * (UNIT_MS[rel[3] ?? ""] ?? 0);
    if (rel[4] !== undefined) ms = startOf(ms, rel[4]);
    return ms;
  }
  if (/^\d{10}$/.test(t)) return Number(t) * 1000;
  if (/^\d{13}$/.test(t)) return Number(t);
  if (/^\d{4}-\d\d-\d\d/.test(t)) {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}

export interface TimeRange {
  from: string;
  to: string;
}

export interface ResolvedRange {
  start: number;
  end: number;
}

/** Both ends in epoch ms; an error names the end that is wrong or a start not before the end. */
export function resolveRange(range: TimeRange, now: number): ResolvedRange {
  const start = parseTime(range.from, now);
  const end = parseTime(range.to, now);
  if (start === null) throw new Error(`"${range.from}" is not a time (now-6h, 2026-01-01T00:00:00Z)`);
  if (end === null) throw new Error(`"${range.to}" is not a time (now, 2026-01-01T00:00:00Z)`);
  if (start >= end) throw new Error("the start of the range must be before its end");
  return { start, end };
}

/** A query step (seconds) giving about `points` points over the range, rounded to a clean value. */
export function stepFor(range: ResolvedRange, points = 300): number {
  const raw = (range.end - range.start) / 1000 / points;
  const nice = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  for (const n of nice) if (n >= raw) return n;
  return Math.ceil(raw / 86400) * 86400;
}

export const QUICK_RANGES: readonly { label: string; from: string; to: string }[] = [
  { label: "Last 5 minutes", from: "now-5m", to: "now" },
  { label: "Last 15 minutes", from: "now-15m", to: "now" },
  { label: "Last 30 minutes", from: "now-30m", to: "now" },
  { label: "Last 1 hour", from: "now-1h", to: "now" },
  { label: "Last 3 hours", from: "now-3h", to: "now" },
  { label: "Last 6 hours", from: "now-6h", to: "now" },
  { label: "Last 12 hours", from: "now-12h", to: "now" },
  { label: "Last 24 hours", from: "now-24h", to: "now" },
  { label: "Last 2 days", from: "now-2d", to: "now" },
  { label: "Last 7 days", from: "now-7d", to: "now" },
  { label: "Today so far", from: "now/d", to: "now" },
];

export const REFRESH_INTERVALS: readonly string[] = ["", "5s", "10s", "30s", "1m", "5m", "15m", "1h"];

/** How the picker button names a range. */
export function describeRange(range: TimeRange): string {
  const quick = QUICK_RANGES.find((q) => q.from === range.from && q.to === range.to);
  if (quick !== undefined) return quick.label;
  const fmt = (t: string) => {
    const ms = parseTime(t, Date.now());
    return t.startsWith("now") || ms === null ? t : formatDateTime(ms);
  };
  return `${fmt(range.from)} to ${fmt(range.to)}`;
}

/** "2026-12-05 14:03:47" in local time. */
export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** An absolute range as the dashboard stores it (RFC 3339, UTC). */
export function absoluteRange(start: number, end: number): TimeRange {
  return { from: new Date(Math.round(start)).toISOString(), to: new Date(Math.round(end)).toISOString() };
}

/** The tick label for an axis spanning `spanMs`. */
export function formatTick(ms: number, spanMs: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  if (spanMs <= 3 * 60_000) return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  if (spanMs <= 2 * 86_400_000) return `${p(d.getHours())}:${p(d.getMinutes())}`;
  return `${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
