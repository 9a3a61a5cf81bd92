/** Loading, empty and error states, the same everywhere. */
import { Link } from "@tanstack/react-router";
import type { ReactNode } from "react";

export function Spinner({ label = "Loading" }: { label?: string }) {
  return (
    <div role="status" className="flex items-center gap-2 text-sm text-ink-muted" data-testid="loading">
      <span className="inline-block h-4 w-4 animate-spin rounded-full border-2 border-line border-t-accent" />
      {label}…
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="flex flex-col items-center justify-center gap-2 p-6 text-center text-ink-muted" data-testid="empty">
      <p className="font-medium text-ink">{title}</p>
      {children}
    </div>
  );
}

export function ErrorState({ title = "Something went wrong", error, onRetry }: {
  title?: string;
  error: unknown;
  onRetry?: () => void;
}) {
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div role="alert" className="rounded-md border border-bad/40 bg-bad/10 p-3 text-sm" data-testid="error">
      <p className="font-medium text-bad">{title}</p>
      <p className="mt-1 break-words text-ink">{message}</p>
      {onRetry !== undefined && (
        <button type="button" className="btn mt-2" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function NotFound() {
  return (
    <div className="flex min-h-screen flex-col items-center justify-center gap-3 bg-canvas text-ink">
      <p className="text-lg font-semibold">Page not found</p>
      <Link to="/dashboards" className="text-accent hover:underline">
        Back to dashboards
      </Link>
    </div>
  );
}
