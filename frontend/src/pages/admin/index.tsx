export default function AdminPage() {
  return (
    <div className="p-6">
      <h1 className="text-xl font-semibold">Admin</h1>
    </div>
  );
}
