/** Who is signed in: the session cookie is HttpOnly, so the UI learns it from /auth/me. */
import { create } from "zustand";

import { ApiError, auth, setUnauthorizedHandler, type Role, type User } from "../api";

export type AuthStatus = "unknown" | "checking" | "signed-in" | "signed-out";

interface AuthState {
  user: User | null;
  status: AuthStatus;
  error: string | null;
  /** Asks the server who the session belongs to (once at start, and after a 401). */
  check: () => Promise<User | null>;
  login: (username: string, password: string) => Promise<boolean>;
  logout: () => Promise<void>;
  forget: () => void;
}

const RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2 };

/** Whether `user` holds at least `role`. */
export function hasRole(user: User | null, role: Role): boolean {
  return user !== null && RANK[user.role] >= RANK[role];
}

/** Whether `user` may change a dashboard owned by `ownerId` (null: provisioned, admins only). */
export function canEditDashboard(user: User | null, ownerId: number | null): boolean {
  if (user === null) return false;
  if (user.role === "admin") return true;
  return user.role === "editor" && ownerId !== null && ownerId === user.id;
}

let pendingCheck: Promise<User | null> | null = null;

export const useAuth = create<AuthState>()((set) => ({
  user: null,
  status: "unknown",
  error: null,
  check: () => {
    if (pendingCheck !== null) return pendingCheck;
    set((s) => ({ status: s.status === "signed-in" ? s.status : "checking" }));
    pendingCheck = auth
      .me()
      .then(({ user }) => {
        set({ user, status: "signed-in", error: null });
        return user;
      })
      .catch((e: unknown) => {
        const unauthorized = e instanceof ApiError && e.status === 401;
        set({
          user: null,
          status: "signed-out",
          error: unauthorized ? null : e instanceof Error ? e.message : String(e),
        });
        return null;
      })
      .finally(() => {
        pendingCheck = null;
      });
    return pendingCheck;
  },
  login: async (username, password) => {
    try {
      const { user } = await auth.login(username, password);
      set({ user, status: "signed-in", error: null });
      return true;
    } catch (e) {
      let message = e instanceof Error ? e.message : String(e);
      if (e instanceof ApiError && e.status === 429) message = `Too many attempts: ${message}`;
      set({ user: null, status: "signed-out", error: message });
      return false;
    }
  },
  logout: async () => {
    try {
      await auth.logout();
    } finally {
      set({ user: null, status: "signed-out", error: null });
    }
  },
  forget: () => set({ user: null, status: "signed-out" }),
}));

// A 401 from any call means the session is gone (expired, revoked, user disabled).
setUnauthorizedHandler(() => {
  const { status, forget } = useAuth.getState();
  if (status === "signed-in") forget();
});
