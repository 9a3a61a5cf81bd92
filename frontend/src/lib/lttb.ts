/** Largest-Triangle-Three-Buckets downsampling (Steinarsson, 2013): keeps a series' shape in
 * `threshold` points so a chart draws quickly however long the series is. */

export type XY = readonly [number, number];

export function lttb<T extends XY>(points: readonly T[], threshold: number): T[] {
  const n = points.length;
  if (threshold >= n || threshold <= 2) return threshold <= 2 && n > 2 ? [points[0]!, points[n - 1]!] : points.slice();
  const out: T[] = [points[0]!];
  const bucket = (n - 2) / (threshold - 2);
  let a = 0;
  for (let i = 0; i < threshold - 2; i++) {
    // The average of the next bucket is the third corner of the triangle.
    const nextStart = Math.floor((i + 1) * bucket) + 1;
    const nextEnd = Math.min(Math.floor((i + 2) * bucket) + 1, n);
    let avgX = 0;
    let avgY = 0;
    for (let j = nextStart; j < nextEnd; j++) {
      avgX += points[j]![0];
      avgY += points[j]![1];
    }
    const count = nextEnd - nextStart || 1;
    avgX /= count;
    avgY /= count;
    const start = Math.floor(i * bucket) + 1;
    const end = Math.floor((i + 1) * bucket) + 1;
    const [ax, ay] = points[a]!;
    let best = start;
    let bestArea = -1;
    for (let j = start; j < end; j++) {
      const [x, y] = points[j]!;
      const area = Math.abs((ax - avgX) * (y - ay) - (ax - x) * (avgY - ay));
      if (area > bestArea) {
        bestArea = area;
        best = j;
      }
    }
    out.push(points[best]!);
    a = best;
  }
  out.push(points[n - 1]!);
  return out;
}
