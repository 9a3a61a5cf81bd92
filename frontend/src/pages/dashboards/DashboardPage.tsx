export default function DashboardPage() {
  return <h1 className="p-6 text-xl font-semibold">Dashboard</h1>;
}
