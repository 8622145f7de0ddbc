import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "@bitvelocity/common";
import { decodeTelemetry, deviceType, parseTopic } from "@bitvelocity/devices";
import { afterEach, describe, expect, it } from "vitest";
import type { AckedRecord } from "./acked-log.js";
import { type FleetHandle, runFleet } from "./fleet.js";
import { type Scenario, scenarioSchema } from "./scenario.js";
import { startTestBroker, type TestBroker } from "./test-broker.js";

// Failure injection against a real aedes broker: what the broker receives on the wire and what the
// acked log says must match what each failure means.
const SECRET = "failure-test-secret";
const ENV = deviceType("env-sensor")!;
let broker: TestBroker | undefined;
let fleet: FleetHandle | undefined;

afterEach(async () => {
  await fleet?.stop();
  await broker?.close();
  fleet = broker = undefined;
});

function scenario(url: string, fleet: Record<string, unknown>, extra: Record<string, unknown> = {}): Scenario {
  return scenarioSchema.parse({
    version: 1,
    seed: 5,
    broker: { url, connect_timeout_ms: 2000 },
    fleet_secret: SECRET,
    fleets: [{ type: "env-sensor", count: 1, id_prefix: "env-", interval_ms: 60, ...fleet }],
    ...extra,
  });
}

async function until(cond: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await sleep(20);
  }
}

const telemetry = (b: TestBroker, deviceId = "env-0001") =>
  b.received.filter((p) => p.clientId === deviceId && parseTopic(p.topic)?.kind === "telemetry");
const tsOf = (payload: Buffer) => (JSON.parse(payload.toString()) as { ts: number }).ts;
const readAcked = (file: string): AckedRecord[] =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AckedRecord);
const tempLog = () => join(mkdtempSync(join(tmpdir(), "bv-sim-fail-")), "acked.jsonl");

describe("power cycle", () => {
  async function queueThenPowerCycle(persist: boolean) {
    broker = await startTestBroker(SECRET);
    const ackedLog = tempLog();
    fleet = runFleet(scenario(broker.url, { offline_queue: 1000, persist_queue: persist }), { ackedLog });
    const device = fleet.devices[0]!;
    await until(() => fleet!.stats().acked >= 3);
    // Off the network long enough to queue readings, then the power goes.
    device.networkFlap(60_000);
    await until(() => device.queued >= 5);
    const queuedBefore = device.queued;
    device.powerCycle(100);
    await until(() => fleet!.stats().connects >= 2 && fleet!.stats().acked >= 12);
    const final = await fleet.stop();
    fleet = undefined;
    return { final, queuedBefore, lines: readAcked(ackedLog) };
  }

  it("loses the device's unsent readings when they were only in RAM", async () => {
    const { final, queuedBefore, lines } = await queueThenPowerCycle(false);
    expect(final.powerCycles).toBe(1);
    expect(final.lostPowerCycle).toBeGreaterThanOrEqual(queuedBefore);
    const ns = lines.map((l) => l.n).sort((a, b) => a - b);
    // A gap of at least the queued readings: they never reached the broker.
    const gaps = ns.slice(1).map((n, i) => n - ns[i]!);
    expect(Math.max(...gaps)).toBeGreaterThan(queuedBefore);
    expect(telemetry(broker!).length).toBe(lines.length);
  });

  it("delivers them after the reboot when the device persists its queue", async () => {
    const { final, queuedBefore, lines } = await queueThenPowerCycle(true);
    expect(final.lostPowerCycle).toBe(0);
    expect(queuedBefore).toBeGreaterThanOrEqual(5);
    const ns = lines.map((l) => l.n).sort((a, b) => a - b);
    expect(ns).toEqual(ns.map((_, i) => i + 1)); // no gap: 1, 2, 3, …
  });

  it("the broker publishes the last will: the device vanished without DISCONNECT", async () => {
    broker = await startTestBroker(SECRET);
    fleet = runFleet(scenario(broker.url, {}));
    await until(() => fleet!.stats().acked >= 2);
    const wills: string[] = [];
    const aedesWill = (await import("mqtt")).default.connect(broker.url, { username: "tester", password: "tester-secret", clientId: "w" });
    await new Promise<void>((resolve) => aedesWill.on("connect", () => resolve()));
    await aedesWill.subscribeAsync("bv/env-0001/status", { qos: 1 });
    aedesWill.on("message", (_t, p) => wills.push(p.toString()));
    fleet.devices[0]!.powerCycle(300);
    await until(() => wills.includes("offline"));
    await until(() => wills.lastIndexOf("online") > wills.indexOf("offline"));
    await aedesWill.endAsync();
  });
});

describe("duplicates, malformed payloads, clocks", () => {
  it("a duplicate publish is really two PUBLISH packets on the wire, logged once", async () => {
    broker = await startTestBroker(SECRET);
    const ackedLog = tempLog();
    fleet = runFleet(scenario(broker.url, {}), { ackedLog });
    await until(() => fleet!.stats().acked >= 2);
    fleet.devices[0]!.duplicateFor(0);
    await until(() => fleet!.stats().duplicatesAcked >= 1);
    const final = await fleet.stop();
    fleet = undefined;
    const payloads = telemetry(broker).map((p) => p.payload.toString());
    const twice = payloads.filter((p, i) => payloads.indexOf(p) !== i);
    expect(twice).toHaveLength(1);
    expect(final.duplicatesSent).toBe(1);
    const lines = readAcked(ackedLog);
    expect(lines).toHaveLength(final.acked);
    expect(new Set(lines.map((l) => l.n)).size).toBe(lines.length);
  });

  it("malformed payloads of every kind reach the broker, are refused by the decoder, and are never in the acked log", async () => {
    broker = await startTestBroker(SECRET);
    const ackedLog = tempLog();
    fleet = runFleet(scenario(broker.url, { interval_ms: 10_000 }), { ackedLog });
    await until(() => fleet!.stats().connected === 1);
    const kinds = ["not_json", "wrong_type", "out_of_range", "missing_values", "oversize"] as const;
    for (const k of kinds) fleet.devices[0]!.publishMalformed(k);
    await until(() => fleet!.stats().malformedAcked === kinds.length);
    const final = await fleet.stop();
    fleet = undefined;
    const bad = telemetry(broker).filter((p) => !decodeTelemetry(ENV, p.payload).ok);
    expect(bad).toHaveLength(kinds.length);
    expect(final.malformedSent).toBe(kinds.length);
    expect(readAcked(ackedLog)).toHaveLength(final.acked);
  });

  it("a device without RTC stamps 1970 + uptime until it synced, and again after a power cycle", async () => {
    broker = await startTestBroker(SECRET);
    fleet = runFleet(scenario(broker.url, { rtc: false, clock_sync_ms: 500 }));
    const device = fleet.devices[0]!;
    await until(() => device.clockSynced && fleet!.stats().acked >= 12);
    device.powerCycle(50);
    await until(() => fleet!.stats().connects >= 2);
    await until(() => device.clockSynced, 5000);
    await sleep(200);
    const ts = telemetry(broker).map((p) => tsOf(p.payload));
    const early = ts.filter((t) => t < 1_000_000_000_000);
    expect(early.length).toBeGreaterThan(2); // before the first sync and after the reboot
    expect(early.every((t) => t < 60_000)).toBe(true); // uptime since boot: seconds after 1970-01-01
    expect(ts.filter((t) => Math.abs(t - Date.now()) < 60_000).length).toBeGreaterThan(2);
    for (const p of telemetry(broker)) {
      const d = decodeTelemetry(ENV, p.payload);
      expect(d.ok && d.value.deviceClockUnset === tsOf(p.payload) < 1_000_000_000_000).toBe(true);
    }
    expect(fleet.stats().unsyncedReadings).toBe(early.length);
  });

  it("a clock jump moves the stamps by the jump, backwards as well", async () => {
    broker = await startTestBroker(SECRET);
    fleet = runFleet(scenario(broker.url, {}));
    await until(() => fleet!.stats().acked >= 3);
    const before = telemetry(broker!).length;
    fleet.devices[0]!.jumpClock(-3_600_000);
    await until(() => telemetry(broker!).length >= before + 3);
    const after = telemetry(broker)
      .slice(before + 1)
      .map((p) => tsOf(p.payload));
    for (const t of after) expect(Math.abs(Date.now() - 3_600_000 - t)).toBeLessThan(10_000);
  });
});

describe("network failures", () => {
  it("a flap queues readings on the device and delivers them after the reconnect, in order", async () => {
    broker = await startTestBroker(SECRET);
    const ackedLog = tempLog();
    fleet = runFleet(scenario(broker.url, { offline_queue: 100 }), { ackedLog });
    await until(() => fleet!.stats().acked >= 3);
    fleet.devices[0]!.networkFlap(600);
    await until(() => fleet!.stats().connects >= 2 && fleet!.devices[0]!.queued === 0 && fleet!.stats().acked >= 15);
    const final = await fleet.stop();
    fleet = undefined;
    expect(final.queued).toBeGreaterThanOrEqual(5);
    expect(final.skippedOffline).toBe(0);
    const ns = readAcked(ackedLog)
      .map((l) => l.n)
      .sort((a, b) => a - b);
    expect(ns).toEqual(ns.map((_, i) => i + 1));
  });

  it("a scheduled reconnect storm drops every device and they all come back at once", async () => {
    broker = await startTestBroker(SECRET);
    const s = scenario(broker.url, { count: 20, interval_ms: 200 }, { failures: [{ kind: "reconnect_storm", at_s: 1.5 }] });
    fleet = runFleet(s);
    await until(() => fleet!.stats().connects >= 40, 10_000);
    const final = fleet.stats();
    expect(final.failures).toEqual({ reconnect_storm: 1 });
    expect(final.disconnects).toBe(20);
    expect([...broker.connectAttempts.values()].every((n) => n === 2)).toBe(true);
  });

  it("a slow consumer stops reading its socket: acknowledgements wait, then arrive", async () => {
    broker = await startTestBroker(SECRET);
    fleet = runFleet(scenario(broker.url, {}));
    await until(() => fleet!.stats().acked >= 3);
    fleet.devices[0]!.slowConsumer(500);
    await sleep(300);
    const during = fleet.stats();
    expect(during.outstanding).toBeGreaterThanOrEqual(3);
    await until(() => fleet!.stats().outstanding <= 1 && fleet!.stats().acked > during.acked + during.outstanding - 1);
  });
});
