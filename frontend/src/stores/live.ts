/** Live mode: one Socket.IO connection to the query service (same origin, /socket.io/), the
 * subscriptions panels hold on it, and the connection's state and latency for the indicator.
 * The server keeps no subscription across connections, so every reconnect re-sends them. */
import { io, type Socket } from "socket.io-client";
import { create } from "zustand";

import type { MatrixSeries } from "../api/types";

export type LiveStatus = "off" | "connecting" | "connected" | "reconnecting" | "error";

export interface LiveResult {
  id: string;
  query: string;
  start: number;
  end: number;
  step: number;
  resultType: "matrix";
  result: MatrixSeries[];
  server_time: number;
  data_time: number | null;
}

export interface LiveAlert {
  rule_id: number;
  alertname: string;
  state: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number | null;
  time: number | string;
  server_time: number;
  [key: string]: unknown;
}

export interface SubscriptionSpec {
  query: string;
  /** Seconds: the window ends at "now" and slides. */
  range: number;
  step: number;
}

interface Subscription extends SubscriptionSpec {
  onResult: (result: LiveResult) => void;
  onError: (message: string) => void;
}

interface LiveState {
  enabled: boolean;
  status: LiveStatus;
  transport: string | null;
  /** Milliseconds from the server's emit (or the data's time) to this browser. */
  latencyMs: number | null;
  lastEventAt: number | null;
  error: string | null;
  /** Alert transitions received in this session, newest last (at most 200). */
  alerts: LiveAlert[];
  /** Points received (initial + metric events): a counter the UI and tests can watch. */
  pointsReceived: number;
  setEnabled: (enabled: boolean) => void;
}

const subscriptions = new Map<string, Subscription>();
let socket: Socket | null = null;
let nextId = 0;

interface Ack {
  ok: boolean;
  id?: string;
  error?: { type: string; message: string };
}

function latencyOf(payload: { server_time?: unknown; data_time?: unknown }): number | null {
  const t = typeof payload.server_time === "number" ? payload.server_time : null;
  return t === null ? null : Math.max(0, Date.now() - t);
}

function send(id: string, sub: Subscription) {
  if (socket === null || !socket.connected) return;
  socket.emit("subscribe", { id, query: sub.query, range: sub.range, step: sub.step }, (ack: Ack) => {
    if (!ack.ok) sub.onError(ack.error?.message ?? "the server refused the subscription");
  });
}

export const useLive = create<LiveState>()((set, get) => {
  const connect = () => {
    if (socket !== null) return;
    set({ status: "connecting", error: null });
    const s = io({
      path: "/socket.io/",
      transports: ["websocket", "polling"],
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
      withCredentials: true,
    });
    socket = s;
    s.on("connect", () => {
      set({ status: "connected", error: null, transport: s.io.engine.transport.name });
      s.io.engine.on("upgrade", (t: { name: string }) => set({ transport: t.name }));
      for (const [id, sub] of subscriptions) send(id, sub);
    });
    s.on("disconnect", (reason) => {
      // "io client disconnect" is ours; anything else reconnects by itself.
      set({ status: reason === "io client disconnect" ? "off" : "reconnecting", transport: null });
    });
    s.on("connect_error", (err: Error) => {
      set({ status: s.active ? "reconnecting" : "error", error: err.message });
    });
    s.on("heartbeat", (p: { server_time: number }) => set({ latencyMs: latencyOf(p), lastEventAt: Date.now() }));
    s.on("initial", (p: { points: unknown[]; server_time: number }) =>
      set({ pointsReceived: get().pointsReceived + p.points.length, lastEventAt: Date.now() }),
    );
    s.on("metric", (p: { points: unknown[]; server_time: number; data_time?: number }) => {
      const dataLatency = typeof p.data_time === "number" ? Math.max(0, Date.now() - p.data_time) : latencyOf(p);
      set({ pointsReceived: get().pointsReceived + p.points.length, latencyMs: dataLatency, lastEventAt: Date.now() });
    });
    s.on("result", (r: LiveResult) => {
      subscriptions.get(r.id)?.onResult(r);
      set({ latencyMs: latencyOf(r), lastEventAt: Date.now() });
    });
    s.on("subscription_error", (p: { id: string; error: { message: string } }) => {
      subscriptions.get(p.id)?.onError(p.error.message);
    });
    s.on("alert", (a: LiveAlert) => set({ alerts: [...get().alerts.slice(-199), a], lastEventAt: Date.now() }));
  };

  const disconnect = () => {
    if (socket === null) return;
    socket.removeAllListeners();
    socket.disconnect();
    socket = null;
    set({ status: "off", transport: null, latencyMs: null });
  };

  return {
    enabled: false,
    status: "off",
    transport: null,
    latencyMs: null,
    lastEventAt: null,
    error: null,
    alerts: [],
    pointsReceived: 0,
    setEnabled: (enabled) => {
      set({ enabled });
      if (enabled) connect();
      else disconnect();
    },
  };
});

/** Holds a subscription while live mode is on; returns the function that drops it. */
export function subscribe(spec: SubscriptionSpec, onResult: (r: LiveResult) => void, onError: (message: string) => void): () => void {
  const id = `sub-${++nextId}`;
  const sub: Subscription = { ...spec, onResult, onError };
  subscriptions.set(id, sub);
  send(id, sub);
  return () => {
    subscriptions.delete(id);
    if (socket !== null && socket.connected) socket.emit("unsubscribe", { id }, () => undefined);
  };
}

/** For tests and the indicator: how many subscriptions are held. */
export function subscriptionCount(): number {
  return subscriptions.size;
}
