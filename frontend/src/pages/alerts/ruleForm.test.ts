import { describe, expect, it } from "vitest";

import { formatDuration, parseDuration } from "./duration";
import { emptyRuleForm, ruleExpression, ruleToForm, validateRuleForm } from "./ruleForm";
import type { Rule } from "./types";

const RULE: Rule = {
  id: 7, name: "HighLatency", group: "api", query: "latency_ms", condition: "gt",
  threshold: 500, for: 90, keep_firing_for: 0, severity: "critical", enabled: true,
  labels: { team: "ops" }, annotations: { summary: "{{ $labels.service }} is slow" },
  notification_targets: [{ type: "webhook", address: "http://hooks.example/a" }],
  provisioned: false, interval: 30, limit: 10, owner: { id: 2, username: "ann" },
  state: "inactive", alerts: [],
};

describe("durations", () => {
  it.each([["5m", 300], ["1h30m", 5400], ["500ms", 0.5], ["0s", 0], ["45", 45], ["2d", 172800]])(
    "parses %s", (text, seconds) => expect(parseDuration(text)).toBe(seconds));
  it.each(["", "5 minutes", "m5", "-1s", "1.5m"])("refuses %j", (text) =>
    expect(parseDuration(text)).toBeNull());
  it.each([[300, "5m"], [5400, "1h30m"], [0, "0s"], [0.25, "250ms"], [90061, "1d1h1m1s"]])(
    "formats %d as %s", (seconds, text) => expect(formatDuration(seconds)).toBe(text));
});

describe("validateRuleForm", () => {
  it("turns a rule into a form and back into the same body", () => {
    const { body, errors } = validateRuleForm(ruleToForm(RULE));
    expect(errors).toEqual({});
    expect(body).toEqual({
      name: "HighLatency", group: "api", query: "latency_ms", condition: "gt", threshold: 500,
      for: "1m30s", keep_firing_for: "0s", severity: "critical", enabled: true,
      labels: { team: "ops" }, annotations: { summary: "{{ $labels.service }} is slow" },
      notification_targets: [{ type: "webhook", address: "http://hooks.example/a" }],
      interval: "30s", limit: 10,
    });
  });

  it("names every bad field", () => {
    const form = {
      ...emptyRuleForm(), name: "High Latency", group: " ", query: "", threshold: "lots",
      forDuration: "soon", keepFiringFor: "5 min", interval: "0s", limit: "-1",
      labels: [{ key: "alertname", value: "x" }, { key: "9team", value: "y" },
        { key: "ok", value: "1" }, { key: "ok", value: "2" }, { key: "", value: "" }],
      annotations: [{ key: "", value: "orphan value" }],
      targets: [{ type: "email" as const, address: "nobody" },
        { type: "webhook" as const, address: "ftp://x" }],
    };
    const { body, errors } = validateRuleForm(form);
    expect(body).toBeNull();
    expect(errors).toEqual({
      name: "letters, digits, _ and : only (like HighLatency)",
      group: "required",
      query: "a PromQL expression is required",
      threshold: "a number is required with a condition",
      forDuration: "a duration such as 30s, 5m or 1h30m",
      keepFiringFor: "a duration such as 0s, 5m or 1h",
      interval: "a positive duration such as 30s or 1m, or empty for every evaluation",
      limit: "a whole number, 0 for no limit",
      "labels.0": "alertname is set by Lookout",
      "labels.1": "letters, digits and _, not starting with a digit",
      "labels.3": "ok is given twice",
      "annotations.0": "a name is required",
      "targets.0": "an e-mail address",
      "targets.1": "an http(s):// URL",
    });
  });

  it("sends no condition and no threshold for a rule file-style query", () => {
    const form = { ...emptyRuleForm(), name: "Up", query: "up == 0", condition: "" as const,
      threshold: "" };
    expect(validateRuleForm(form).body).toMatchObject({ condition: null, threshold: null,
      interval: null, limit: 0 });
    expect(validateRuleForm({ ...form, threshold: "3" }).errors).toEqual({
      threshold: "choose a condition for this threshold, or clear it" });
  });

  it("shows the expression the evaluator runs", () => {
    expect(ruleExpression("rate(x[5m])", "gt", 0.5)).toBe("(rate(x[5m])) > 0.5");
    expect(ruleExpression("up == 0", "", null)).toBe("up == 0");
  });
});
