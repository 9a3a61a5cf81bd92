import { describe, expect, it } from "vitest";

import { formatMatchers, matchesLabels, MatcherSyntaxError, parseMatchers } from "./matchers";

describe("parseMatchers", () => {
  it("reads every operator, with or without braces", () => {
    const want = [
      { name: "service", value: "api", isRegex: false, isEqual: true },
      { name: "env", value: "prod.*", isRegex: true, isEqual: true },
      { name: "job", value: "x", isRegex: false, isEqual: false },
      { name: "zone", value: "eu-.*", isRegex: true, isEqual: false },
    ];
    const text = 'service="api", env=~"prod.*",job!="x", zone!~"eu-.*"';
    expect(parseMatchers(text)).toEqual(want);
    expect(parseMatchers(` {${text}} `)).toEqual(want);
  });

  it("keeps escaped quotes and accepts single quotes", () => {
    expect(parseMatchers(`msg="say \\"hi\\"", a='b'`)).toEqual([
      { name: "msg", value: 'say "hi"', isRegex: false, isEqual: true },
      { name: "a", value: "b", isRegex: false, isEqual: true },
    ]);
  });

  it.each([
    ["", "at least one matcher is required"],
    ['9x="a"', "expected a label name (at character 1)"],
    ['service "api"', "expected =, !=, =~ or !~ after service (at character 9)"],
    ["service=api", "expected a quoted value for service (at character 9)"],
    ['service="api', "unterminated value for service (at character 9)"],
    ['a="1" b="2"', "expected , between matchers (at character 7)"],
    ['a=~"("', "bad regular expression for a (at character 4)"],
    ['{a="1"', "missing closing }"],
  ])("refuses %j: %s", (text, message) => {
    expect(() => parseMatchers(text)).toThrow(MatcherSyntaxError);
    expect(() => parseMatchers(text)).toThrow(message);
  });

  it("round-trips through formatMatchers", () => {
    const matchers = parseMatchers('a="x\\"y", b=~"1|2", c!="", d!~"z.*"');
    expect(parseMatchers(formatMatchers(matchers))).toEqual(matchers);
    expect(formatMatchers(matchers)).toBe('a="x\\"y", b=~"1|2", c!="", d!~"z.*"');
  });
});

describe("matchesLabels", () => {
  it("anchors regexes and treats a missing label as empty", () => {
    const m = parseMatchers('service=~"api|db", env!="dev"');
    expect(matchesLabels(m, { service: "api", env: "prod" })).toBe(true);
    expect(matchesLabels(m, { service: "api2" })).toBe(false);
    expect(matchesLabels(m, { service: "db", env: "dev" })).toBe(false);
    expect(matchesLabels(parseMatchers('x=""'), {})).toBe(true);
  });
});
