// Users: list, create, change role, disable or enable, reset password, delete; and API
// tokens: list, create (the secret is shown once), revoke.

import { useState } from "react";

import { Badge, Button, Empty, ErrorBox, Field, inputClass, Loading, Notice } from "../alerts/ui";
import { useResource } from "../alerts/useResource";
import { adminApi, type Role, ROLES, type Token } from "./api";

function useAction(onDone: () => void) {
  const [error, setError] = useState<unknown>(null);
  const run = async (what: () => Promise<unknown>) => {
    setError(null);
    try {
      await what();
      onDone();
      return true;
    } catch (e) {
      setError(e);
      return false;
    }
  };
  return { error, run };
}

export function UsersPanel({ myName }: { myName: string | undefined }) {
  const users = useResource((signal) => adminApi.users(signal), []);
  const action = useAction(users.reload);
  const [draft, setDraft] = useState({ username: "", password: "", role: "viewer" as Role });
  const [notice, setNotice] = useState<string | null>(null);

  return (
    <div className="space-y-4">
      <form data-testid="user-form" className="flex flex-wrap items-end gap-3 card p-4"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await action.run(() => adminApi.createUser(draft))) {
            setNotice(`Created ${draft.username} (${draft.role}).`);
            setDraft({ username: "", password: "", role: draft.role });
          }
        }}>
        <Field label="Username" htmlFor="new-username">
          <input id="new-username" data-testid="user-new-name" value={draft.username} required
            onChange={(e) => setDraft({ ...draft, username: e.target.value })} className={`${inputClass} w-48`} />
        </Field>
        <Field label="Password" htmlFor="new-password">
          <input id="new-password" data-testid="user-new-password" type="password" value={draft.password}
            minLength={8} required placeholder="8 characters or more"
            onChange={(e) => setDraft({ ...draft, password: e.target.value })} className={`${inputClass} w-48`} />
        </Field>
        <Field label="Role" htmlFor="new-role">
          <select id="new-role" data-testid="user-new-role" value={draft.role}
            onChange={(e) => setDraft({ ...draft, role: e.target.value as Role })} className={`${inputClass} w-32`}>
            {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
        </Field>
        <Button type="submit" variant="primary" data-testid="user-create">Create user</Button>
      </form>
      {notice && <Notice testId="users-notice">{notice}</Notice>}
      {action.error !== null && <ErrorBox error={action.error} testId="users-error" />}
      {users.error !== null && <ErrorBox error={users.error} retry={users.reload} />}
      {users.loading && <Loading what="users" />}
      {users.data && users.data.length === 0 && <Empty>No users.</Empty>}
      {users.data && users.data.length > 0 && (
        <div className="overflow-x-auto rounded-lg border border-line">
          <table data-testid="users-table" className="w-full text-left text-sm">
            <thead className="bg-surface-2 text-xs uppercase text-ink-muted">
              <tr>
                <th className="px-3 py-2">User</th><th className="px-3 py-2">Role</th>
                <th className="px-3 py-2">Status</th><th className="px-3 py-2">Created</th>
                <th className="px-3 py-2 text-right">Actions</th>
              </tr>
            </thead>
            <tbody>
              {users.data.map((u) => (
                <tr key={u.id} data-testid="user-row" data-username={u.username} className="border-t border-line">
                  <td className="px-3 py-2 font-medium text-ink">
                    {u.username}{u.username === myName && <span className="ml-2 text-xs text-ink-muted">(you)</span>}
                  </td>
                  <td className="px-3 py-2">
                    <select aria-label={`Role of ${u.username}`} data-testid="user-role" value={u.role}
                      disabled={u.username === myName}
                      onChange={(e) => void action.run(() => adminApi.changeUser(u.id, { role: e.target.value as Role }))}
                      className={`${inputClass} w-28`}>
                      {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
                    </select>
                  </td>
                  <td className="px-3 py-2">
                    {u.disabled ? <Badge kind="disabled">disabled</Badge> : <Badge kind="ok">active</Badge>}
                  </td>
                  <td className="px-3 py-2 text-xs text-ink-muted">{new Date(u.created_at).toLocaleString()}</td>
                  <td className="px-3 py-2 text-right">
                    {u.username !== myName && (
                      <div className="flex justify-end gap-1">
                        <Button variant="ghost" className="text-xs"
                          onClick={() => void action.run(() => adminApi.changeUser(u.id, { disabled: !u.disabled }))}>
                          {u.disabled ? "Enable" : "Disable"}
                        </Button>
                        <Button variant="ghost" className="text-xs"
                          onClick={() => {
                            const password = window.prompt(`New password for ${u.username} (8 characters or more)`);
                            if (password) {
                              void action.run(() => adminApi.changeUser(u.id, { password }))
                                .then((ok) => ok && setNotice(`Password of ${u.username} changed.`));
                            }
                          }}>Set password</Button>
                        <Button variant="ghost" className="text-xs text-bad" data-testid="user-delete"
                          onClick={() => {
                            if (window.confirm(`Delete ${u.username}? Their API tokens go too; their dashboards stay, without an owner.`)) {
                              void action.run(() => adminApi.deleteUser(u.id));
                            }
                          }}>Delete</Button>
                      </div>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

export function TokensPanel({ usernames }: { usernames: string[] }) {
  const tokens = useResource((signal) => adminApi.tokens(signal), []);
  const action = useAction(tokens.reload);
  const [name, setName] = useState("");
  const [owner, setOwner] = useState("");
  const [created, setCreated] = useState<Token | null>(null);

  return (
    <div className="space-y-4">
      <form data-testid="token-form" className="flex flex-wrap items-end gap-3 card p-4"
        onSubmit={async (e) => {
          e.preventDefault();
          await action.run(async () => {
            setCreated(await adminApi.createToken(owner ? { name, username: owner } : { name }));
            setName("");
          });
        }}>
        <Field label="Token name" htmlFor="token-name">
          <input id="token-name" data-testid="token-name" value={name} required maxLength={100}
            placeholder="grafana-agent" onChange={(e) => setName(e.target.value)} className={`${inputClass} w-56`} />
        </Field>
        <Field label="For user" htmlFor="token-owner">
          <select id="token-owner" value={owner} onChange={(e) => setOwner(e.target.value)}
            className={`${inputClass} w-44`}>
            <option value="">me</option>
            {usernames.map((u) => <option key={u} value={u}>{u}</option>)}
          </select>
        </Field>
        <Button type="submit" variant="primary" data-testid="token-create">Create token</Button>
      </form>
      {created?.token && (
        <Notice testId="token-secret">
          Token <b>{created.name}</b> for {created.username}: <code className="select-all break-all font-mono">{created.token}</code>
          <div className="mt-1 text-xs">Copy it now: it is not shown again. Send it as <code>Authorization: Bearer …</code>.</div>
        </Notice>
      )}
      {action.error !== null && <ErrorBox error={action.error} testId="tokens-error" />}
      {tokens.error !== null && <ErrorBox error={tokens.error} retry={tokens.reload} />}
      {tokens.loading && <Loading what="API tokens" />}
      {tokens.data && tokens.data.length === 0 && (
        <Empty testId="tokens-empty">No API tokens. Agents and scripts use one to query or push.</Empty>
      )}
      {tokens.data && tokens.data.length > 0 && (
        <div className="overflow-x-auto rounded-lg border border-line">
          <table data-testid="tokens-table" className="w-full text-left text-sm">
            <thead className="bg-surface-2 text-xs uppercase text-ink-muted">
              <tr>
                <th className="px-3 py-2">Name</th><th className="px-3 py-2">User</th>
                <th className="px-3 py-2">Created</th><th className="px-3 py-2">Last used</th>
                <th className="px-3 py-2">Status</th><th className="px-3 py-2" />
              </tr>
            </thead>
            <tbody>
              {tokens.data.map((t) => (
                <tr key={t.id} data-testid="token-row" className="border-t border-line">
                  <td className="px-3 py-2 font-mono text-ink">{t.name}</td>
                  <td className="px-3 py-2 text-ink">{t.username}</td>
                  <td className="px-3 py-2 text-xs text-ink-muted">{new Date(t.created_at).toLocaleString()}</td>
                  <td className="px-3 py-2 text-xs text-ink-muted">
                    {t.last_used_at ? new Date(t.last_used_at).toLocaleString() : "never"}
                  </td>
                  <td className="px-3 py-2">
                    {t.revoked ? <Badge kind="disabled">revoked</Badge> : <Badge kind="ok">active</Badge>}
                  </td>
                  <td className="px-3 py-2 text-right">
                    {!t.revoked && (
                      <Button variant="ghost" className="text-xs text-bad"
                        onClick={() => void action.run(() => adminApi.revokeToken(t.id))}>Revoke</Button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
