import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { Dashboard } from "../api/types";
import { bottomOf, draftOf, panelsOf, useDashboard, withLayout } from "./dashboard";

function board(version: number, name = "Board"): Dashboard {
  return {
    id: 7, name, description: "", owner: { id: 1, username: "ed" }, layout: {}, variables: [],
    time_range: { from: "now-1h", to: "now" }, refresh: "", version, provisioned: false,
    created_at: "2026-12-05T00:00:00Z", updated_at: "2026-12-05T00:00:00Z",
    panels: [
      { id: 11, dashboard_id: 7, title: "A", type: "line", query: "up", options: {}, position: { x: 0, y: 0, w: 12, h: 8 }, version: 1 },
      { id: 12, dashboard_id: 7, title: "B", type: "stat", query: "x", options: { unit: "ms" }, position: { x: 12, y: 0, w: 12, h: 8 }, version: 1 },
    ],
  };
}

function respond(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

describe("layout helpers", () => {
  const panels = panelsOf(board(1));

  it("keys saved panels by id", () => {
    expect(panels.map((p) => p.key)).toEqual(["p11", "p12"]);
  });

  it("takes positions from a grid layout and keeps untouched panels as they are", () => {
    const moved = withLayout(panels, [{ i: "p11", x: 12, y: 8, w: 12, h: 8 }, { i: "p12", x: 12, y: 0, w: 12, h: 8 }]);
    expect(moved[0]!.position).toEqual({ x: 12, y: 8, w: 12, h: 8 });
    expect(moved[1]).toBe(panels[1]);
  });

  it("puts new panels below everything", () => {
    expect(bottomOf(panels)).toBe(8);
    expect(bottomOf([])).toBe(0);
  });
});

describe("the dashboard store", () => {
  const fetchMock = vi.fn<typeof fetch>();
  beforeEach(() => {
    vi.stubGlobal("fetch", fetchMock);
    fetchMock.mockReset();
  });
  afterEach(() => vi.unstubAllGlobals());

  it("edits a draft: add, duplicate, delete, rename", async () => {
    fetchMock.mockResolvedValueOnce(respond(200, board(3)));
    await useDashboard.getState().load(7);
    const s = useDashboard.getState();
    expect(s.dirty).toBe(false);
    const key = s.addPanel({ title: "C", type: "gauge", query: "z", options: {}, position: { x: 0, y: 0, w: 6, h: 6 } });
    expect(useDashboard.getState().panels.find((p) => p.key === key)!.position.y).toBe(8);
    useDashboard.getState().duplicatePanel("p12");
    expect(useDashboard.getState().panels.map((p) => p.title)).toEqual(["A", "B", "C", "B (copy)"]);
    useDashboard.getState().removePanel("p11");
    useDashboard.getState().setName("Renamed");
    const draft = draftOf(useDashboard.getState());
    expect(draft.name).toBe("Renamed");
    expect(draft.panels!.map((p) => p.title)).toEqual(["B", "C", "B (copy)"]);
    expect(draft.panels![0]).not.toHaveProperty("key");
    expect(useDashboard.getState().dirty).toBe(true);
  });

  it("saves with the version it read", async () => {
    fetchMock.mockResolvedValueOnce(respond(200, board(3)));
    await useDashboard.getState().load(7);
    useDashboard.getState().setName("Saved");
    fetchMock.mockResolvedValueOnce(respond(200, board(4, "Saved")));
    expect(await useDashboard.getState().save()).toBe(true);
    const [url, init] = fetchMock.mock.calls[1]!;
    expect(url).toBe("/api/v1/dashboards/7");
    expect(init!.method).toBe("PUT");
    expect(JSON.parse(init!.body as string)).toMatchObject({ name: "Saved", version: 3 });
    expect(useDashboard.getState()).toMatchObject({ dirty: false, conflict: null });
    expect(useDashboard.getState().dashboard!.version).toBe(4);
  });

  it("keeps the user's changes on a 409 and can save them over the newer version", async () => {
    fetchMock.mockResolvedValueOnce(respond(200, board(3)));
    await useDashboard.getState().load(7);
    useDashboard.getState().setName("Mine");
    const message = "dashboard 7 was saved by someone else: you read version 3, the current version is 5; reload it and apply your change again";
    fetchMock.mockResolvedValueOnce(respond(409, { error: { type: "conflict", message, current_version: 5 } }));
    expect(await useDashboard.getState().save()).toBe(false);
    expect(useDashboard.getState()).toMatchObject({ name: "Mine", dirty: true, conflict: { message, currentVersion: 5 } });

    fetchMock.mockResolvedValueOnce(respond(200, board(6, "Mine")));
    expect(await useDashboard.getState().overwrite()).toBe(true);
    expect(JSON.parse(fetchMock.mock.calls[2]![1]!.body as string)).toMatchObject({ name: "Mine", version: 5 });
    expect(useDashboard.getState()).toMatchObject({ dirty: false, conflict: null, name: "Mine" });
  });

  it("reports other save errors without losing the draft", async () => {
    fetchMock.mockResolvedValueOnce(respond(200, board(3)));
    await useDashboard.getState().load(7);
    useDashboard.getState().setName("");
    fetchMock.mockResolvedValueOnce(respond(400, { error: { type: "validation_error", message: "name must be a string of 1 to 200 characters", field: "name" } }));
    expect(await useDashboard.getState().save()).toBe(false);
    expect(useDashboard.getState().saveError).toMatch(/name must be/);
    expect(useDashboard.getState().dirty).toBe(true);
  });

  it("keeps a load error to show", async () => {
    fetchMock.mockResolvedValueOnce(respond(404, { error: { type: "not_found", message: "no dashboard 9" } }));
    await useDashboard.getState().load(9);
    expect(useDashboard.getState().dashboard).toBeNull();
    expect((useDashboard.getState().loadError as Error).message).toBe("no dashboard 9");
  });
});
