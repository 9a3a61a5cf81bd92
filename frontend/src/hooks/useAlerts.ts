/** Alert rules (with their current alerts) and their recent events, re-read on every refresh
 * and whenever live mode reports an alert transition. */
import { useEffect, useState } from "react";

import { alerts as alertsApi, type AlertEvent, type AlertRule } from "../api";
import { useLive } from "../stores/live";

export interface AlertsData {
  rules: AlertRule[];
  loading: boolean;
  error: string | null;
}

export function useAlertRules(refreshKey: number, enabled = true): AlertsData {
  const liveAlerts = useLive((s) => s.alerts.length);
  const [state, setState] = useState<AlertsData>({ rules: [], loading: enabled, error: null });
  useEffect(() => {
    if (!enabled) return;
    let cancelled = false;
    alertsApi
      .list()
      .then(({ alerts }) => {
        if (!cancelled) setState({ rules: alerts, loading: false, error: null });
      })
      .catch((e: unknown) => {
        if (!cancelled) setState((s) => ({ ...s, loading: false, error: e instanceof Error ? e.message : String(e) }));
      });
    return () => {
      cancelled = true;
    };
  }, [refreshKey, liveAlerts, enabled]);
  return state;
}

export interface AlertAnnotation {
  time: number;
  kind: string;
  text: string;
}

/** Firing and resolved events of every rule, as chart annotations. */
export function useAlertAnnotations(rules: readonly AlertRule[], refreshKey: number): AlertAnnotation[] {
  const [events, setEvents] = useState<AlertAnnotation[]>([]);
  const ids = rules.map((r) => r.id).join(",");
  useEffect(() => {
    if (ids === "") return;
    let cancelled = false;
    const list = ids.split(",").map(Number);
    Promise.allSettled(list.map((id) => alertsApi.history(id, 50))).then((answers) => {
      if (cancelled) return;
      const out: AlertAnnotation[] = [];
      answers.forEach((a) => {
        if (a.status !== "fulfilled") return;
        for (const e of a.value.events as AlertEvent[]) {
          const time = Date.parse(e.at);
          if (Number.isNaN(time)) continue;
          const name = e.labels.alertname ?? "alert";
          const where = e.labels.service !== undefined ? ` on ${e.labels.service}` : "";
          out.push({ time, kind: e.kind, text: `${name}${where}: ${e.kind}${e.annotations.summary ? ` — ${e.annotations.summary}` : ""}` });
        }
      });
      setEvents(out);
    });
    return () => {
      cancelled = true;
    };
  }, [ids, refreshKey]);
  return events;
}
