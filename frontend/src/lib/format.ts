/** Values as panels show them: units, decimals, thresholds. */
import type { Threshold } from "../api/types";

export const UNITS: readonly { id: string; label: string }[] = [
  { id: "", label: "None" },
  { id: "short", label: "Short (1.2K)" },
  { id: "percent", label: "Percent (0-100)" },
  { id: "percentunit", label: "Percent (0.0-1.0)" },
  { id: "ms", label: "Milliseconds" },
  { id: "s", label: "Seconds" },
  { id: "bytes", label: "Bytes" },
  { id: "reqps", label: "Requests/s" },
  { id: "ops", label: "Operations/s" },
];

function fixed(v: number, decimals: number | undefined, fallback: number): string {
  const d = decimals ?? (Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : fallback);
  return v.toFixed(d);
}

function scaled(v: number, steps: readonly [number, string][], decimals?: number): string {
  let chosen: [number, string] = [1, ""];
  for (const step of steps) if (Math.abs(v) >= step[0]) chosen = step;
  return `${fixed(v / chosen[0], decimals, 2)}${chosen[1]}`;
}

/** A value with its unit, e.g. 12.5 ms, 97.3%, 1.2K req/s. */
export function formatValue(value: number | null | undefined, unit = "", decimals?: number): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : "-Inf";
  const SI: [number, string][] = [[1e3, "K"], [1e6, "M"], [1e9, "B"], [1e12, "T"]];
  switch (unit) {
    case "percent":
      return `${fixed(value, decimals, 1)}%`;
    case "percentunit":
      return `${fixed(value * 100, decimals, 1)}%`;
    case "ms":
      return Math.abs(value) >= 1000 ? `${fixed(value / 1000, decimals, 2)} s` : `${fixed(value, decimals, 1)} ms`;
    case "s":
      if (Math.abs(value) < 1 && value !== 0) return `${fixed(value * 1000, decimals, 1)} ms`;
      return Math.abs(value) >= 60 ? `${fixed(value / 60, decimals, 1)} min` : `${fixed(value, decimals, 2)} s`;
    case "bytes":
      return `${scaled(value, [[1024, " KiB"], [1024 ** 2, " MiB"], [1024 ** 3, " GiB"], [1024 ** 4, " TiB"]], decimals)}${Math.abs(value) < 1024 ? " B" : ""}`;
    case "reqps":
      return `${scaled(value, SI, decimals)} req/s`;
    case "ops":
      return `${scaled(value, SI, decimals)} ops/s`;
    case "short":
      return scaled(value, SI, decimals);
    default:
      return decimals !== undefined ? value.toFixed(decimals) : scaled(value, SI);
  }
}

const NAMED: Record<string, string> = {
  green: "#22c55e",
  red: "#ef4444",
  orange: "#f97316",
  yellow: "#eab308",
  blue: "#4f8cff",
  purple: "#a855f7",
};

export function color(name: string): string {
  return NAMED[name] ?? name;
}

/** Thresholds as Lookout stores them (a list) or as Grafana does (`{"steps": [...]}`), sorted. */
export function normalizeThresholds(raw: unknown): Threshold[] {
  const list = Array.isArray(raw)
    ? raw
    : typeof raw === "object" && raw !== null && Array.isArray((raw as { steps?: unknown }).steps)
      ? (raw as { steps: unknown[] }).steps
      : [];
  const out: Threshold[] = [];
  for (const item of list) {
    if (typeof item !== "object" || item === null) continue;
    const { value, color: c } = item as { value?: unknown; color?: unknown };
    if (typeof c !== "string") continue;
    out.push({ value: typeof value === "number" ? value : -Infinity, color: color(c) });
  }
  return out.sort((a, b) => a.value - b.value);
}

/** The colour of the highest threshold the value reaches, else `fallback`. */
export function thresholdColor(value: number | null, thresholds: readonly Threshold[], fallback = "#4f8cff"): string {
  if (value === null || !Number.isFinite(value)) return fallback;
  let chosen = fallback;
  for (const t of thresholds) if (value >= t.value) chosen = color(t.color);
  return chosen;
}

/** Distinct, readable series colours on a dark background. */
export const PALETTE: readonly string[] = [
  "#73bf69", "#f2cc0c", "#5794f2", "#ff780a", "#b877d9", "#f2495c", "#37d8c6", "#fade2a",
  "#8ab8ff", "#ff9830", "#ca95e5", "#ff7383", "#96d98d", "#ffb357", "#c0d8ff", "#e0b400",
];

export function seriesColor(index: number): string {
  return PALETTE[index % PALETTE.length]!;
}
