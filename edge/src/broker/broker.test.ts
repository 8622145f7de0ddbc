import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashSecret, isBvError, silentLogger } from "@bitvelocity/common";
import type { CommandResultMessage } from "@bitvelocity/devices";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PresenceChange } from "../commands/device-gateway.js";
import { Outbox } from "../outbox/outbox.js";
import { MqttBroker } from "./broker.js";
import { aedesPacketModule } from "./packet-numbers.js";

const SECRETS = { "env-1": "secret-one", "env-2": "secret-two", "valve-1": "secret-valve" };
const devices = [
  { id: "env-1", type: "env-sensor", secret_hash: hashSecret(SECRETS["env-1"]) },
  { id: "env-2", type: "env-sensor", secret_hash: hashSecret(SECRETS["env-2"], "scrypt") },
  { id: "valve-1", type: "valve-actuator", name: "Valve", secret_hash: hashSecret(SECRETS["valve-1"]) },
];

let dir: string;
let outbox: Outbox;
let broker: MqttBroker;
let registry: Registry;
let ports: { mqtt: number; ws: number | null };
const clients: MqttClient[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "bv-broker-"));
  registry = new Registry();
  outbox = Outbox.open({ dir, bootId: "test-boot", commitIntervalMs: 30, registry });
  broker = new MqttBroker({ host: "127.0.0.1", port: 0, wsPort: 0, devices, sink: outbox, registry, logger: silentLogger() });
  ports = await broker.start();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
  await broker.stop();
  outbox.close();
  rmSync(dir, { recursive: true, force: true });
});

function client(id: string, options: IClientOptions = {}, url = `mqtt://127.0.0.1:${ports.mqtt}`): MqttClient {
  const c = mqtt.connect(url, {
    protocolVersion: 4,
    clientId: id,
    username: id,
    password: SECRETS[id as keyof typeof SECRETS] ?? "nope",
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  });
  c.on("error", () => undefined);
  clients.push(c);
  return c;
}

function connected(c: MqttClient): Promise<void> {
  return new Promise((resolve, reject) => {
    c.once("connect", () => resolve());
    c.once("error", reject);
  });
}

/** The CONNACK return code of a refused connection. */
function refusal(c: MqttClient): Promise<number | undefined> {
  return new Promise((resolve) => {
    c.once("connect", () => resolve(0));
    c.once("error", (err: Error & { code?: number }) => resolve(err.code));
  });
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))
    .reduce((sum, v) => sum + Number(v.value), 0);
}

const stored = () => outbox.peek({ limit: 1000, maxBytes: 1e9 });

describe("MqttBroker authentication", () => {
  it("accepts a device with the right secret (sha256 and scrypt hashes)", async () => {
    await connected(client("env-1"));
    await connected(client("env-2"));
    expect(await metric("bv_edge_mqtt_clients_connected")).toBe(2);
  });

  it.each([
    ["a bad password", { password: "wrong" }, "env-1", 4, "bad_password"],
    ["an unknown device", { password: "whatever" }, "ghost-9", 4, "unknown_device"],
    ["a client id that is not the username", { clientId: "env-2" }, "env-1", 2, "client_id_mismatch"],
    ["no username", { username: undefined, password: undefined }, "env-1", 4, "no_username"],
    ["no password", { password: undefined }, "env-1", 4, "bad_password"],
  ])("refuses %s", async (_what, options, id, code, reason) => {
    expect(await refusal(client(id, options as IClientOptions))).toBe(code);
    expect(await metric("bv_edge_auth_failures_total", { reason })).toBe(1);
  });

  it("accepts MQTT 3.1 clients too", async () => {
    await connected(client("env-1", { protocolVersion: 3, protocolId: "MQIsdp" }));
  });
});

describe("MqttBroker ACL", () => {
  it("disconnects a device that publishes to another device's topic and stores nothing", async () => {
    const c = client("env-1");
    await connected(c);
    const closed = new Promise<void>((r) => c.once("close", () => r()));
    c.publish("bv/env-2/telemetry", JSON.stringify({ values: { temperature: 20 } }), { qos: 1 });
    await closed;
    expect(stored()).toEqual([]);
    expect(await metric("bv_edge_acl_denied_total", { action: "publish" })).toBe(1);
  });

  it.each(["bv/env-1/cmd", "other/topic", "$SYS/x"])("disconnects a device that publishes to %s", async (topic) => {
    const c = client("env-1");
    await connected(c);
    const closed = new Promise<void>((r) => c.once("close", () => r()));
    c.publish(topic, "x", { qos: 1 });
    await closed;
  });

  it("refuses subscriptions outside the device's own topics with SUBACK 0x80", async () => {
    const c = client("env-1");
    await connected(c);
    // mqtt.js reports any 0x80 in the SUBACK as an error that carries the packet.
    const err = (await c
      .subscribeAsync({ "bv/env-1/cmd": { qos: 1 }, "bv/env-2/cmd": { qos: 1 }, "#": { qos: 0 }, "bv/+/cmd": { qos: 0 } })
      .then(() => undefined)
      .catch((e: unknown) => e)) as { packet?: { granted: number[] } } | undefined;
    expect(err?.packet?.granted).toEqual([1, 128, 128, 128]);
    expect(c.connected).toBe(true);
    expect(await metric("bv_edge_acl_denied_total", { action: "subscribe" })).toBe(3);
  });
});

describe("MqttBroker telemetry", () => {
  it("stores a valid reading before the PUBACK arrives", async () => {
    const c = client("env-1");
    await connected(c);
    const ts = Date.UTC(2025, 2, 3);
    await c.publishAsync("bv/env-1/telemetry", JSON.stringify({ ts, values: { temperature: 21.5, co2: 600 } }), { qos: 1 });
    // publishAsync resolves on PUBACK: the reading must already be committed.
    const rows = stored();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      deviceId: "env-1",
      deviceType: "env-sensor",
      values: { temperature: 21.5, co2: 600 },
      deviceTimeMs: ts,
    });
    expect(await metric("bv_edge_readings_accepted_total")).toBe(1);
  });

  it("writes packet ids without mqtt-packet's cache of 65,536 buffers (the PUBACK still carries its id)", async () => {
    const c = client("env-1");
    await connected(c);
    const payload = JSON.stringify({ values: { temperature: 20, co2: 500 } });
    for (let i = 0; i < 3; i++) await c.publishAsync("bv/env-1/telemetry", payload, { qos: 1 });
    expect(stored()).toHaveLength(3);
    expect(aedesPacketModule().writeToStream.cacheNumbers).toBe(false);
    const numbers = createRequire(import.meta.resolve("aedes"))("mqtt-packet/numbers.js") as { cache: Record<number, Buffer> };
    expect(Object.keys(numbers.cache)).toHaveLength(0);
  });

  it("sends each PUBACK only after its group commit (counts rows at PUBACK time)", async () => {
    const c = client("env-1");
    await connected(c);
    const committedAtPuback: boolean[] = [];
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        c.publishAsync("bv/env-1/telemetry", JSON.stringify({ values: { humidity: i } }), { qos: 1 }).then(() => {
          // Read SQLite at the moment of this PUBACK: the reading must already be there.
          committedAtPuback[i] = stored().some((r) => r.values.humidity === i);
        }),
      ),
    );
    expect(committedAtPuback).toEqual(Array.from({ length: 40 }, () => true));
    expect(stored()).toHaveLength(40);
  });

  it.each([
    ["malformed JSON", "{temperature: 2", /JSON/],
    ["a wrong type", JSON.stringify({ values: { temperature: "warm" } }), /temperature: expected a finite number/],
    ["an out of range value", JSON.stringify({ values: { humidity: 101 } }), /humidity: 101 is above the maximum 100/],
    ["an unknown metric", JSON.stringify({ values: { voltage: 3 } }), /voltage/],
    ["an oversize payload", JSON.stringify({ values: { temperature: 1 }, pad: "x".repeat(20_000) }), /exceeds/],
  ])("dead-letters %s with its reason, acks it, and stores no reading", async (_what, payload, reason) => {
    const c = client("env-1");
    await connected(c);
    await c.publishAsync("bv/env-1/telemetry", payload, { qos: 1 });
    expect(stored()).toEqual([]);
    expect(outbox.stats().deadLetters).toBe(1);
    expect(await metric("bv_edge_dead_letters_total", { reason: "invalid_payload" })).toBe(1);
    const Database = (await import("better-sqlite3")).default;
    const db = new Database(join(dir, "outbox.db"), { readonly: true });
    const row = db.prepare("SELECT device_id, topic, payload, reason FROM dead_letters").get() as Record<string, unknown>;
    db.close();
    expect(row.device_id).toBe("env-1");
    expect(row.topic).toBe("bv/env-1/telemetry");
    expect(String(row.payload)).toBe(payload);
    expect(row.reason).toMatch(reason);
    // The connection survives a poison message.
    expect(c.connected).toBe(true);
  });

  it("does not acknowledge (disconnects) when the outbox cannot commit", async () => {
    const c = client("env-1");
    await connected(c);
    outbox.close();
    const closed = new Promise<void>((r) => c.once("close", () => r()));
    let acked = false;
    c.publish("bv/env-1/telemetry", JSON.stringify({ values: { temperature: 1 } }), { qos: 1 }, (err) => {
      if (!err) acked = true;
    });
    await closed;
    expect(acked).toBe(false);
  });

  it("works over MQTT over WebSocket", async () => {
    const c = client("env-1", {}, `ws://127.0.0.1:${ports.ws}`);
    await connected(c);
    await c.publishAsync("bv/env-1/telemetry", JSON.stringify({ values: { battery: 80 } }), { qos: 1 });
    expect(stored().map((r) => r.values)).toEqual([{ battery: 80 }]);
  });
});

describe("MqttBroker as DeviceGateway", () => {
  it("delivers a command to a subscribed device and returns its result", async () => {
    const results: Array<[string, CommandResultMessage]> = [];
    broker.onCommandResult((id, r) => results.push([id, r]));
    const c = client("valve-1");
    await connected(c);
    await c.subscribeAsync("bv/valve-1/cmd", { qos: 1 });
    c.on("message", (topic, payload) => {
      const cmd = JSON.parse(payload.toString()) as { id: string; name: string };
      expect(topic).toBe("bv/valve-1/cmd");
      c.publish("bv/valve-1/cmd/result", JSON.stringify({ id: cmd.id, status: "succeeded", result: { echoed: cmd.name } }), { qos: 1 });
    });
    await broker.sendCommand("valve-1", { id: "cmd-1", name: "open", params: { position: 50 } });
    await expect.poll(() => results).toEqual([["valve-1", { id: "cmd-1", status: "succeeded", result: { echoed: "open" } }]]);
  });

  it("counts and ignores malformed command results", async () => {
    const results: unknown[] = [];
    broker.onCommandResult((id, r) => results.push([id, r]));
    const c = client("valve-1");
    await connected(c);
    await c.publishAsync("bv/valve-1/cmd/result", JSON.stringify({ id: "x", status: "maybe" }), { qos: 1 });
    await c.publishAsync("bv/valve-1/cmd/result", "not json", { qos: 1 });
    expect(results).toEqual([]);
    expect(await metric("bv_edge_command_results_invalid_total")).toBe(2);
  });

  it("rejects commands to unknown devices with DEVICE_UNKNOWN", async () => {
    const err = await broker.sendCommand("ghost", { id: "c", name: "identify", params: {} }).catch((e: unknown) => e);
    expect(isBvError(err, "DEVICE_UNKNOWN")).toBe(true);
  });

  it("reports presence and the device list", async () => {
    const changes: PresenceChange[] = [];
    broker.onPresence((c) => changes.push(c));
    expect(broker.devices().map((d) => [d.deviceId, d.online])).toEqual([
      ["env-1", false],
      ["env-2", false],
      ["valve-1", false],
    ]);
    const c = client("env-1");
    await connected(c);
    expect(broker.devices().find((d) => d.deviceId === "env-1")?.online).toBe(true);
    await c.endAsync();
    await expect
      .poll(() => changes.map((ch) => [ch.deviceId, ch.online]))
      .toEqual([
        ["env-1", true],
        ["env-1", false],
      ]);
    expect(broker.devices().find((d) => d.deviceId === "valve-1")?.name).toBe("Valve");
  });
});
