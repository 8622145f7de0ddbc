import { defineConfig } from "vitest/config";

// One test run for the whole repository: unit tests beside the code, journeys in test/.
export default defineConfig({
  test: {
    include: ["*/src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    reporters: ["default"],
  },
});
