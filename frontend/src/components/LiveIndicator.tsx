/** The live-mode switch and the connection indicator (state, transport, latency). */
import { useLive } from "../stores/live";

const DOT: Record<string, string> = {
  connected: "bg-ok",
  connecting: "bg-warn animate-pulse",
  reconnecting: "bg-warn animate-pulse",
  error: "bg-bad",
  off: "bg-ink-muted/50",
};

export function LiveToggle({ disabled, reason }: { disabled?: boolean; reason?: string }) {
  const enabled = useLive((s) => s.enabled);
  const setEnabled = useLive((s) => s.setEnabled);
  return (
    <button
      type="button"
      className={`btn ${enabled ? "border-ok/60 text-ok" : ""}`}
      aria-pressed={enabled}
      onClick={() => setEnabled(!enabled)}
      disabled={disabled}
      title={reason ?? "Stream new data over a WebSocket as it is ingested"}
      data-testid="live-toggle"
    >
      <span className={`h-2 w-2 rounded-full ${enabled ? "bg-ok" : "bg-ink-muted"}`} />
      Live
    </button>
  );
}

export function ConnectionIndicator() {
  const { enabled, status, latencyMs, transport, error } = useLive();
  if (!enabled) return null;
  const text =
    status === "connected"
      ? `${transport ?? "connected"}${latencyMs === null ? "" : ` · ${latencyMs} ms`}`
      : status === "reconnecting"
        ? "reconnecting…"
        : status === "connecting"
          ? "connecting…"
          : status === "error"
            ? "disconnected"
            : "off";
  return (
    <span
      className="flex items-center gap-1.5 rounded-md border border-line px-2 py-1 text-xs text-ink-muted"
      data-testid="connection-indicator"
      data-status={status}
      data-transport={transport ?? ""}
      title={error ?? `Live connection: ${status}`}
    >
      <span className={`h-2 w-2 rounded-full ${DOT[status] ?? ""}`} />
      <span data-testid="connection-latency">{text}</span>
    </span>
  );
}
