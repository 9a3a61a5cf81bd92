/** The signed-in frame: a narrow side bar (pages, user, sign out) and the page beside it. */
import { Link, Outlet, useNavigate } from "@tanstack/react-router";
import type { ReactNode } from "react";

import { hasRole, useAuth } from "../stores/auth";

function NavItem({ to, label, icon, testId }: { to: string; label: string; icon: ReactNode; testId: string }) {
  return (
    <Link
      to={to}
      data-testid={testId}
      className="flex items-center gap-3 rounded-md px-3 py-2 text-sm text-ink-muted hover:bg-surface-2 hover:text-ink"
      activeProps={{ className: "bg-surface-2 !text-ink shadow-[inset_2px_0_0_var(--color-accent)]" }}
    >
      <span className="h-4 w-4 shrink-0">{icon}</span>
      {label}
    </Link>
  );
}

const icon = (d: string) => (
  <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round">
    <path d={d} />
  </svg>
);

export function AppShell() {
  const user = useAuth((s) => s.user);
  const logout = useAuth((s) => s.logout);
  const navigate = useNavigate();
  return (
    <div className="flex h-screen bg-canvas text-ink">
      <nav className="flex w-52 shrink-0 flex-col border-r border-line bg-surface" aria-label="Main" data-testid="nav">
        <Link to="/dashboards" className="flex items-center gap-2 px-4 py-4 text-base font-semibold tracking-wide">
          <svg viewBox="0 0 24 24" className="h-6 w-6 text-accent" fill="none" stroke="currentColor" strokeWidth="2">
            <circle cx="12" cy="12" r="9" />
            <path d="M12 12l5-3M12 3v2M21 12h-2M12 21v-2M3 12h2" strokeLinecap="round" />
          </svg>
          Lookout
        </Link>
        <div className="flex flex-1 flex-col gap-0.5 px-2">
          <NavItem to="/dashboards" label="Dashboards" testId="nav-dashboards" icon={icon("M3 3h8v8H3zM13 3h8v5h-8zM13 10h8v11h-8zM3 13h8v8H3z")} />
          <NavItem to="/explore" label="Explore" testId="nav-explore" icon={icon("M11 19a8 8 0 1 0 0-16 8 8 0 0 0 0 16zM21 21l-4.3-4.3")} />
          <NavItem to="/alerts" label="Alerts" testId="nav-alerts" icon={icon("M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9M13.7 21a2 2 0 0 1-3.4 0")} />
          {hasRole(user, "admin") && (
            <NavItem to="/admin" label="Admin" testId="nav-admin" icon={icon("M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z")} />
          )}
        </div>
        {user !== null && (
          <div className="border-t border-line p-3 text-sm" data-testid="user-menu">
            <div className="truncate font-medium" data-testid="current-user">{user.username}</div>
            <div className="text-xs capitalize text-ink-muted" data-testid="current-role">{user.role}</div>
            <button
              type="button"
              className="btn btn-ghost mt-2 w-full justify-center"
              data-testid="logout"
              onClick={() => {
                void logout().then(() => navigate({ to: "/login" }));
              }}
            >
              Sign out
            </button>
          </div>
        )}
      </nav>
      <main className="min-w-0 flex-1 overflow-auto">
        <Outlet />
      </main>
    </div>
  );
}
