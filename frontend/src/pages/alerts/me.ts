// Who is signed in, for hiding controls a role may not use (the API still decides).

import { requestJson } from "./http";
import { useResource } from "./useResource";

export interface Me {
  id: number;
  username: string;
  role: "viewer" | "editor" | "admin";
}

export function useMe() {
  return useResource((signal) =>
    requestJson<{ user: Me }>("/api/v1/auth/me", { signal }).then((r) => r.user), []);
}

export function canEdit(me: Me | undefined): boolean {
  return me?.role === "editor" || me?.role === "admin";
}
