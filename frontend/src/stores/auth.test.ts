import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { dashboards } from "../api";
import { canEditDashboard, hasRole, useAuth } from "./auth";

const respond = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

describe("roles", () => {
  const viewer = { id: 1, username: "v", role: "viewer" as const };
  const editor = { id: 2, username: "e", role: "editor" as const };
  const admin = { id: 3, username: "a", role: "admin" as const };

  it("ranks viewer < editor < admin", () => {
    expect(hasRole(viewer, "editor")).toBe(false);
    expect(hasRole(editor, "editor")).toBe(true);
    expect(hasRole(admin, "editor")).toBe(true);
    expect(hasRole(null, "viewer")).toBe(false);
  });

  it("lets owners and admins edit a dashboard, admins alone a provisioned one", () => {
    expect(canEditDashboard(editor, 2)).toBe(true);
    expect(canEditDashboard(editor, 9)).toBe(false);
    expect(canEditDashboard(viewer, 1)).toBe(false);
    expect(canEditDashboard(admin, 9)).toBe(true);
    expect(canEditDashboard(editor, null)).toBe(false);
    expect(canEditDashboard(admin, null)).toBe(true);
  });
});

describe("the auth store", () => {
  const fetchMock = vi.fn<typeof fetch>();
  beforeEach(() => {
    vi.stubGlobal("fetch", fetchMock);
    fetchMock.mockReset();
    useAuth.setState({ user: null, status: "unknown", error: null });
  });
  afterEach(() => vi.unstubAllGlobals());

  it("signs in and keeps the server's error message when it fails", async () => {
    fetchMock.mockResolvedValueOnce(respond(401, { error: { type: "unauthorized", message: "unknown user or wrong password" } }));
    expect(await useAuth.getState().login("a", "b")).toBe(false);
    expect(useAuth.getState()).toMatchObject({ status: "signed-out", error: "unknown user or wrong password" });
    fetchMock.mockResolvedValueOnce(respond(200, { user: { id: 1, username: "a", role: "admin" } }));
    expect(await useAuth.getState().login("a", "right")).toBe(true);
    expect(useAuth.getState()).toMatchObject({ status: "signed-in", user: { username: "a" }, error: null });
  });

  it("learns the session from /auth/me once, however many ask", async () => {
    fetchMock.mockResolvedValue(respond(200, { user: { id: 1, username: "a", role: "viewer" } }));
    const [a, b] = await Promise.all([useAuth.getState().check(), useAuth.getState().check()]);
    expect(a).toEqual(b);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(useAuth.getState().status).toBe("signed-in");
  });

  it("forgets the user when any call answers 401 (session expired)", async () => {
    useAuth.setState({ user: { id: 1, username: "a", role: "viewer" }, status: "signed-in" });
    fetchMock.mockResolvedValueOnce(respond(401, { error: { type: "unauthorized", message: "sign in first" } }));
    await expect(dashboards.list()).rejects.toThrow("sign in first");
    expect(useAuth.getState()).toMatchObject({ user: null, status: "signed-out" });
  });
});
