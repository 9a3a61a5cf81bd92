// Silence matchers typed as PromQL-style text: `service="api", env=~"prod.*"` (braces
// optional) ⇄ the API's [{name, value, isRegex, isEqual}] (Alertmanager's form).

import type { Matcher } from "./types";

const OPERATORS: Record<string, Pick<Matcher, "isRegex" | "isEqual">> = {
  "=": { isRegex: false, isEqual: true },
  "!=": { isRegex: false, isEqual: false },
  "=~": { isRegex: true, isEqual: true },
  "!~": { isRegex: true, isEqual: false },
};

export class MatcherSyntaxError extends Error {
  readonly position: number;

  constructor(message: string, position: number) {
    super(`${message} (at character ${position + 1})`);
    this.position = position;
  }
}

/** Parse matcher text; throws MatcherSyntaxError naming what and where. */
export function parseMatchers(input: string): Matcher[] {
  let text = input.trim();
  let offset = input.indexOf(text);
  if (text.startsWith("{")) {
    if (!text.endsWith("}")) throw new MatcherSyntaxError("missing closing }", offset + text.length);
    text = text.slice(1, -1);
    offset += 1;
  }
  const out: Matcher[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i] ?? "")) i++;
  };
  skipSpace();
  while (i < text.length) {
    const nameMatch = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (!nameMatch) throw new MatcherSyntaxError("expected a label name", offset + i);
    const name = nameMatch[0];
    i += name.length;
    skipSpace();
    const op = ["=~", "!~", "!=", "="].find((o) => text.startsWith(o, i));
    if (!op) throw new MatcherSyntaxError(`expected =, !=, =~ or !~ after ${name}`, offset + i);
    i += op.length;
    skipSpace();
    const quote = text[i];
    if (quote !== '"' && quote !== "'") {
      throw new MatcherSyntaxError(`expected a quoted value for ${name}`, offset + i);
    }
    let value = "";
    let j = i + 1;
    let closed = false;
    while (j < text.length) {
      const c = text[j] as string;
      if (c === "\\" && j + 1 < text.length) {
        value += text[j + 1];
        j += 2;
        continue;
      }
      if (c === quote) {
        closed = true;
        break;
      }
      value += c;
      j++;
    }
    if (!closed) throw new MatcherSyntaxError(`unterminated value for ${name}`, offset + i);
    const kind = OPERATORS[op] as Pick<Matcher, "isRegex" | "isEqual">;
    if (kind.isRegex) {
      try {
        new RegExp(value);
      } catch {
        throw new MatcherSyntaxError(`bad regular expression for ${name}`, offset + i);
      }
    }
    out.push({ name, value, ...kind });
    i = j + 1;
    skipSpace();
    if (i < text.length) {
      if (text[i] !== ",") throw new MatcherSyntaxError("expected , between matchers", offset + i);
      i++;
      skipSpace();
    }
  }
  if (out.length === 0) throw new MatcherSyntaxError("at least one matcher is required", offset);
  return out;
}

export function formatMatcher(m: Matcher): string {
  const op = m.isRegex ? (m.isEqual ? "=~" : "!~") : m.isEqual ? "=" : "!=";
  return `${m.name}${op}"${m.value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export function formatMatchers(matchers: Matcher[]): string {
  return matchers.map(formatMatcher).join(", ");
}

/** Whether the matchers select these labels (as the alerts service decides it: a regex
 * matches the whole value). */
export function matchesLabels(matchers: Matcher[], labels: Record<string, string>): boolean {
  return matchers.every((m) => {
    const value = labels[m.name] ?? "";
    const hit = m.isRegex ? new RegExp(`^(?:${m.value})$`).test(value) : value === m.value;
    return hit === m.isEqual;
  });
}
