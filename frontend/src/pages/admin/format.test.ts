import { describe, expect, it } from "vitest";

import { ApiError, errorText } from "../alerts/http";
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

describe("errorText", () => {
  it("says what the server said, and what the status means", () => {
    expect(errorText(new ApiError(403, { type: "forbidden", message: "editor role required" })))
      .toBe("Not allowed — editor role required");
    expect(errorText(new ApiError(401, { type: "unauthorized", message: "sign in" })))
      .toBe("Sign in required — sign in");
    expect(errorText(new ApiError(400, { type: "bad_data", message: 'parse error: unexpected "}"' })))
      .toBe('parse error: unexpected "}" (HTTP 400)');
    expect(errorText(new ApiError(502, { type: "http_error", message: "HTTP 502" })))
      .toBe("The service behind the front door does not answer (HTTP 502)");
    expect(errorText(new ApiError(500, { type: "http_error", message: "HTTP 500" }))).toBe("HTTP 500");
    expect(errorText(new Error("Type a query first"))).toBe("Type a query first");
  });
});
