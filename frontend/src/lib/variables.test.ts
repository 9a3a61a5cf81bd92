import { describe, expect, it } from "vitest";

import type { Variable } from "../api/types";
import { ALL, initialSelection, interpolate, parseLabelValuesQuery, variableText } from "./variables";

const SERVICE: Variable = { name: "service", type: "query", query: "label_values(latency_ms, service)", include_all: true, all_value: ".*" };

describe("interpolate", () => {
  it("replaces $var, ${var} and [[var]]", () => {
    expect(interpolate('up{service="$service"}', { service: "api" })).toBe('up{service="api"}');
    expect(interpolate('up{service="${service}"} + x{s="[[service]]"}', { service: "api" })).toBe('up{service="api"} + x{s="api"}');
  });

  it("does not take $service_name for $service", () => {
    expect(interpolate("$service_name $service", { service: "a", service_name: "b" })).toBe("b a");
    expect(interpolate("$servicex", { service: "a" })).toBe("$servicex");
  });

  it("turns an equality matcher into a regex match for several values or all", () => {
    expect(interpolate('up{service="$service"}', { service: "(api|auth)" })).toBe('up{service=~"(api|auth)"}');
    expect(interpolate('up{service=~"$service"}', { service: ".*" })).toBe('up{service=~".*"}');
    expect(interpolate('up{service="$service"}', { service: ".*" })).toBe('up{service=~".*"}');
  });

  it("fills Grafana's interval variables from the step", () => {
    expect(interpolate("rate(x[$__rate_interval])", {}, 15)).toBe("rate(x[60s])");
    expect(interpolate("rate(x[$__rate_interval])", {}, 30)).toBe("rate(x[120s])");
    expect(interpolate("avg_over_time(x[$__interval])", {}, 15)).toBe("avg_over_time(x[15s])");
  });
});

describe("variable values", () => {
  it("is one value, an escaped alternation, or the all regex", () => {
    expect(variableText(SERVICE, ["api"])).toBe("api");
    expect(variableText(SERVICE, ["api", "a.b"])).toBe("(api|a\\.b)");
    expect(variableText(SERVICE, [ALL])).toBe(".*");
    expect(variableText(SERVICE, [])).toBe(".*");
  });

  it("starts from the URL, else the variable's current value, else all", () => {
    expect(initialSelection(SERVICE, "api,auth")).toEqual(["api", "auth"]);
    expect(initialSelection({ ...SERVICE, current: "db" }, undefined)).toEqual(["db"]);
    expect(initialSelection({ ...SERVICE, current: ".*" }, undefined)).toEqual([ALL]);
  });

  it("reads label_values queries", () => {
    expect(parseLabelValuesQuery("label_values(latency_ms, service)")).toEqual({ metric: "latency_ms", label: "service" });
    expect(parseLabelValuesQuery('label_values(up{job="x"}, instance)')).toEqual({ metric: 'up{job="x"}', label: "instance" });
    expect(parseLabelValuesQuery("label_values(service)")).toEqual({ label: "service" });
    expect(parseLabelValuesQuery("api,auth")).toBeNull();
  });
});
