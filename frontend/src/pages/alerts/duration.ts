// Prometheus durations (`5m`, `1h30m`, `500ms`) as the alerts API reads and writes them.

const DURATION = /^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$/;
const UNITS = [365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001];

/** Seconds of a duration string (or a plain number of seconds); null when it is not one. */
export function parseDuration(text: string): number | null {
  const value = text.trim();
  if (value === "") return null;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const m = DURATION.exec(value);
  if (!m) return null;
  let seconds = 0;
  UNITS.forEach((unit, i) => {
    const digits = m[2 + 2 * i];
    if (digits) seconds += Number(digits) * unit;
  });
  return seconds;
}

/** The Prometheus form of a number of seconds (300 → `5m`, 0 → `0s`), as the API prints it. */
export function formatDuration(seconds: number): string {
  let ms = Math.round(seconds * 1000);
  if (ms === 0) return "0s";
  let out = "";
  for (const [suffix, unit] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000],
    ["ms", 1]] as const) {
    if (ms >= unit) {
      out += `${Math.floor(ms / unit)}${suffix}`;
      ms %= unit;
    }
  }
  return out;
}

/** "3m 20s ago"-style age of an instant, relative to `now` (ms). */
export function ago(iso: string | null | undefined, now: number): string {
  if (!iso) return "—";
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return iso;
  const s = Math.max(0, Math.round((now - then) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h ago`;
}
