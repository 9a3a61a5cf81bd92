// Alerts: rules (list, create, edit, delete, history), what is pending or firing now,
// and silences. Everything refreshes every few seconds; changes need an editor.

import { useEffect, useState } from "react";

import { useLive } from "../../stores/live";
import { ActiveAlerts } from "./ActiveAlerts";
import { alertsApi } from "./api";
import { canEdit, useMe } from "./me";
import { RuleEditor } from "./RuleEditor";
import { RuleHistory } from "./RuleHistory";
import { RuleList } from "./RuleList";
import { SilenceForm, SilenceList } from "./Silences";
import type { Matcher, Rule } from "./types";
import { Button, ErrorBox, Loading, Notice, PageHeader, Tabs } from "./ui";
import { useResource } from "./useResource";

type Tab = "rules" | "active" | "silences";
type View = { kind: "list" } | { kind: "edit"; rule: Rule | null } | { kind: "history"; rule: Rule };

const REFRESH_MS = 5000;

function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(t);
  }, [everyMs]);
  return now;
}

export function AlertsPage() {
  const [tab, setTab] = useState<Tab>("rules");
  const [view, setView] = useState<View>({ kind: "list" });
  const [silenceDraft, setSilenceDraft] = useState<Matcher[] | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const me = useMe();
  const editable = canEdit(me);
  // With live mode on (a dashboard's Live switch), each alert transition the server
  // pushes reloads the lists at once instead of at the next refresh.
  const transitions = useLive((s) => s.alerts.length);
  const rules = useResource((signal) => alertsApi.rules(signal), [transitions], REFRESH_MS);
  const active = useResource((signal) => alertsApi.active(signal), [transitions], REFRESH_MS);
  const silences = useResource((signal) => alertsApi.silences(signal), [], REFRESH_MS);
  const now = useNow(5000);

  // Counted from the rules (one answer with the table it summarises), else the alert list.
  const series = rules.data?.flatMap((r) => r.alerts) ?? active.data ?? [];
  const firing = series.filter((a) => a.state === "firing").length;
  const pending = series.filter((a) => a.state === "pending").length;
  const activeSilences = silences.data?.filter((s) => s.status.state === "active").length ?? 0;

  if (view.kind === "edit") {
    return (
      <div className="p-6" data-testid="alerts-page">
        <RuleEditor rule={view.rule} onCancel={() => setView({ kind: "list" })}
          onSaved={(saved) => {
            setNotice(`Saved ${saved.name}. The evaluator picks it up on its next round.`);
            setView({ kind: "list" });
            setTab("rules");
            rules.reload();
          }} />
      </div>
    );
  }
  if (view.kind === "history") {
    return (
      <div className="p-6" data-testid="alerts-page">
        <RuleHistory rule={view.rule} onClose={() => setView({ kind: "list" })} />
      </div>
    );
  }

  return (
    <div className="p-6" data-testid="alerts-page">
      <PageHeader title="Alerts"
        subtitle={<span data-testid="alerts-summary">
          <span className={firing ? "text-bad" : ""}>{firing} firing</span> ·{" "}
          <span className={pending ? "text-warn" : ""}>{pending} pending</span> ·{" "}
          {rules.data?.length ?? "…"} rules · {activeSilences} active silences
        </span>}
        actions={editable ? (
          <>
            <Button onClick={() => {
              setTab("silences");
              setSilenceDraft([]);
            }}>New silence</Button>
            <Button variant="primary" data-testid="rule-new"
              onClick={() => setView({ kind: "edit", rule: null })}>New rule</Button>
          </>
        ) : null} />
      {me && !editable && (
        <Notice tone="warn" testId="alerts-read-only">
          You are signed in as a {me.role}: rules and silences are read-only for you.
        </Notice>
      )}
      {notice && <div className="mb-3"><Notice testId="alerts-notice">{notice}</Notice></div>}
      <Tabs<Tab> current={tab} onChange={setTab} tabs={[
        { id: "rules", label: `Rules${rules.data ? ` (${rules.data.length})` : ""}` },
        { id: "active", label: `Firing & pending (${firing + pending})` },
        { id: "silences", label: `Silences${silences.data ? ` (${silences.data.length})` : ""}` },
      ]} />
      <div className="mt-4 space-y-4">
        {tab === "rules" && (
          <>
            {rules.error !== null && <ErrorBox error={rules.error} retry={rules.reload} testId="rules-error" />}
            {rules.loading && <Loading what="alert rules" />}
            {rules.data && (
              <RuleList rules={rules.data} me={me} onChanged={rules.reload}
                onEdit={(rule) => setView({ kind: "edit", rule })}
                onHistory={(rule) => setView({ kind: "history", rule })} />
            )}
          </>
        )}
        {tab === "active" && (
          <>
            {active.error !== null && <ErrorBox error={active.error} retry={active.reload} />}
            {active.loading && <Loading what="active alerts" />}
            {active.data && (
              <ActiveAlerts alerts={active.data} silences={silences.data ?? []} editable={editable}
                now={now} onSilence={(matchers) => {
                  setSilenceDraft(matchers);
                  setTab("silences");
                }} />
            )}
          </>
        )}
        {tab === "silences" && (
          <>
            {silenceDraft !== null && (
              <SilenceForm initial={silenceDraft} alerts={active.data ?? []}
                onCancel={() => setSilenceDraft(null)}
                onCreated={() => {
                  setSilenceDraft(null);
                  setNotice("Silence created.");
                  silences.reload();
                }} />
            )}
            {silences.error !== null && <ErrorBox error={silences.error} retry={silences.reload} />}
            {silences.loading && <Loading what="silences" />}
            {silences.data && (
              <SilenceList silences={silences.data} editable={editable} onChanged={silences.reload} />
            )}
          </>
        )}
      </div>
    </div>
  );
}
