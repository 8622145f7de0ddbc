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

const SECRET = "fleet-test-secret";
let broker: TestBroker | undefined;
let fleet: FleetHandle | undefined;

afterEach(async () => {
  await fleet?.stop();
  await broker?.close();
  fleet = broker = undefined;
});

function scenario(url: string, extra: Record<string, unknown> = {}): Scenario {
  return scenarioSchema.parse({
    version: 1,
    seed: 11,
    broker: { url, connect_timeout_ms: 2000 },
    fleet_secret: SECRET,
    fleets: [
      { type: "env-sensor", count: 2, id_prefix: "env-", interval_ms: 100 },
      { type: "smart-shelf", count: 1, id_prefix: "shelf-", interval_ms: 100 },
      { type: "cold-chain-tracker", count: 1, id_prefix: "reefer-", interval_ms: 100 },
      { type: "valve-actuator", count: 1, id_prefix: "valve-", interval_ms: 100 },
      { type: "power-meter", count: 1, id_prefix: "meter-", interval_ms: 100 },
      { type: "packaging-plc", count: 1, id_prefix: "plc-", interval_ms: 100 },
    ],
    ...extra,
  });
}

function readAcked(file: string): AckedRecord[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as AckedRecord);
}

const typeOf: Record<string, string> = {
  env: "env-sensor",
  shelf: "smart-shelf",
  reefer: "cold-chain-tracker",
  valve: "valve-actuator",
  meter: "power-meter",
  plc: "packaging-plc",
};
const typeFor = (deviceId: string) => deviceType(typeOf[deviceId.split("-")[0]!]!)!;

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await sleep(20);
  }
}

describe("runFleet against aedes", () => {
  it("connects with the derived credentials, publishes valid telemetry, logs exactly one line per PUBACK", async () => {
    broker = await startTestBroker(SECRET);
    const ackedLog = join(mkdtempSync(join(tmpdir(), "bv-sim-")), "acked.jsonl");
    fleet = runFleet(scenario(broker.url), { ackedLog });
    await until(() => fleet!.stats().acked >= 60);
    const final = await fleet.stop();

    expect(final.connected).toBe(0);
    expect(final.connects).toBe(7);
    expect(final.authFailures).toBe(0);
    const telemetry = broker.received.filter((p) => parseTopic(p.topic)?.kind === "telemetry");
    expect(telemetry.length).toBeGreaterThanOrEqual(final.acked);
    for (const p of telemetry) {
      const parsed = parseTopic(p.topic)!;
      expect(p.clientId).toBe(parsed.deviceId);
      expect(p.qos).toBe(1);
      const decoded = decodeTelemetry(typeFor(parsed.deviceId), p.payload);
      if (!decoded.ok) expect.fail(`${p.topic}: ${JSON.stringify(decoded.problems)}`);
      expect(decoded.value.deviceTimeMs).toBeGreaterThan(1_700_000_000_000);
    }
    // online on connect, offline at the graceful stop; both retained
    const status = broker.received.filter((p) => parseTopic(p.topic)?.kind === "status");
    expect(status.filter((p) => p.payload.toString() === "online" && p.retain).length).toBe(7);
    expect(status.filter((p) => p.payload.toString() === "offline" && p.retain).length).toBe(7);

    const lines = readAcked(ackedLog);
    expect(lines.length).toBe(final.acked);
    expect(final.sent).toBe(final.acked + final.outstanding);
    const byDevice = new Map<string, AckedRecord[]>();
    for (const l of lines) byDevice.set(l.deviceId, [...(byDevice.get(l.deviceId) ?? []), l]);
    expect(byDevice.size).toBe(7);
    for (const [id, records] of byDevice) {
      // no reconnects here, so every message was acknowledged: n = 1, 2, 3, … and ts strictly increasing
      expect(records.map((r) => r.n)).toEqual(records.map((_, i) => i + 1));
      expect(records.every((r, i) => i === 0 || r.ts > records[i - 1]!.ts)).toBe(true);
      // the acked line carries exactly what was published
      const published = telemetry.filter((p) => p.clientId === id).map((p) => JSON.parse(p.payload.toString()));
      for (const r of records) expect(published).toContainEqual({ ts: r.ts, values: r.values });
    }
    expect(final.latencyMs.count).toBe(final.acked);
    expect(final.latencyMs.p99).toBeGreaterThanOrEqual(final.latencyMs.p50);
  });

  it("at QoS 0 logs a line per completed write", async () => {
    broker = await startTestBroker(SECRET);
    const ackedLog = join(mkdtempSync(join(tmpdir(), "bv-sim-")), "acked.jsonl");
    fleet = runFleet(scenario(broker.url, { qos: 0 }), { ackedLog });
    await until(() => fleet!.stats().acked >= 30);
    const final = await fleet.stop();
    const telemetry = broker.received.filter((p) => parseTopic(p.topic)?.kind === "telemetry");
    expect(telemetry.every((p) => p.qos === 0)).toBe(true);
    expect(readAcked(ackedLog).length).toBe(final.acked);
    expect(telemetry.length).toBe(final.acked);
  });

  it("backs off on refused credentials instead of hammering the broker", async () => {
    broker = await startTestBroker("another-fleet-secret");
    fleet = runFleet(scenario(broker.url, { fleets: [{ type: "env-sensor", count: 2, id_prefix: "env-", interval_ms: 100 }] }));
    await until(() => fleet!.stats().authFailures >= 2);
    await sleep(1500);
    const s = fleet.stats();
    expect(s.connected).toBe(0);
    expect(s.sent).toBe(0);
    expect(s.skippedOffline).toBeGreaterThan(0);
    // one refused attempt each, then a long (≥ 7.5 s) backoff
    expect(broker.connectAttempts.get("env-0001")).toBe(1);
    expect(broker.connectAttempts.get("env-0002")).toBe(1);
  });

  it("keeps retrying while the broker is down and connects once it is up", async () => {
    const probe = await startTestBroker(SECRET);
    const port = probe.port;
    await probe.close();
    fleet = runFleet(
      scenario(`mqtt://127.0.0.1:${port}`, { fleets: [{ type: "power-meter", count: 2, id_prefix: "m-", interval_ms: 100 }] }),
    );
    await sleep(700);
    expect(fleet.stats().connected).toBe(0);
    expect(fleet.stats().errors).toBeGreaterThan(0);
    broker = await startTestBroker(SECRET, { port });
    await until(() => fleet!.stats().connected === 2 && fleet!.stats().acked > 4, 8000);
  });

  it("stops by itself after duration_s and resolves done", async () => {
    broker = await startTestBroker(SECRET);
    fleet = runFleet(scenario(broker.url, { duration_s: 1 }));
    const final = await fleet.done;
    expect(final.elapsedS).toBeGreaterThanOrEqual(1);
    expect(final.acked).toBeGreaterThan(0);
    expect(final.connected).toBe(0);
  });
});
