import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "@bitvelocity/common";
import { parseTopic } from "@bitvelocity/devices";
import { afterEach, describe, expect, it } from "vitest";
import type { AckedRecord } from "./acked-log.js";
import { type FleetHandle, runFleet } from "./fleet.js";
import { scenarioSchema } from "./scenario.js";
import { startTestBroker, type TestBroker } from "./test-broker.js";

const SECRET = "restart-test-secret";
const brokers: TestBroker[] = [];
let fleet: FleetHandle | undefined;

afterEach(async () => {
  await fleet?.stop();
  for (const b of brokers.splice(0)) await b.close();
  fleet = undefined;
});

async function until(cond: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await sleep(20);
  }
}

describe("broker restarted mid-run", () => {
  it("devices reconnect and continue; in-flight messages are resent and logged once, when acknowledged", async () => {
    // The broker holds each PUBLISH 40 ms before its PUBACK, so a restart catches messages in flight.
    const first = await startTestBroker(SECRET, { publishDelayMs: 40 });
    brokers.push(first);
    const ackedLog = join(mkdtempSync(join(tmpdir(), "bv-sim-restart-")), "acked.jsonl");
    const scenario = scenarioSchema.parse({
      version: 1,
      broker: { url: first.url, connect_timeout_ms: 2000 },
      fleet_secret: SECRET,
      fleets: [
        { type: "env-sensor", count: 4, id_prefix: "env-", interval_ms: 50 },
        { type: "power-meter", count: 4, id_prefix: "meter-", interval_ms: 50 },
      ],
    });
    fleet = runFleet(scenario, { ackedLog });
    await until(() => fleet!.stats().acked >= 80);

    await first.close();
    brokers.splice(0);
    const restartedAt = Date.now();
    await sleep(300);
    expect(fleet.stats().connected).toBe(0);
    const second = await startTestBroker(SECRET, { port: first.port, publishDelayMs: 40 });
    brokers.push(second);
    await until(() => fleet!.stats().connected === 8);
    const ackedAfterReconnect = fleet.stats().acked;
    await until(() => fleet!.stats().acked >= ackedAfterReconnect + 80);
    const final = await fleet.stop();

    expect(final.connects).toBe(16);
    expect(final.disconnects).toBe(16);
    const lines = readFileSync(ackedLog, "utf8")
      .split("\n")
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as AckedRecord);
    expect(lines.length).toBe(final.acked);
    expect(final.sent).toBe(final.acked + final.outstanding);

    const telemetry = (b: TestBroker) =>
      b.received.filter((p) => parseTopic(p.topic)?.kind === "telemetry").map((p) => ({ id: p.clientId, body: p.payload.toString() }));
    const atFirst = telemetry(first);
    const atSecond = telemetry(second);
    // Messages that were in flight when the first broker died reach the second one (resent after reconnect).
    const resent = atSecond.filter((m) => (JSON.parse(m.body) as { ts: number }).ts < restartedAt);
    expect(resent.length).toBeGreaterThan(0);

    for (const id of ["env-0001", "env-0002", "env-0003", "env-0004", "meter-0001", "meter-0002", "meter-0003", "meter-0004"]) {
      const ns = lines.filter((l) => l.deviceId === id).map((l) => l.n);
      expect(new Set(ns).size, `${id}: no duplicate n`).toBe(ns.length);
      expect(
        ns.every((n, i) => i === 0 || n > ns[i - 1]!),
        `${id}: n strictly increasing`,
      ).toBe(true);
      // Nothing in flight at the restart was lost: the acknowledged numbers are 1..k without gaps.
      expect(ns).toEqual(ns.map((_, i) => i + 1));
    }
    // Every acked line was really received by one of the brokers.
    const seen = new Set([...atFirst, ...atSecond].map((m) => `${m.id} ${m.body}`));
    for (const l of lines) expect(seen.has(`${l.deviceId} ${JSON.stringify({ ts: l.ts, values: l.values })}`)).toBe(true);
  });
});
