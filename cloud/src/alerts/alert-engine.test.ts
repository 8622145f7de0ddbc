/** The alert engine on a real cloud.db and the real event bus, with a hand-driven clock. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@bitvelocity/common";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../platform/database.js";
import { EventBus } from "../platform/event-bus.js";
import type { AlertView, DeviceSummary, EdgeStatusSnapshot } from "../platform/events.js";
import { AlertEngine } from "./alert-engine.js";
import { AlertService } from "./alert-service.js";
import { AlertStore } from "./alert-store.js";
import { alertsMigrations } from "./migrations.js";

let dir: string;
let db: Database;
let bus: EventBus;
let engine: AlertEngine;
let service: AlertService;
let now: number;
let updates: AlertView[];
const offlineAtStart = [{ id: "env-9", type: "env-sensor", online: false }];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "bv-alerts-"));
  db = await openDatabase(dir, [{ name: "alerts", migrations: alertsMigrations }]);
  bus = new EventBus();
  now = 1_000_000;
  updates = [];
  bus.on("alertUpdated", (a) => {
    updates.push(a);
  });
  const store = new AlertStore(db);
  engine = new AlertEngine(store, bus, { devices: () => offlineAtStart, edges: () => [] }, silentLogger(), undefined, () => now);
  await engine.start(0);
  service = new AlertService(store, engine);
});
afterEach(async () => {
  await engine.stop();
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function temperature(deviceId: string, value: number, replay = false): void {
  bus.emit("readingsCommitted", {
    edgeId: "edge-1",
    siteId: "site-1",
    replay,
    readings: [{ seq: 1, deviceId, deviceType: "env-sensor", ts: now, values: { temperature: value } }],
  });
}

const active = () => service.alerts({ state: "active" });

describe("metric threshold", () => {
  it("fires only after the value stays beyond the line for for_s, and clears only past the hysteresis", async () => {
    await service.createRule(
      { name: "Hot", kind: "metric_threshold", params: { metric: "temperature", op: "above", threshold: 30, for_s: 10, hysteresis: 2 } },
      "admin",
    );
    temperature("env-1", 31);
    now += 5_000;
    temperature("env-1", 32);
    engine.tick();
    await engine.settled();
    expect(await active()).toEqual([]);
    // Dipping below the line restarts the clock.
    temperature("env-1", 29.5);
    now += 6_000;
    temperature("env-1", 31);
    now += 9_000;
    engine.tick();
    await engine.settled();
    expect(await active()).toEqual([]);
    now += 1_000;
    engine.tick();
    await engine.settled();
    const [fired] = await active();
    expect(fired).toMatchObject({ subjectId: "env-1", kind: "metric_threshold", state: "open", active: true, value: 31 });
    // Within the hysteresis band it stays firing; below threshold - hysteresis it resolves itself.
    temperature("env-1", 29);
    await engine.settled();
    expect((await active()).map((a) => a.id)).toEqual([fired!.id]);
    temperature("env-1", 27.9);
    await engine.settled();
    expect(await active()).toEqual([]);
    expect(await service.alert(fired!.id)).toMatchObject({ state: "resolved", resolvedBy: "system", active: false });
    expect(updates.map((u) => u.state)).toEqual(["open", "resolved"]);
  });

  it("ignores replayed readings, other devices and other metrics", async () => {
    await service.createRule(
      {
        name: "Cold",
        kind: "metric_threshold",
        params: { metric: "temperature", op: "below", threshold: 0, device_id: "env-1", device_type: "env-sensor" },
      },
      "admin",
    );
    temperature("env-1", -5, true);
    temperature("env-2", -5);
    engine.tick();
    await engine.settled();
    expect(await active()).toEqual([]);
    temperature("env-1", -5);
    await engine.settled();
    expect(await active()).toHaveLength(1);
  });

  it("acknowledge keeps it open; a manual resolve holds until the condition clears", async () => {
    await service.createRule(
      { name: "Hot", kind: "metric_threshold", params: { metric: "temperature", op: "above", threshold: 30 } },
      "admin",
    );
    temperature("env-1", 35);
    await engine.settled();
    const [a] = await active();
    const acked = await service.acknowledge(a!.id, "alice");
    expect(acked).toMatchObject({ state: "acknowledged", acknowledgedBy: "alice" });
    expect(await service.acknowledge(a!.id, "bob")).toMatchObject({ acknowledgedBy: "alice" });
    const resolved = await service.resolve(a!.id, "alice");
    expect(resolved).toMatchObject({ state: "resolved", resolvedBy: "alice" });
    await expect(service.resolve(a!.id, "alice")).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(service.acknowledge(a!.id, "alice")).rejects.toMatchObject({ code: "CONFLICT" });
    temperature("env-1", 36);
    await engine.settled();
    expect(await active()).toEqual([]);
    temperature("env-1", 20);
    temperature("env-1", 36);
    await engine.settled();
    expect(await active()).toHaveLength(1);
  });
});

describe("device offline", () => {
  it("fires after for_s offline (also for devices offline at start) and resolves when back", async () => {
    await service.createRule({ name: "Lost", kind: "device_offline", params: { for_s: 30 } }, "admin");
    const device = (online: boolean): DeviceSummary => ({
      id: "env-1",
      edgeId: "edge-1",
      siteId: "site-1",
      type: "env-sensor",
      name: "env-1",
      online,
      lastSeen: now,
      latest: {},
    });
    bus.emit("deviceUpdated", device(false));
    now += 29_000;
    engine.tick();
    await engine.settled();
    expect(await active()).toEqual([]);
    now += 1_000;
    engine.tick();
    await engine.settled();
    expect((await active()).map((a) => a.subjectId).sort()).toEqual(["env-1", "env-9"]);
    bus.emit("deviceUpdated", device(true));
    await engine.settled();
    expect((await active()).map((a) => a.subjectId)).toEqual(["env-9"]);
  });
});

describe("edge outbox and gaps", () => {
  const status = (outboxReadings: number, oldestAgeSeconds: number): EdgeStatusSnapshot => ({
    outboxReadings,
    outboxBytes: outboxReadings * 100,
    oldestAgeSeconds,
    deadLetters: 0,
    drainRate: 0,
    etaSeconds: 0,
    devicesConnected: 1,
    timeMs: now,
    evictedReadings: 0,
    gaps: 0,
    bytesWritten: 0,
    bytesWrittenPerDay: 0,
    budgetBytes: 1_000_000,
    clockSynced: true,
    alarms: [],
    controlPending: 0,
    uptimeSeconds: 60,
  });

  it("fires on an outbox over size or age and clears when drained", async () => {
    await service.createRule({ name: "Backlog", kind: "outbox_backlog", params: { max_readings: 1000, max_age_s: 600 } }, "admin");
    bus.emit("edgeStatusReceived", { edgeId: "edge-1", agentVersion: "1", status: status(10, 5) });
    await engine.settled();
    expect(await active()).toEqual([]);
    bus.emit("edgeStatusReceived", { edgeId: "edge-1", agentVersion: "1", status: status(10, 601) });
    bus.emit("edgeStatusReceived", { edgeId: "edge-1", agentVersion: "1", status: status(5000, 700) });
    await engine.settled();
    const list = await active();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ subjectKind: "edge", subjectId: "edge-1" });
    bus.emit("edgeStatusReceived", { edgeId: "edge-1", agentVersion: "1", status: status(0, 0) });
    await engine.settled();
    expect(await active()).toEqual([]);
  });

  it("fires on a gap record, adds later gaps to the open alert, and a deleted rule resolves its alerts", async () => {
    const rule = await service.createRule({ name: "Gaps", kind: "gap_detected", severity: "critical", params: {} }, "admin");
    const gap = {
      edgeId: "edge-1",
      lane: "telemetry",
      firstSeq: 10,
      lastSeq: 19,
      count: 10,
      fromMs: now - 1000,
      toMs: now,
      reason: "evicted",
      receivedAtMs: now,
    };
    bus.emit("gapRecorded", gap);
    bus.emit("gapRecorded", { ...gap, firstSeq: 30, lastSeq: 34, count: 5 });
    await engine.settled();
    const [a] = await active();
    expect(a).toMatchObject({ kind: "gap_detected", severity: "critical", subjectId: "edge-1", value: 15 });
    expect(a!.message).toMatch(/30–34/);
    await service.deleteRule(rule.id);
    expect(await active()).toEqual([]);
    await expect(service.deleteRule(rule.id)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("rules", () => {
  it("refuses bad rules with every problem listed", async () => {
    const problems = async (body: unknown) => {
      try {
        await service.createRule(body, "admin");
      } catch (err) {
        return (err as { code: string; problems: { path: string }[] }).problems.map((p) => p.path);
      }
      throw new Error("accepted");
    };
    expect(await problems({ kind: "nope" })).toEqual(expect.arrayContaining(["name", "kind"]));
    expect(await problems("text")).toEqual(["(root)"]);
    expect(await problems({ name: "x", kind: "metric_threshold", params: { metric: "t", op: "over", threshold: "9", for_s: -1 } })).toEqual(
      expect.arrayContaining(["params.op", "params.threshold", "params.for_s"]),
    );
    expect(
      await problems({
        name: "x",
        kind: "metric_threshold",
        params: { metric: "nope", op: "above", threshold: 1, device_type: "env-sensor" },
      }),
    ).toEqual(["params.metric"]);
    expect(await problems({ name: "x", kind: "device_offline", params: { for_s: 10, device_type: "toaster" } })).toEqual([
      "params.device_type",
    ]);
    expect(await problems({ name: "x", kind: "outbox_backlog", params: {} })).toEqual(["params"]);
    expect(await problems({ name: "x", kind: "gap_detected", params: { extra: 1 } })).toEqual(["params"]);
    expect(await service.rules()).toEqual([]);
  });
});
