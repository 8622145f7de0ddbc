import { describe, expect, it } from "vitest";
import type { OutboxReader, OutboxStats } from "../outbox/types.js";
import { buildStatus, DrainRate } from "./status.js";
import { TestGateway } from "./test-gateway.js";

function statsOnly(stats: OutboxStats): Pick<OutboxReader, "stats"> {
  return { stats: () => stats };
}

const identity = { bootId: "boot-9", clockSynced: () => true, uptimeMs: () => 61_000 };

describe("DrainRate", () => {
  it("averages over the window and forgets older seconds", () => {
    let now = 100_000;
    const rate = new DrainRate(10_000, () => now);
    expect(rate.perSecond()).toBe(0);
    rate.record(50);
    now += 4_000;
    rate.record(30);
    expect(rate.perSecond()).toBe(8);
    now += 7_000; // the first 50 are now older than 10 s
    expect(rate.perSecond()).toBe(3);
    now += 20_000;
    expect(rate.perSecond()).toBe(0);
    rate.record(-5);
    expect(rate.perSecond()).toBe(0);
  });
});

describe("buildStatus", () => {
  const gateway = new TestGateway([
    { deviceId: "a", deviceType: "env-sensor", name: "A", online: true, lastSeenMs: 1 },
    { deviceId: "b", deviceType: "env-sensor", name: "B", online: false, lastSeenMs: 0 },
  ]);
  const stats: OutboxStats = {
    readings: 600,
    bytes: 9000,
    diskBytes: 20_000,
    budgetBytes: 1_000_000,
    oldestAgeSeconds: 12.5,
    deadLetters: 3,
    bytesWritten: 1,
    evictedReadings: 7,
    gaps: 2,
    controlPending: 1,
    alarms: ["OUTBOX_FULL: x"],
  };

  it("derives the ETA from the backlog and the drain rate", () => {
    let now = 0;
    const rate = new DrainRate(10_000, () => now);
    rate.record(300);
    now = 500;
    const status = buildStatus({ outbox: statsOnly(stats), gateway, rate, agentVersion: "1.2.3", ...identity }, 42);
    expect(status).toMatchObject({
      timeMs: 42,
      outboxReadings: 600,
      outboxBytes: 9000,
      oldestAgeSeconds: 12.5,
      deadLetters: 3,
      drainRate: 30,
      etaSeconds: 20,
      devicesConnected: 1,
      agentVersion: "1.2.3",
      evictedReadings: 7,
      gaps: 2,
      bytesWritten: 1,
      budgetBytes: 1_000_000,
      bootId: "boot-9",
      clockSynced: true,
      alarms: ["OUTBOX_FULL: x"],
      uptimeSeconds: 61,
      controlPending: 1,
    });
  });

  it("reports ETA 0 when nothing drains or nothing waits", () => {
    const idle = new DrainRate(10_000, () => 0);
    expect(buildStatus({ outbox: statsOnly(stats), gateway, rate: idle, agentVersion: "x", ...identity }).etaSeconds).toBe(0);
    const busy = new DrainRate(10_000, () => 0);
    busy.record(10);
    expect(
      buildStatus({ outbox: statsOnly({ ...stats, readings: 0 }), gateway, rate: busy, agentVersion: "x", ...identity }).etaSeconds,
    ).toBe(0);
  });
});
