// Small building blocks the explore, alerts and admin pages share: loading, empty and
// error states, buttons, badges, tabs, inputs (Tailwind, dark theme).

import type { ButtonHTMLAttributes, ReactNode } from "react";

import { errorText } from "./http";

export function Loading({ what }: { what: string }) {
  return (
    <div role="status" className="flex items-center gap-2 px-4 py-6 text-sm text-ink-muted">
      <span className="h-4 w-4 animate-spin rounded-full border-2 border-line border-t-accent" />
      Loading {what}…
    </div>
  );
}

export function Empty({ children, testId }: { children: ReactNode; testId?: string }) {
  return (
    <div data-testid={testId} className="rounded border border-dashed border-line px-4 py-8 text-center text-sm text-ink-muted">
      {children}
    </div>
  );
}

export function ErrorBox({ error, retry, testId = "error" }: {
  error: unknown; retry?: () => void; testId?: string;
}) {
  return (
    <div role="alert" data-testid={testId}
      className="flex items-start justify-between gap-4 rounded-md border border-bad/40 bg-bad/10 px-4 py-3 text-sm text-ink">
      <span>{errorText(error)}</span>
      {retry && (
        <button type="button" onClick={retry} className="btn shrink-0 text-xs">Retry</button>
      )}
    </div>
  );
}

export function Notice({ children, tone = "ok", testId }: {
  children: ReactNode; tone?: "ok" | "warn"; testId?: string;
}) {
  const colors = tone === "ok" ? "border-ok/40 bg-ok/10 text-ink"
    : "border-warn/40 bg-warn/10 text-ink";
  return (
    <div role="status" data-testid={testId} className={`rounded border px-4 py-2 text-sm ${colors}`}>
      {children}
    </div>
  );
}

type Variant = "primary" | "secondary" | "danger" | "ghost";
// The shell's button classes (src/index.css).
const VARIANTS: Record<Variant, string> = {
  primary: "btn btn-primary", secondary: "btn", danger: "btn btn-danger", ghost: "btn btn-ghost",
};

export function Button({ variant = "secondary", className = "", ...props }:
  ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant }) {
  return <button type="button" {...props} className={`${VARIANTS[variant]} ${className}`} />;
}

const BADGE: Record<string, string> = {
  firing: "bg-bad text-white", pending: "bg-warn text-black",
  inactive: "bg-surface-2 text-ink-muted ring-1 ring-line", resolved: "bg-ok/80 text-black",
  critical: "bg-bad/20 text-bad ring-1 ring-bad/40", warning: "bg-warn/15 text-warn ring-1 ring-warn/40",
  info: "bg-accent/15 text-accent ring-1 ring-accent/40", active: "bg-accent-strong text-white",
  expired: "bg-surface-2 text-ink-muted", ok: "bg-ok/20 text-ok ring-1 ring-ok/40",
  down: "bg-bad text-white", degraded: "bg-warn text-black",
  admin: "bg-purple-500/20 text-purple-300 ring-1 ring-purple-400/40",
  editor: "bg-accent/15 text-accent ring-1 ring-accent/40",
  viewer: "bg-surface-2 text-ink ring-1 ring-line", disabled: "bg-surface-2 text-ink-muted",
  sent: "bg-ok/20 text-ok", failed: "bg-bad/20 text-bad",
  silenced: "bg-surface-2 text-ink-muted ring-1 ring-line", notification_failed: "bg-bad/20 text-bad",
  no_targets: "bg-surface-2 text-ink-muted",
};

export function Badge({ children, kind, testId }: {
  children: ReactNode; kind?: string; testId?: string;
}) {
  const tone = BADGE[kind ?? String(children)] ?? "bg-surface-2 text-ink";
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
    <div role="tablist" className="flex gap-1 border-b border-line">
      {tabs.map((t) => (
        <button key={t.id} type="button" role="tab" aria-selected={current === t.id}
          data-testid={`tab-${t.id}`} onClick={() => onChange(t.id)}
          className={`-mb-px border-b-2 px-4 py-2 text-sm font-medium ${current === t.id
            ? "border-accent text-white" : "border-transparent text-ink-muted hover:text-ink"}`}>
          {t.label}
        </button>
      ))}
    </div>
  );
}

// The shell's input class (src/index.css); a width utility given beside it wins.
export const inputClass = "input";

export function Field({ label, error, hint, children, htmlFor }: {
  label: string; error?: string | undefined; hint?: ReactNode; children: ReactNode;
  htmlFor?: string;
}) {
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={htmlFor} className="text-xs font-medium uppercase tracking-wide text-ink-muted">
        {label}
      </label>
      {children}
      {error ? <span className="text-xs text-bad" role="alert">{error}</span>
        : hint ? <span className="text-xs text-ink-muted">{hint}</span> : null}
    </div>
  );
}

export function PageHeader({ title, subtitle, actions }: {
  title: string; subtitle?: ReactNode; actions?: ReactNode;
}) {
  return (
    <div className="mb-4 flex flex-wrap items-end justify-between gap-4">
      <div>
        <h1 className="text-xl font-semibold text-ink">{title}</h1>
        {subtitle && <p className="mt-1 text-sm text-ink-muted">{subtitle}</p>}
      </div>
      {actions && <div className="flex items-center gap-2">{actions}</div>}
    </div>
  );
}

export function LabelList({ labels, omit = [] }: { labels: Record<string, string>; omit?: string[] }) {
  const entries = Object.entries(labels).filter(([k]) => !omit.includes(k)).sort();
  if (entries.length === 0) return <span className="text-ink-muted/60">no labels</span>;
  return (
    <span className="flex flex-wrap gap-1">
      {entries.map(([k, v]) => (
        <span key={k} className="rounded bg-surface-2 px-1.5 py-0.5 font-mono text-xs text-ink">
          {k}=<span className="text-ink">{v}</span>
        </span>
      ))}
    </span>
  );
}
