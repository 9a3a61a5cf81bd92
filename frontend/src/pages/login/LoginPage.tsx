/** Sign in with a Lookout account; afterwards back to where the guard sent us from. */
import { useNavigate, useSearch } from "@tanstack/react-router";
import { useState, type FormEvent } from "react";

import { useAuth } from "../../stores/auth";

export default function LoginPage() {
  const search = useSearch({ from: "/login" });
  const navigate = useNavigate();
  const login = useAuth((s) => s.login);
  const error = useAuth((s) => s.error);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const ok = await login(username, password);
    setBusy(false);
    if (ok) {
      const target = search.redirect;
      // Only same-origin paths: never an absolute URL from the query string.
      if (target !== undefined && target.startsWith("/") && !target.startsWith("//") && !target.startsWith("/login"))
        window.location.assign(target);
      else void navigate({ to: "/dashboards" });
    }
  };

  return (
    <div className="flex min-h-screen items-center justify-center bg-canvas px-4 text-ink">
      <form onSubmit={(e) => void submit(e)} className="card w-full max-w-sm p-6" data-testid="login-form" aria-label="Sign in">
        <div className="mb-6 flex items-center gap-2">
          <svg viewBox="0 0 24 24" className="h-7 w-7 text-accent" fill="none" stroke="currentColor" strokeWidth="2">
            <circle cx="12" cy="12" r="9" />
            <path d="M12 12l5-3M12 3v2M21 12h-2M12 21v-2M3 12h2" strokeLinecap="round" />
          </svg>
          <div>
            <h1 className="text-lg font-semibold">Sign in to Lookout</h1>
            <p className="text-xs text-ink-muted">Metrics, dashboards and alerts</p>
          </div>
        </div>
        <label className="label" htmlFor="login-username">Username</label>
        <input
          id="login-username"
          className="input mb-4"
          autoComplete="username"
          autoFocus
          required
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          data-testid="login-username"
        />
        <label className="label" htmlFor="login-password">Password</label>
        <input
          id="login-password"
          type="password"
          className="input mb-4"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          data-testid="login-password"
        />
        {error !== null && (
          <p role="alert" className="mb-4 rounded-md border border-bad/40 bg-bad/10 p-2 text-sm text-bad" data-testid="login-error">
            {error}
          </p>
        )}
        <button type="submit" className="btn btn-primary w-full justify-center" disabled={busy} data-testid="login-submit">
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </div>
  );
}
