import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import type { Series } from "../lib/series";
import { TimeSeriesPanel } from "./TimeSeriesPanel";

describe("TimeSeriesPanel", () => {
  it("draws 50 series of 10,000 points from at most about 1,000 rows", () => {
    const start = 1_700_000_000_000;
    const series: Series[] = Array.from({ length: 50 }, (_, s) => ({
      key: `s${s}`,
      name: `series ${s}`,
      labels: { s: String(s) },
      points: Array.from({ length: 10_000 }, (_, i): [number, number] => [start + i * 1000, Math.sin(i / (20 + s)) * (s + 1)]),
    }));
    render(<TimeSeriesPanel type="line" series={series} options={{}} range={{ start, end: start + 10_000_000 }} />);
    const chart = screen.getByTestId("timeseries-chart");
    expect(chart.dataset.series).toBe("50");
    const rows = Number(chart.dataset.points);
    expect(rows).toBeGreaterThan(100);
    expect(rows).toBeLessThanOrEqual(1_600);
  });
});
