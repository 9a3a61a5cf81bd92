// Small building blocks the explore, alerts and admin pages share: loading, empty and
// error states, buttons, badges, tabs, inputs (Tailwind, dark theme).

import type { ButtonHTMLAttributes, ReactNode } from "react";

import { errorText } from "./http";

export function Loading({ what }: { what: string }) {
  return (
    <div role="status" className="flex items-center gap-2 px-4 py-6 text-sm text-gray-400">
      <span className="h-4 w-4 animate-spin rounded-full border-2 border-gray-600 border-t-blue-400" />
      Loading {what}…
    </div>
  );
}

export function Empty({ children, testId }: { children: ReactNode; testId?: string }) {
  return (
    <div data-testid={testId} className="rounded border border-dashed border-gray-700 px-4 py-8 text-center text-sm text-gray-400">
      {children}
    </div>
  );
}

export function ErrorBox({ error, retry, testId = "error" }: {
  error: unknown; retry?: () => void; testId?: string;
}) {
  return (
    <div role="alert" data-testid={testId}
      className="flex items-start justify-between gap-4 rounded border border-red-800 bg-red-950/60 px-4 py-3 text-sm text-red-200">
      <span>{errorText(error)}</span>
      {retry && (
        <button type="button" onClick={retry}
          className="shrink-0 rounded border border-red-700 px-2 py-0.5 text-xs hover:bg-red-900">
          Retry
        </button>
      )}
    </div>
  );
}

export function Notice({ children, tone = "ok", testId }: {
  children: ReactNode; tone?: "ok" | "warn"; testId?: string;
}) {
  const colors = tone === "ok" ? "border-emerald-800 bg-emerald-950/50 text-emerald-200"
    : "border-amber-800 bg-amber-950/50 text-amber-200";
  return (
    <div role="status" data-testid={testId} className={`rounded border px-4 py-2 text-sm ${colors}`}>
      {children}
    </div>
  );
}

type Variant = "primary" | "secondary" | "danger" | "ghost";
const VARIANTS: Record<Variant, string> = {
  primary: "bg-blue-600 text-white hover:bg-blue-500 border-blue-500",
  secondary: "bg-gray-800 text-gray-100 hover:bg-gray-700 border-gray-600",
  danger: "bg-red-900/60 text-red-100 hover:bg-red-800 border-red-700",
  ghost: "bg-transparent text-gray-300 hover:bg-gray-800 border-transparent",
};

export function Button({ variant = "secondary", className = "", ...props }:
  ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant }) {
  return (
    <button type="button" {...props}
      className={`rounded border px-3 py-1.5 text-sm font-medium disabled:cursor-not-allowed disabled:opacity-50 ${VARIANTS[variant]} ${className}`} />
  );
}

const BADGE: Record<string, string> = {
  firing: "bg-red-600 text-white", pending: "bg-amber-500 text-black",
  inactive: "bg-gray-700 text-gray-200", resolved: "bg-emerald-700 text-white",
  critical: "bg-red-900 text-red-100", warning: "bg-amber-900 text-amber-100",
  info: "bg-sky-900 text-sky-100", active: "bg-blue-700 text-white",
  expired: "bg-gray-700 text-gray-300", ok: "bg-emerald-700 text-white",
  down: "bg-red-600 text-white", degraded: "bg-amber-500 text-black",
  admin: "bg-purple-800 text-purple-100", editor: "bg-blue-800 text-blue-100",
  viewer: "bg-gray-700 text-gray-200", disabled: "bg-gray-800 text-gray-400",
  sent: "bg-emerald-900 text-emerald-100", failed: "bg-red-900 text-red-100",
  silenced: "bg-gray-700 text-gray-300", notification_failed: "bg-red-900 text-red-100",
  no_targets: "bg-gray-800 text-gray-400",
};

export function Badge({ children, kind, testId }: {
  children: ReactNode; kind?: string; testId?: string;
}) {
  const tone = BADGE[kind ?? String(children)] ?? "bg-gray-700 text-gray-200";
  return (
    <span data-testid={testId}
      className={`inline-block rounded px-1.5 py-0.5 text-xs font-semibold uppercase tracking-wide ${tone}`}>
      {children}
    </span>
  );
}

export function Tabs<T extends string>({ tabs, current, onChange }: {
  tabs: { id: T; label: ReactNode }[]; current: T; onChange: (id: T) => void;
}) {
  return (
    <div role="tablist" className="flex gap-1 border-b border-gray-800">
      {tabs.map((t) => (
        <button key={t.id} type="button" role="tab" aria-selected={current === t.id}
          data-testid={`tab-${t.id}`} onClick={() => onChange(t.id)}
          className={`-mb-px border-b-2 px-4 py-2 text-sm font-medium ${current === t.id
            ? "border-blue-500 text-white" : "border-transparent text-gray-400 hover:text-gray-200"}`}>
          {t.label}
        </button>
      ))}
    </div>
  );
}

// No width: each use gives its own (w-full where it fills its cell).
export const inputClass = "rounded border border-gray-700 bg-gray-950 px-2 py-1.5 text-sm text-gray-100 placeholder-gray-600 focus:border-blue-500 focus:outline-none";

export function Field({ label, error, hint, children, htmlFor }: {
  label: string; error?: string | undefined; hint?: ReactNode; children: ReactNode;
  htmlFor?: string;
}) {
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={htmlFor} className="text-xs font-medium uppercase tracking-wide text-gray-400">
        {label}
      </label>
      {children}
      {error ? <span className="text-xs text-red-400" role="alert">{error}</span>
        : hint ? <span className="text-xs text-gray-500">{hint}</span> : null}
    </div>
  );
}

export function PageHeader({ title, subtitle, actions }: {
  title: string; subtitle?: ReactNode; actions?: ReactNode;
}) {
  return (
    <div className="mb-4 flex flex-wrap items-end justify-between gap-4">
      <div>
        <h1 className="text-xl font-semibold text-white">{title}</h1>
        {subtitle && <p className="mt-1 text-sm text-gray-400">{subtitle}</p>}
      </div>
      {actions && <div className="flex items-center gap-2">{actions}</div>}
    </div>
  );
}

export function LabelList({ labels, omit = [] }: { labels: Record<string, string>; omit?: string[] }) {
  const entries = Object.entries(labels).filter(([k]) => !omit.includes(k)).sort();
  if (entries.length === 0) return <span className="text-gray-600">no labels</span>;
  return (
    <span className="flex flex-wrap gap-1">
      {entries.map(([k, v]) => (
        <span key={k} className="rounded bg-gray-800 px-1.5 py-0.5 font-mono text-xs text-gray-300">
          {k}=<span className="text-gray-100">{v}</span>
        </span>
      ))}
    </span>
  );
}
