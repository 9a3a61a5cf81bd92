import { afterEach, describe, expect, it, vi } from "vitest";

// A stand-in for the socket: records emits, lets the test fire server events.
type Handler = (...args: unknown[]) => void;
const fake = vi.hoisted(() => {
  const handlers = new Map<string, Handler[]>();
  const socket = {
    connected: false,
    active: true,
    emitted: [] as { event: string; payload: unknown }[],
    io: { engine: { transport: { name: "websocket" }, on: () => undefined } },
    on(event: string, h: Handler) {
      handlers.set(event, [...(handlers.get(event) ?? []), h]);
      return socket;
    },
    emit(event: string, payload: unknown, ack?: Handler) {
      socket.emitted.push({ event, payload });
      if (event === "subscribe") ack?.({ ok: true, id: (payload as { id: string }).id });
    },
    fire(event: string, ...args: unknown[]) {
      for (const h of handlers.get(event) ?? []) h(...args);
    },
    removeAllListeners() {
      handlers.clear();
    },
    disconnect() {
      socket.connected = false;
    },
  };
  return { socket, io: vi.fn(() => socket) };
});
vi.mock("socket.io-client", () => ({ io: fake.io }));

import { subscribe, subscriptionCount, useLive } from "./live";

describe("the live store", () => {
  afterEach(() => useLive.getState().setEnabled(false));

  it("connects to /socket.io/, subscribes, routes results and re-subscribes after a reconnect", () => {
    const results: unknown[] = [];
    const drop = subscribe({ query: "up", range: 300, step: 5 }, (r) => results.push(r), () => undefined);
    useLive.getState().setEnabled(true);
    expect(fake.io).toHaveBeenCalledWith(expect.objectContaining({ path: "/socket.io/" }));
    expect(useLive.getState().status).toBe("connecting");

    fake.socket.connected = true;
    fake.socket.fire("connect");
    expect(useLive.getState()).toMatchObject({ status: "connected", transport: "websocket" });
    const subs = fake.socket.emitted.filter((e) => e.event === "subscribe");
    expect(subs).toHaveLength(1);
    const id = (subs[0]!.payload as { id: string }).id;
    expect(subs[0]!.payload).toEqual({ id, query: "up", range: 300, step: 5 });

    fake.socket.fire("result", { id, result: [], server_time: Date.now() - 20, data_time: null });
    expect(results).toHaveLength(1);
    expect(useLive.getState().latencyMs).toBeGreaterThanOrEqual(20);

    // The server restarts: the client reconnects and sends the subscription again.
    fake.socket.connected = false;
    fake.socket.fire("disconnect", "transport close");
    expect(useLive.getState().status).toBe("reconnecting");
    fake.socket.connected = true;
    fake.socket.fire("connect");
    expect(fake.socket.emitted.filter((e) => e.event === "subscribe")).toHaveLength(2);

    drop();
    expect(fake.socket.emitted.at(-1)).toEqual({ event: "unsubscribe", payload: { id } });
    expect(subscriptionCount()).toBe(0);
  });

  it("counts pushed points and keeps alert transitions", () => {
    useLive.getState().setEnabled(true);
    fake.socket.fire("metric", { points: [{ name: "a" }, { name: "b" }], server_time: Date.now(), data_time: Date.now() - 5 });
    fake.socket.fire("alert", { rule_id: 1, alertname: "High", state: "firing", labels: {}, annotations: {}, value: 1, time: 1, server_time: Date.now() });
    expect(useLive.getState().pointsReceived).toBeGreaterThanOrEqual(2);
    expect(useLive.getState().alerts.at(-1)).toMatchObject({ alertname: "High", state: "firing" });
  });
});
