// Silences: the list (active, pending, expired), a form to create one (matchers typed as
// PromQL-style text, a duration or an end, a comment), and expiring one.

import { useState } from "react";

import { alertsApi } from "./api";
import { formatDuration, parseDuration } from "./duration";
import { formatMatcher, formatMatchers, matchesLabels, MatcherSyntaxError, parseMatchers } from "./matchers";
import type { Matcher, PrometheusAlert, Silence } from "./types";
import { Badge, Button, Empty, ErrorBox, Field, inputClass } from "./ui";

export function SilenceForm({ initial, alerts, onCreated, onCancel }: {
  initial: Matcher[]; alerts: PrometheusAlert[]; onCreated: () => void; onCancel: () => void;
}) {
  const [text, setText] = useState(() => formatMatchers(initial));
  const [duration, setDuration] = useState("2h");
  const [comment, setComment] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const [openedAt] = useState(() => Date.now());

  let matchers: Matcher[] | null = null;
  let syntax: string | undefined;
  if (text.trim()) {
    try {
      matchers = parseMatchers(text);
    } catch (e) {
      syntax = e instanceof MatcherSyntaxError ? e.message : String(e);
    }
  }
  const seconds = parseDuration(duration);
  const hits = matchers ? alerts.filter((a) => matchesLabels(matchers ?? [], a.labels)) : [];

  const create = async () => {
    if (!matchers || !seconds) return;
    setSaving(true);
    setError(null);
    try {
      const start = new Date();
      await alertsApi.createSilence({ matchers, startsAt: start.toISOString(),
        endsAt: new Date(start.getTime() + seconds * 1000).toISOString(), comment });
      onCreated();
    } catch (e) {
      setError(e);
    } finally {
      setSaving(false);
    }
  };

  return (
    <form data-testid="silence-form" className="space-y-3 card p-4"
      onSubmit={(e) => {
        e.preventDefault();
        void create();
      }}>
      <h2 className="text-base font-semibold text-ink">New silence</h2>
      <Field label="Matchers" htmlFor="silence-matchers" error={syntax}
        hint={'Like service="api", env=~"prod.*" — every matcher must hold'}>
        <input id="silence-matchers" data-testid="silence-matchers" value={text}
          onChange={(e) => setText(e.target.value)} className={`${inputClass} w-full font-mono`} />
      </Field>
      <div className="grid grid-cols-2 gap-3">
        <Field label="Duration" htmlFor="silence-duration"
          error={seconds ? undefined : "a duration such as 30m, 2h or 1d"}
          hint={seconds ? `until ${new Date(openedAt + seconds * 1000).toLocaleString()}` : undefined}>
          <input id="silence-duration" data-testid="silence-duration" value={duration}
            onChange={(e) => setDuration(e.target.value)} className={`${inputClass} w-full`} />
        </Field>
        <Field label="Comment" htmlFor="silence-comment">
          <input id="silence-comment" data-testid="silence-comment" value={comment}
            placeholder="Why (maintenance, known issue…)" onChange={(e) => setComment(e.target.value)}
            className={`${inputClass} w-full`} />
        </Field>
      </div>
      {matchers && (
        <p data-testid="silence-hits" className="text-xs text-ink-muted">
          Mutes {hits.length} of the {alerts.length} alerts pending or firing now.
        </p>
      )}
      {error !== null && <ErrorBox error={error} testId="silence-error" />}
      <div className="flex gap-2">
        <Button type="submit" variant="primary" data-testid="silence-create"
          disabled={!matchers || !seconds || saving}>{saving ? "Creating…" : "Create silence"}</Button>
        <Button onClick={onCancel}>Cancel</Button>
      </div>
    </form>
  );
}

export function SilenceList({ silences, editable, onChanged }: {
  silences: Silence[]; editable: boolean; onChanged: () => void;
}) {
  const [error, setError] = useState<unknown>(null);
  if (silences.length === 0) {
    return <Empty testId="silences-empty">No silences. Create one to mute notifications for a while.</Empty>;
  }
  const order = { active: 0, pending: 1, expired: 2 };
  const sorted = [...silences].sort((a, b) => order[a.status.state] - order[b.status.state]
    || b.endsAt.localeCompare(a.endsAt));
  return (
    <div className="space-y-2">
      {error !== null && <ErrorBox error={error} testId="silence-expire-error" />}
      <div className="overflow-x-auto rounded-lg border border-line">
        <table data-testid="silences-table" className="w-full text-left text-sm">
          <thead className="bg-surface-2 text-xs uppercase text-ink-muted">
            <tr>
              <th className="px-3 py-2">State</th><th className="px-3 py-2">Matchers</th>
              <th className="px-3 py-2">Window</th><th className="px-3 py-2">Created by</th>
              <th className="px-3 py-2">Comment</th><th className="px-3 py-2" />
            </tr>
          </thead>
          <tbody>
            {sorted.map((s) => (
              <tr key={s.id} data-testid="silence-row" className="border-t border-line align-top">
                <td className="px-3 py-2"><Badge>{s.status.state}</Badge></td>
                <td className="px-3 py-2 font-mono text-xs text-ink">
                  {s.matchers.map((m) => <div key={formatMatcher(m)}>{formatMatcher(m)}</div>)}
                </td>
                <td className="whitespace-nowrap px-3 py-2 text-xs text-ink-muted">
                  {new Date(s.startsAt).toLocaleString()} → {new Date(s.endsAt).toLocaleString()}
                  <div className="text-ink-muted">
                    {formatDuration(Math.round((Date.parse(s.endsAt) - Date.parse(s.startsAt)) / 1000))}
                  </div>
                </td>
                <td className="px-3 py-2 text-ink">{s.createdBy}</td>
                <td className="px-3 py-2 text-ink">{s.comment}</td>
                <td className="px-3 py-2 text-right">
                  {editable && s.status.state !== "expired" && (
                    <Button variant="ghost" className="text-xs text-bad" data-testid="silence-expire"
                      onClick={async () => {
                        setError(null);
                        try {
                          await alertsApi.expireSilence(s.id);
                          onChanged();
                        } catch (e) {
                          setError(e);
                        }
                      }}>Expire</Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
