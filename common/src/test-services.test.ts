import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { freePorts } from "./test-services.js";

describe("freePorts", () => {
  it("picks distinct ports below the ephemeral range and releases them, free to bind", async () => {
    const ports = await freePorts(20);
    expect(new Set(ports).size).toBe(20);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(20_000);
      expect(port).toBeLessThan(32_768);
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", resolve);
      });
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
