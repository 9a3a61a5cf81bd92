/** Routes: /login outside the shell; everything else inside it, behind the sign-in guard. */
import { createRootRoute, createRoute, createRouter, lazyRouteComponent, redirect } from "@tanstack/react-router";

import { AppShell } from "./components/AppShell";
import { NotFound, Spinner } from "./components/states";
import LoginPage from "./pages/login/LoginPage";
import { useAuth } from "./stores/auth";

// Each page is its own chunk, loaded when first visited (the charts weigh most).
const DashboardsListPage = lazyRouteComponent(() => import("./pages/dashboards/DashboardsListPage"));
const DashboardPage = lazyRouteComponent(() => import("./pages/dashboards/DashboardPage"));
const ExplorePage = lazyRouteComponent(() => import("./pages/explore"));
const AlertsPage = lazyRouteComponent(() => import("./pages/alerts"));
const AdminPage = lazyRouteComponent(() => import("./pages/admin"));

const rootRoute = createRootRoute({ notFoundComponent: NotFound });

export interface LoginSearch {
  redirect?: string;
}

const loginRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/login",
  validateSearch: (search: Record<string, unknown>): LoginSearch =>
    typeof search.redirect === "string" ? { redirect: search.redirect } : {},
  component: LoginPage,
});

/** The signed-in shell: nav bar + page. Unknown sessions are checked once; none → /login. */
const shellRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: "shell",
  beforeLoad: async ({ location }) => {
    const state = useAuth.getState();
    const user = state.status === "signed-in" ? state.user : await state.check();
    if (user === null) {
      throw redirect({ to: "/login", search: { redirect: location.href } });
    }
  },
  component: AppShell,
});

const indexRoute = createRoute({
  getParentRoute: () => shellRoute,
  path: "/",
  beforeLoad: () => {
    throw redirect({ to: "/dashboards" });
  },
});

const dashboardsRoute = createRoute({
  getParentRoute: () => shellRoute,
  path: "/dashboards",
  component: DashboardsListPage,
});

/** Dashboard view: the time range, refresh and variables live in the URL (shareable). */
export type DashboardSearch = Record<string, string>;

const dashboardRoute = createRoute({
  getParentRoute: () => shellRoute,
  path: "/dashboards/$id",
  validateSearch: (search: Record<string, unknown>): DashboardSearch => {
    const out: DashboardSearch = {};
    for (const [k, v] of Object.entries(search)) {
      if (typeof v === "string") out[k] = v;
      else if (typeof v === "number") out[k] = String(v);
    }
    return out;
  },
  component: DashboardPage,
});

const exploreRoute = createRoute({ getParentRoute: () => shellRoute, path: "/explore", component: ExplorePage });
const alertsRoute = createRoute({ getParentRoute: () => shellRoute, path: "/alerts", component: AlertsPage });
const adminRoute = createRoute({ getParentRoute: () => shellRoute, path: "/admin", component: AdminPage });

const routeTree = rootRoute.addChildren([
  loginRoute,
  shellRoute.addChildren([indexRoute, dashboardsRoute, dashboardRoute, exploreRoute, alertsRoute, adminRoute]),
]);

export const router = createRouter({
  routeTree,
  defaultPreload: "intent",
  scrollRestoration: true,
  defaultPendingComponent: () => (
    <div className="p-6">
      <Spinner />
    </div>
  ),
});

declare module "@tanstack/react-router" {
  interface Register {
    router: typeof router;
  }
}

export { dashboardRoute, loginRoute };
