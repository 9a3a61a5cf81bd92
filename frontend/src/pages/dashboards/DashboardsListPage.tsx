export default function DashboardsListPage() {
  return <h1 className="p-6 text-xl font-semibold">Dashboards</h1>;
}
