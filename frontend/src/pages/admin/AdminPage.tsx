// Admin: system health and statistics, users, API tokens, the dead-letter queue.
// Admins only; anyone else sees the API's 403 (and the navigation hides the page).

import { useState } from "react";

import { canEdit, useMe } from "../alerts/me";
import { Notice, PageHeader, Tabs } from "../alerts/ui";
import { useResource } from "../alerts/useResource";
import { adminApi } from "./api";
import { DeadLettersPanel } from "./DeadLettersPanel";
import { SystemPanel } from "./SystemPanel";
import { TokensPanel, UsersPanel } from "./UsersPanel";

type Tab = "system" | "users" | "tokens" | "dlq";

function TokensTab() {
  const users = useResource((signal) => adminApi.users(signal), []);
  return <TokensPanel usernames={users.data?.map((u) => u.username) ?? []} />;
}

export function AdminPage() {
  const [tab, setTab] = useState<Tab>("system");
  const me = useMe();
  if (me?.role !== "admin") {
    return (
      <div className="p-6" data-testid="admin-page">
        <PageHeader title="Administration" />
        <Notice tone="warn" testId="admin-forbidden">
          Administration is for admins; you are signed in as {me?.username}
          {canEdit(me) ? " (editor)" : " (viewer)"}.
        </Notice>
      </div>
    );
  }
  return (
    <div className="p-6" data-testid="admin-page">
      <PageHeader title="Administration" subtitle="Health, statistics, accounts and the dead-letter queue." />
      <Tabs<Tab> current={tab} onChange={setTab} tabs={[
        { id: "system", label: "System" }, { id: "users", label: "Users" },
        { id: "tokens", label: "API tokens" }, { id: "dlq", label: "Dead letters" },
      ]} />
      <div className="mt-4">
        {tab === "system" && <SystemPanel />}
        {tab === "users" && <UsersPanel myName={me.username} />}
        {tab === "tokens" && <TokensTab />}
        {tab === "dlq" && <DeadLettersPanel />}
      </div>
    </div>
  );
}
