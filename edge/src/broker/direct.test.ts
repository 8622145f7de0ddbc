// The direct route (guard/direct.ts): a device's own telemetry handled from the pre-parser's frame,
// without aedes. Real MQTT clients (mqtt.js, and raw sockets where the byte order matters) against
// the real broker and outbox.
import { mkdtempSync, rmSync } from "node:fs";
import { type Socket, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashSecret, silentLogger } from "@bitvelocity/common";
import mqtt, { type MqttClient } from "mqtt";
import mqttPacket from "mqtt-packet";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Outbox } from "../outbox/outbox.js";
import { MqttBroker } from "./broker.js";

const SECRET = "direct-secret";
const devices = [
  { id: "env-1", type: "env-sensor", secret_hash: hashSecret(SECRET) },
  { id: "env-2", type: "env-sensor", secret_hash: hashSecret(SECRET) },
];

let dir: string;
let outbox: Outbox;
let broker: MqttBroker;
let port: number;
const clients: MqttClient[] = [];
const sockets: Socket[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "bv-direct-"));
  outbox = Outbox.open({ dir, bootId: "direct", commitIntervalMs: 20, registry: new Registry() });
  broker = new MqttBroker({
    host: "127.0.0.1",
    port: 0,
    wsPort: null,
    devices,
    sink: outbox,
    registry: new Registry(),
    logger: silentLogger(),
  });
  port = (await broker.start()).mqtt;
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
  await broker.stop();
  outbox.close();
  rmSync(dir, { recursive: true, force: true });
});

async function device(id: string): Promise<MqttClient> {
  const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { clientId: id, username: id, password: SECRET, reconnectPeriod: 0 });
  c.on("error", () => undefined);
  clients.push(c);
  await new Promise<void>((resolve, reject) => {
    c.once("connect", () => resolve());
    c.once("error", reject);
  });
  return c;
}

const stored = () => outbox.peek({ limit: 10_000, maxBytes: 1e9 });
const reading = (n: number) => JSON.stringify({ values: { temperature: n } });

/** A raw MQTT 3.1.1 connection: every packet the broker sends, parsed, in order. */
async function rawDevice(
  id: string,
  keepalive = 30,
): Promise<{ socket: Socket; send: (p: mqttPacket.Packet) => void; received: mqttPacket.Packet[] }> {
  const socket = tcpConnect(port, "127.0.0.1");
  sockets.push(socket);
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const received: mqttPacket.Packet[] = [];
  parser.on("packet", (p) => received.push(p));
  socket.on("data", (d) => parser.parse(d));
  const send = (p: mqttPacket.Packet) => socket.write(mqttPacket.generate(p));
  await new Promise((resolve) => socket.once("connect", resolve));
  send({
    cmd: "connect",
    protocolId: "MQTT",
    protocolVersion: 4,
    clean: true,
    clientId: id,
    keepalive,
    username: id,
    password: Buffer.from(SECRET),
  });
  await waitFor(() => received.some((p) => p.cmd === "connack"));
  expect((received[0] as mqttPacket.IConnackPacket).returnCode).toBe(0);
  return { socket, send, received };
}

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("the direct route for a device's telemetry", () => {
  it("commits before the PUBACK, at QoS 1 and QoS 0, exactly once each", async () => {
    const c = await device("env-1");
    for (let i = 0; i < 20; i++) await c.publishAsync("bv/env-1/telemetry", reading(i), { qos: 1 });
    // publishAsync resolves on PUBACK: each reading is committed by then.
    expect(stored().map((r) => (r.values as Record<string, number>).temperature)).toEqual([...Array(20).keys()]);
    for (let i = 20; i < 30; i++) c.publish("bv/env-1/telemetry", reading(i), { qos: 0 });
    await waitFor(() => stored().length === 30);
    expect(stored().map((r) => r.seq)).toEqual([...Array(30).keys()].map((i) => stored()[0]!.seq + i));
  });

  it("keeps PUBACKs in the order of the PUBLISHes when telemetry (direct) and status (aedes) interleave", async () => {
    const raw = await rawDevice("env-1");
    const ids: number[] = [];
    for (let i = 1; i <= 40; i++) {
      const topic = i % 5 === 0 ? "bv/env-1/status" : "bv/env-1/telemetry";
      const payload = i % 5 === 0 ? "online" : reading(i);
      raw.send({ cmd: "publish", topic, payload, qos: 1, messageId: i, retain: false, dup: false });
      ids.push(i);
    }
    await waitFor(() => raw.received.filter((p) => p.cmd === "puback").length === 40);
    expect(raw.received.filter((p) => p.cmd === "puback").map((p) => (p as mqttPacket.IPubackPacket).messageId)).toEqual(ids);
    expect(stored()).toHaveLength(32);
  });

  it("routes telemetry through aedes while someone subscribes to it: the subscriber gets it, the outbox too", async () => {
    const c = await device("env-1");
    await c.subscribeAsync("bv/env-1/#", { qos: 1 });
    const got: string[] = [];
    c.on("message", (topic, payload) => got.push(`${topic} ${payload.toString()}`));
    await c.publishAsync("bv/env-1/telemetry", reading(7), { qos: 1 });
    await waitFor(() => got.length === 1);
    expect(got[0]).toBe(`bv/env-1/telemetry ${reading(7)}`);
    await c.unsubscribeAsync("bv/env-1/#");
    await c.publishAsync("bv/env-1/telemetry", reading(8), { qos: 1 });
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toHaveLength(1);
    expect(stored()).toHaveLength(2);
  });

  it("counts a direct PUBLISH as activity: a device that only publishes is not dropped at its keepalive", async () => {
    // aedes closes a connection silent for 1.5 keepalives [MQTT-3.1.2-24]; this one sends a PUBLISH
    // every 300 ms for 3 s and never a PINGREQ.
    const raw = await rawDevice("env-1", 1);
    let closed = false;
    raw.socket.on("close", () => {
      closed = true;
    });
    for (let i = 0; i < 10; i++) {
      raw.send({ cmd: "publish", topic: "bv/env-1/telemetry", payload: reading(i), qos: 0, retain: false, dup: false });
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(closed).toBe(false);
    await waitFor(() => stored().length === 10);
  });

  it("refuses another device's telemetry topic as before (it goes to aedes and its ACL)", async () => {
    const c = await device("env-1");
    const closedOn = new Promise<void>((resolve) => c.once("close", () => resolve()));
    c.publish("bv/env-2/telemetry", reading(1), { qos: 1 });
    await closedOn;
    expect(stored()).toHaveLength(0);
  });
});
