import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

// Unmount what each test rendered so no interval outlives its test.
afterEach(() => {
  cleanup();
});
