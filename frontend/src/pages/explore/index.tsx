export default function ExplorePage() {
  return (
    <div className="p-6">
      <h1 className="text-xl font-semibold">Explore</h1>
    </div>
  );
}
