// Who is signed in (the shell's auth store), for hiding controls a role may not use;
// the APIs still decide.

import type { User } from "../../api/types";
import { useAuth } from "../../stores/auth";

export type Me = User;

export function useMe(): Me | undefined {
  return useAuth((s) => s.user) ?? undefined;
}

export function canEdit(me: Me | undefined): boolean {
  return me?.role === "editor" || me?.role === "admin";
}
