export default function AlertsPage() {
  return (
    <div className="p-6">
      <h1 className="text-xl font-semibold">Alerts</h1>
    </div>
  );
}
