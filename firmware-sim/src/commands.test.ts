import { sleep } from "@bitvelocity/common";
import { type CommandResultMessage, decodeCommandResult, encodeCommand, parseTopic } from "@bitvelocity/devices";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FleetHandle, runFleet } from "./fleet.js";
import { scenarioSchema } from "./scenario.js";
import { startTestBroker, TESTER, type TestBroker } from "./test-broker.js";

const SECRET = "commands-test-secret";
let broker: TestBroker;
let fleet: FleetHandle;
let tester: MqttClient;
const results: { deviceId: string; result: CommandResultMessage }[] = [];
const rawResults: string[] = [];

beforeAll(async () => {
  broker = await startTestBroker(SECRET);
  fleet = runFleet(
    scenarioSchema.parse({
      version: 1,
      broker: { url: broker.url, connect_timeout_ms: 2000 },
      fleet_secret: SECRET,
      fleets: [
        { type: "valve-actuator", count: 1, id_prefix: "valve-", interval_ms: 100 },
        { type: "env-sensor", count: 1, id_prefix: "env-", interval_ms: 100 },
        { type: "smart-shelf", count: 1, id_prefix: "shelf-", interval_ms: 100 },
        { type: "packaging-plc", count: 1, id_prefix: "plc-", interval_ms: 100 },
        { type: "power-meter", count: 1, id_prefix: "meter-", interval_ms: 100 },
      ],
    }),
  );
  tester = await mqtt.connectAsync(broker.url, { clientId: "tester", ...TESTER, protocolVersion: 4, reconnectPeriod: 0 });
  await tester.subscribeAsync("bv/+/cmd/result", { qos: 1 });
  tester.on("message", (topic, payload) => {
    rawResults.push(payload.toString());
    const decoded = decodeCommandResult(payload);
    const parsed = parseTopic(topic);
    if (decoded.ok && parsed) results.push({ deviceId: parsed.deviceId, result: decoded.value });
  });
  const deadline = Date.now() + 5000;
  while (fleet.stats().connected < 5 && Date.now() < deadline) await sleep(20);
  expect(fleet.stats().connected).toBe(5);
});

afterAll(async () => {
  await tester?.endAsync();
  await fleet?.stop();
  await broker?.close();
});

let nextId = 0;
async function command(deviceId: string, name: string, params: Record<string, unknown> = {}): Promise<CommandResultMessage> {
  nextId += 1;
  const id = `c-${nextId}`;
  await tester.publishAsync(`bv/${deviceId}/cmd`, encodeCommand({ id, name, params: params as Record<string, number> }), { qos: 1 });
  return answer(id);
}

async function answer(id: string, timeoutMs = 3000): Promise<CommandResultMessage> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = results.find((r) => r.result.id === id);
    if (found) return found.result;
    if (Date.now() > deadline) throw new Error(`no answer to ${id}`);
    await sleep(10);
  }
}

/** The latest telemetry values the broker received from a device. */
function latest(deviceId: string): Record<string, unknown> {
  const last = broker.received.filter((p) => p.topic === `bv/${deviceId}/telemetry`).at(-1);
  return last ? (JSON.parse(last.payload.toString()) as { values: Record<string, unknown> }).values : {};
}

describe("commands", () => {
  it("valve set_position succeeds and the reported position moves to the target", async () => {
    expect(await command("valve-0001", "set_position", { position: 37 })).toEqual({
      id: `c-${nextId}`,
      status: "succeeded",
      result: { target: 37 },
    });
    const deadline = Date.now() + 4000;
    // The reported position is rounded, so it can read 37 a step before the motor stops.
    const settled = () => latest("valve-0001").position === 37 && latest("valve-0001").state === "open";
    while (!settled() && Date.now() < deadline) await sleep(50);
    expect(latest("valve-0001")).toMatchObject({ position: 37, state: "open" });
    expect((await command("valve-0001", "close")).status).toBe("succeeded");
    expect((await command("valve-0001", "set_relay", { on: true })).result).toEqual({ relay: true });
  });

  it("invalid commands fail with a message: out of range, unknown command, missing and unknown params", async () => {
    const outOfRange = await command("valve-0001", "set_position", { position: 150 });
    expect(outOfRange.status).toBe("failed");
    expect(outOfRange.message).toContain("params.position");
    const unknown = await command("env-0001", "open");
    expect(unknown).toMatchObject({ status: "failed" });
    expect(unknown.message).toContain("open");
    const missing = await command("shelf-0001", "set_unit_weight", {});
    expect(missing.message).toContain("params.kg");
    const extra = await command("plc-0001", "start", { now: true });
    expect(extra.message).toContain("params.now");
  });

  it("malformed payloads never crash the device: no id → ignored, an id → failed", async () => {
    const before = fleet.stats().commandsFailed;
    await tester.publishAsync("bv/env-0001/cmd", "{not json", { qos: 1 });
    await tester.publishAsync("bv/env-0001/cmd", Buffer.from([0xff, 0xfe, 0x00]), { qos: 1 });
    await tester.publishAsync("bv/env-0001/cmd", JSON.stringify({ id: "no-name" }), { qos: 1 });
    expect(await answer("no-name")).toMatchObject({ id: "no-name", status: "failed" });
    // the device still answers and still reports
    expect((await command("env-0001", "identify")).result).toEqual({ identifying: true, duration_s: 10 });
    expect(fleet.stats().commandsFailed).toBeGreaterThanOrEqual(before + 3);
    expect(fleet.devices.find((d) => d.id === "env-0001")?.isOnline).toBe(true);
  });

  it("set_interval changes the reporting interval", async () => {
    expect(await command("env-0001", "set_interval", { interval_s: 2 })).toMatchObject({ status: "succeeded", result: { interval_s: 2 } });
    const device = fleet.devices.find((d) => d.id === "env-0001")!;
    expect(device.interval).toBe(2000);
    await sleep(300);
    const count = () => broker.received.filter((p) => p.topic === "bv/env-0001/telemetry").length;
    const start = count();
    await sleep(1000);
    expect(count() - start).toBeLessThanOrEqual(1);
  });

  it("plc, shelf and meter commands change what they report", async () => {
    expect((await command("plc-0001", "set_speed", { speed: 250 })).status).toBe("succeeded");
    expect((await command("plc-0001", "reset_counters")).status).toBe("succeeded");
    expect((await command("meter-0001", "set_relay", { closed: false })).status).toBe("succeeded");
    expect((await command("shelf-0001", "set_unit_weight", { kg: 0.75 })).status).toBe("succeeded");
    await sleep(400);
    expect(latest("plc-0001").speed_setpoint).toBe(250);
    expect(latest("meter-0001")).toMatchObject({ relay_closed: false, current: 0 });
    expect(latest("shelf-0001").unit_weight).toBe(0.75);
  });

  it("a redelivered command id is answered again without being applied twice", async () => {
    const first = await command("meter-0001", "reset_energy");
    await sleep(300);
    const energyAfterReset = latest("meter-0001").energy as number;
    const again = rawResults.length;
    await tester.publishAsync("bv/meter-0001/cmd", encodeCommand({ id: `c-${nextId}`, name: "reset_energy", params: {} }), { qos: 1 });
    const deadline = Date.now() + 2000;
    while (rawResults.length === again && Date.now() < deadline) await sleep(10);
    expect(JSON.parse(rawResults.at(-1)!)).toEqual(first);
    expect(energyAfterReset).toBeLessThan(1);
  });

  it("a command sent while the device is offline arrives when it reconnects (persistent session)", async () => {
    expect(broker.kick("valve-0001")).toBe(true);
    await sleep(50);
    nextId += 1;
    const id = `c-${nextId}`;
    await tester.publishAsync("bv/valve-0001/cmd", encodeCommand({ id, name: "open", params: {} }), { qos: 1 });
    expect(await answer(id, 6000)).toEqual({ id, status: "succeeded", result: { target: 100 } });
    expect(broker.connectAttempts.get("valve-0001")).toBe(2);
  });

  it("ota_update reports progress on the status topic, reboots, and answers with the new version after the reboot", async () => {
    const device = fleet.devices.find((d) => d.id === "env-0001")!;
    const status: string[] = [];
    await tester.subscribeAsync("bv/env-0001/status", { qos: 1 });
    const onStatus = (topic: string, payload: Buffer) => {
      if (topic === "bv/env-0001/status") status.push(payload.toString());
    };
    tester.on("message", onStatus);
    const connectsBefore = broker.connectAttempts.get("env-0001") ?? 0;
    nextId += 1;
    const id = `c-${nextId}`;
    await tester.publishAsync("bv/env-0001/cmd", encodeCommand({ id, name: "ota_update", params: { version: "2.1.0", size_kb: 256 } }), {
      qos: 1,
    });
    // The answer comes only after the download (1 s at 256 KiB/s) and the reboot.
    await sleep(600);
    expect(results.find((r) => r.result.id === id)).toBeUndefined();
    expect(await answer(id, 6000)).toEqual({ id, status: "succeeded", result: { version: "2.1.0", previous_version: "1.0.0" } });
    tester.off("message", onStatus);
    const progress = status.filter((s) => s.startsWith("{")).map((s) => JSON.parse(s) as { progress: number });
    expect(progress.map((p) => p.progress)).toEqual([25, 50, 75, 100]);
    expect(status.indexOf("offline")).toBeGreaterThan(status.findIndex((s) => s.includes('"progress":100')));
    expect(device.firmwareVersion).toBe("2.1.0");
    expect(device.boots).toBe(2);
    expect(broker.connectAttempts.get("env-0001")).toBe(connectsBefore + 1);
  });

  it("ota_update with a bad version is refused at once", async () => {
    const r = await command("env-0001", "ota_update", { version: "x".repeat(40) });
    expect(r.status).toBe("failed");
    expect(r.message).toMatch(/version/);
  });
});
