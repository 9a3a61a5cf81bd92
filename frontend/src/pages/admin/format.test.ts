import { describe, expect, it } from "vitest";

import { errorFromBody, HttpError } from "../alerts/http";
import { formatBytes, formatUptime } from "./api";

describe("admin formatting", () => {
  it("formats bytes and uptimes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(10 * 1024 * 1024 + 1)).toBe("10.0 MiB");
    expect(formatUptime(42)).toBe("42s");
    expect(formatUptime(3725)).toBe("1h 2m");
    expect(formatUptime(2 * 86400 + 3 * 3600)).toBe("2d 3h");
  });
});

describe("errorFromBody", () => {
  it("reads Lookout's, the Prometheus API's and nginx's errors", () => {
    const lookout = errorFromBody(403, "FORBIDDEN",
      { error: { type: "forbidden", message: "editor role required" } });
    expect([lookout.status, lookout.type, lookout.display])
      .toEqual([403, "forbidden", "Not allowed — editor role required"]);
    const prom = errorFromBody(400, "BAD REQUEST",
      { status: "error", errorType: "bad_data", error: 'parse error: unexpected "}"' });
    expect(prom.display).toBe('parse error: unexpected "}" (HTTP 400)');
    expect(prom.type).toBe("bad_data");
    const gateway = errorFromBody(502, "Bad Gateway", null);
    expect(gateway).toBeInstanceOf(HttpError);
    expect(gateway.display).toBe("the service behind the front door does not answer (HTTP 502)");
    expect(errorFromBody(401, "UNAUTHORIZED", { error: { type: "unauthorized",
      message: "sign in" } }).display).toBe("Sign in required — sign in");
  });
});
