import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SqliteTelemetryStore } from "./sqlite-store.js";
import { telemetryStoreContract } from "./telemetry-store.contract.js";

let dir = "";
telemetryStoreContract("sqlite", {
  async open() {
    dir = mkdtempSync(join(tmpdir(), "bv-telemetry-"));
    return SqliteTelemetryStore.open(dir);
  },
  async cleanup() {
    rmSync(dir, { recursive: true, force: true });
  },
});

describe("SqliteTelemetryStore on disk", () => {
  it("keeps committed readings and rollups across a reopen, and still de-duplicates", async () => {
    const d = mkdtempSync(join(tmpdir(), "bv-telemetry-"));
    try {
      const first = SqliteTelemetryStore.open(d);
      const r = { seq: 1, deviceId: "d", deviceType: "env-sensor", values: { co2: 500 }, edgeTimeMs: 1_700_000_000_000 };
      await first.commitBatch("e", [r]);
      await first.close();
      const second = SqliteTelemetryStore.open(d);
      expect((await second.commitBatch("e", [r])).duplicates).toBe(1);
      expect((await second.series("d", "co2", { resolution: "1h" }))[0]?.count).toBe(1);
      await second.close();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
