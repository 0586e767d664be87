import { defineConfig } from "vitest/config";

// unit tests only: the browser tests in e2e/ run under `node --test` against a live stack
export default defineConfig({ test: { include: ["test/**/*.test.ts"] } });
