import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The dev server serves the UI with hot reload and sends every API path to the
// nginx front door of a running stack (`make run` or `docker compose up`).
const FRONT_DOOR = "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  server: {
    proxy: {
      "/api": FRONT_DOOR,
      "/prometheus": FRONT_DOOR,
      "/health": FRONT_DOOR,
      "/socket.io": { target: FRONT_DOOR, ws: true },
    },
  },
  build: {
    outDir: "dist",
    sourcemap: true,
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    restoreMocks: true,
  },
});
