import { describe, expect, it } from "vitest";

import { targetsOf } from "./usePanelData";

describe("targetsOf", () => {
  it("runs the panel's query with its legend format", () => {
    expect(targetsOf("up", { legendFormat: "{{job}}" })).toEqual([{ expr: "up", legendFormat: "{{job}}" }]);
    expect(targetsOf("  ", {})).toEqual([]);
  });

  it("takes Grafana's targets after the first, the query standing for the first one", () => {
    const options = { targets: [{ expr: "a", legend: "{{x}}" }, { expr: "b", legendFormat: "B" }] as unknown as { expr: string }[] };
    expect(targetsOf("a_edited", options)).toEqual([{ expr: "a_edited", legendFormat: "{{x}}" }, { expr: "b", legendFormat: "B" }]);
  });

  it("uses every target as a column in heatmap matrix mode", () => {
    expect(targetsOf("ignored", { mode: "matrix", targets: [{ expr: "a" }, { expr: "b" }] })).toEqual([{ expr: "a" }, { expr: "b" }]);
  });
});
