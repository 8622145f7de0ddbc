import { describe, expect, it } from "vitest";
import { tighter } from "./grpc/convert.js";
import { uplinkSchema } from "./schema.js";
import { configuredLimits, limitsWithin } from "./uplink.js";

describe("batch limits", () => {
  const ours = configuredLimits(uplinkSchema.parse({ url: "cloud:50051", token: "t" }));

  it("ships live batches of 500 readings / 256 KiB and backlog batches of 3,000 / 768 KiB", () => {
    expect(ours).toEqual({ maxReadings: 500, maxBytes: 262_144, backlogReadings: 3000, backlogBytes: 786_432 });
  });

  it("keeps every bound within the cloud's Welcome, where 0 means the cloud sets none", () => {
    const welcome = { maxReadings: 1000, maxBytes: 0, backlogReadings: 1000, backlogBytes: 0 };
    expect(limitsWithin(ours, welcome, tighter)).toEqual({
      maxReadings: 500,
      maxBytes: 262_144,
      backlogReadings: 1000,
      backlogBytes: 786_432,
    });
  });

  it("keeps a Kafka session's backlog within the control session's backlog bounds, not its live ones", () => {
    const welcome = { maxReadings: 4000, maxBytes: 1_048_576, backlogReadings: 4000, backlogBytes: 1_048_576 };
    const control = limitsWithin(ours, welcome, tighter);
    expect(limitsWithin(ours, control, Math.min)).toEqual({
      maxReadings: 500,
      maxBytes: 262_144,
      backlogReadings: 3000,
      backlogBytes: 786_432,
    });
  });

  it("refuses backlog bounds out of range, naming the key", () => {
    for (const bad of [
      { backlog_batch_readings: 0 },
      { backlog_batch_readings: 20_000 },
      { backlog_batch_bytes: 100 },
      { backlog_batch_readings: "3000" },
    ]) {
      const result = uplinkSchema.safeParse({ url: "cloud:50051", token: "t", ...bad });
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual(Object.keys(bad));
    }
  });
});
