// The dead-letter queue: messages ingest or the worker could not use, with their reason;
// show one (headers), replay (back onto the ingest path) or purge, one or all.

import { useState } from "react";

import { Button, Empty, ErrorBox, Loading, Notice } from "../alerts/ui";
import { useResource } from "../alerts/useResource";
import { adminApi, type DeadLetter, formatBytes, type Outcome } from "./api";

export function DeadLettersPanel() {
  const dlq = useResource((signal) => adminApi.deadLetters(100, signal), [], 10_000);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [shown, setShown] = useState<DeadLetter | null>(null);
  const [busy, setBusy] = useState(false);

  const act = async (verb: "replay" | "purge", ids: string[] | null) => {
    const what = ids ? `${ids.length} message${ids.length === 1 ? "" : "s"}` : "every message";
    if (verb === "purge" && !window.confirm(`Drop ${what} from the dead-letter queue for good?`)) return;
    setBusy(true);
    setError(null);
    try {
      const selection = ids ? { message_ids: ids } : { all: true as const };
      const outcome: Outcome = verb === "replay" ? await adminApi.replay(selection)
        : await adminApi.purge(selection);
      setNotice(`${verb === "replay" ? "Replayed" : "Purged"} ${outcome.done.length}; ${outcome.kept} kept in the queue.`);
      setShown(null);
      dlq.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="space-y-4" data-testid="dlq-panel">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <p data-testid="dlq-count" className="text-sm text-ink">
          {dlq.data ? `${dlq.data.count} message${dlq.data.count === 1 ? "" : "s"} in metrics.dlq` : " "}
        </p>
        <div className="flex gap-2">
          <Button onClick={dlq.reload}>Refresh</Button>
          <Button variant="primary" data-testid="dlq-replay-all" disabled={busy || !dlq.data?.count}
            onClick={() => void act("replay", null)}>Replay all</Button>
          <Button variant="danger" data-testid="dlq-purge-all" disabled={busy || !dlq.data?.count}
            onClick={() => void act("purge", null)}>Purge all</Button>
        </div>
      </div>
      {notice && <Notice testId="dlq-notice">{notice}</Notice>}
      {error !== null && <ErrorBox error={error} testId="dlq-error" />}
      {dlq.error !== null && <ErrorBox error={dlq.error} retry={dlq.reload} />}
      {dlq.loading && <Loading what="the dead-letter queue" />}
      {dlq.data && dlq.data.messages.length === 0 && (
        <Empty testId="dlq-empty">
          The dead-letter queue is empty: every message ingest accepted was stored.
        </Empty>
      )}
      {dlq.data && dlq.data.messages.length > 0 && (
        <div className="overflow-x-auto rounded-lg border border-line">
          <table data-testid="dlq-table" className="w-full text-left text-sm">
            <thead className="bg-surface-2 text-xs uppercase text-ink-muted">
              <tr>
                <th className="px-3 py-2">Message</th><th className="px-3 py-2">Reason</th>
                <th className="px-3 py-2">Content</th><th className="px-3 py-2">Published</th>
                <th className="px-3 py-2 text-right">Actions</th>
              </tr>
            </thead>
            <tbody>
              {dlq.data.messages.map((m) => (
                <tr key={m.message_id} data-testid="dlq-row" className="border-t border-line align-top">
                  <td className="px-3 py-2 font-mono text-xs text-ink">{m.message_id}</td>
                  <td className="max-w-md px-3 py-2 text-bad">{m.reason}</td>
                  <td className="px-3 py-2 text-xs text-ink-muted">
                    {m.summary !== m.reason && m.summary}
                    <div className="text-ink-muted">{m.content_type ?? "no content type"} · {formatBytes(m.bytes)}</div>
                  </td>
                  <td className="whitespace-nowrap px-3 py-2 text-xs text-ink-muted">
                    {m.published_at ? new Date(m.published_at).toLocaleString() : "—"}
                  </td>
                  <td className="whitespace-nowrap px-3 py-2 text-right">
                    <Button variant="ghost" className="text-xs" data-testid="dlq-show"
                      onClick={async () => {
                        setError(null);
                        try {
                          setShown(await adminApi.deadLetter(m.message_id));
                        } catch (e) {
                          setError(e);
                        }
                      }}>Show</Button>
                    <Button variant="ghost" className="text-xs" data-testid="dlq-replay" disabled={busy}
                      onClick={() => void act("replay", [m.message_id])}>Replay</Button>
                    <Button variant="ghost" className="text-xs text-bad" disabled={busy}
                      onClick={() => void act("purge", [m.message_id])}>Purge</Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {shown && (
        <section data-testid="dlq-detail" className="card p-4 text-sm">
          <div className="mb-2 flex items-center justify-between">
            <h3 className="font-semibold text-ink">Message {shown.message_id}</h3>
            <Button variant="ghost" className="text-xs" onClick={() => setShown(null)}>Close</Button>
          </div>
          <p className="mb-2 text-bad">{shown.reason}</p>
          {shown.summary !== shown.reason && <p className="mb-2 text-ink">{shown.summary}</p>}
          <table className="text-xs">
            <tbody>
              {Object.entries(shown.headers ?? {}).map(([k, v]) => (
                <tr key={k}><td className="pr-4 font-mono text-ink-muted">{k}</td>
                  <td className="break-all font-mono text-ink">{v}</td></tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}
