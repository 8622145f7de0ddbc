// Every mqtt.limits entry against the real broker (pre-parser + aedes) on port 0, with real
// clients: the offender gets a closed connection or waits, the others keep their service.
import { type Socket, connect as tcpConnect } from "node:net";
import { silentLogger } from "@bitvelocity/common";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import type { ReadingSink } from "../pipeline/sink.js";
import { MqttBroker } from "./broker.js";
import { type BrokerLimitsConfig, defaultBrokerLimits } from "./limits.js";
import { type AccessPolicy, openPolicy } from "./policy.js";

const sink = { append: async () => undefined, deadLetter: async () => undefined } as unknown as ReadingSink;
let broker: MqttBroker | undefined;
let registry: Registry;
let port: number;
const closers: Array<() => void> = [];

async function start(limits: Partial<BrokerLimitsConfig>, policy: AccessPolicy = openPolicy): Promise<void> {
  registry = new Registry();
  broker = new MqttBroker({
    host: "127.0.0.1",
    port: 0,
    wsPort: null,
    devices: [],
    sink,
    registry,
    logger: silentLogger(),
    policy,
    limits: { ...defaultBrokerLimits, ...limits },
  });
  port = (await broker.start()).mqtt;
}

afterEach(async () => {
  for (const c of closers.splice(0)) c();
  await broker?.stop();
  broker = undefined;
});

function client(id: string, options: IClientOptions = {}): Promise<MqttClient> {
  const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    clientId: id,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  });
  c.on("error", () => undefined);
  closers.push(() => c.end(true));
  return new Promise((resolve, reject) => {
    c.once("connect", () => resolve(c));
    c.once("error", reject);
    c.once("close", () => reject(new Error(`${id} closed before CONNACK`)));
  });
}

function raw(): Promise<Socket & { received: Buffer[]; gone: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: "127.0.0.1", port }) as Socket & { received: Buffer[]; gone: Promise<void> };
    s.received = [];
    s.on("data", (d: Buffer) => s.received.push(d));
    s.on("error", () => undefined);
    s.gone = new Promise((r) => s.once("close", () => r()));
    closers.push(() => s.destroy());
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

const CONNECT = (id: string) =>
  Buffer.concat([
    Buffer.from([0x10, 12 + id.length, 0, 4]),
    Buffer.from("MQTT"),
    Buffer.from([4, 2, 0, 60, 0, id.length]),
    Buffer.from(id),
  ]);
const closedWithin = (s: { gone: Promise<void> }, ms: number) =>
  Promise.race([s.gone.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
/** The open policy, except that each PUBLISH is answered only when the test releases it: a commit not landed yet. */
const holding =
  (held: Array<() => void>): AccessPolicy =>
  (deps) => ({ ...openPolicy(deps), authorizePublish: (_client, _packet, done) => void held.push(() => done(null)) });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as Array<{ value: number; labels: Record<string, string | number> }>;
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

/** A well-behaved pair that must keep working while a limit hits someone else. */
async function stillServed(tag: string): Promise<void> {
  const sub = await client(`${tag}-sub`);
  await sub.subscribeAsync(`ok/${tag}`, { qos: 1 });
  const got = new Promise<string>((r) => sub.once("message", (_t, p) => r(p.toString())));
  const pub = await client(`${tag}-pub`);
  await pub.publishAsync(`ok/${tag}`, "fine", { qos: 1 });
  expect(await got).toBe("fine");
}

describe("mqtt.limits", () => {
  it("max_packet_size: an oversize packet is refused from its fixed header, before CONNECT and after", async () => {
    await start({ max_packet_size: 1024 });
    const s = await raw();
    s.write(Buffer.from([0x10, 0xff, 0xff, 0x7f])); // remaining length 2 MB, no body sent
    expect(await closedWithin(s, 2000)).toBe(true);
    expect(Buffer.concat(s.received).length).toBe(0);

    const big = await client("big");
    const closed = new Promise<void>((r) => big.once("close", () => r()));
    big.publish("t/big", Buffer.alloc(2000), { qos: 0 });
    await closed;
    expect(await counter("bv_edge_mqtt_refused_total", { reason: "packet_too_large" })).toBe(2);
    await stillServed("size");
  });

  it("max_connections: the connection over the cap is closed at once, the others keep working", async () => {
    await start({ max_connections: 3 });
    const a = await client("a");
    const b = await client("b");
    const c = await client("c");
    const s = await raw();
    expect(await closedWithin(s, 2000)).toBe(true);
    expect(await counter("bv_edge_mqtt_refused_total", { reason: "max_connections" })).toBe(1);
    // A closed connection frees its place.
    await c.endAsync();
    await sleep(100);
    await client("d");
    const got = new Promise<string>((r) => a.once("message", (_t, p) => r(p.toString())));
    await a.subscribeAsync("t/x");
    await b.publishAsync("t/x", "still here");
    expect(await got).toBe("still here");
  });

  it("connect_rate_per_s / connect_burst: a flood from one address is cut, a later connection gets in", async () => {
    await start({ connect_rate_per_s: 5, connect_burst: 3 });
    const sockets = await Promise.all([raw(), raw(), raw(), raw(), raw()]);
    const closed = await Promise.all(sockets.map((s) => closedWithin(s, 500)));
    expect(closed.filter(Boolean).length).toBe(2);
    expect(await counter("bv_edge_mqtt_refused_total", { reason: "connect_rate" })).toBe(2);
    await sleep(500);
    await client("after-flood");
  });

  it("connect_timeout_ms: a client that never completes CONNECT is closed", async () => {
    await start({ connect_timeout_ms: 300 });
    const silent = await raw();
    const slow = await raw();
    slow.write(CONNECT("slow").subarray(0, 6)); // half a CONNECT, then nothing
    expect(await closedWithin(silent, 3000)).toBe(true);
    expect(await closedWithin(slow, 3000)).toBe(true);
    await stillServed("timeout");
  });

  it("max_inflight: QoS 2 PUBLISHes beyond the window wait for PUBCOMP; nothing is lost", async () => {
    await start({ max_inflight: 2 });
    const s = await raw();
    s.write(CONNECT("inflight"));
    await sleep(200);
    const publish = (id: number) => Buffer.from([0x34, 7, 0, 1, 0x74, 0, id, 0x68, 0x69]);
    s.write(Buffer.concat([publish(1), publish(2), publish(3)]));
    await sleep(300);
    const pubrecs = () =>
      [
        ...Buffer.concat(s.received)
          .toString("hex")
          .matchAll(/5002(\w{4})/g),
      ].map((m) => Number.parseInt(m[1] as string, 16));
    expect(pubrecs()).toEqual([1, 2]);
    s.write(Buffer.from([0x62, 2, 0, 1])); // PUBREL 1 → PUBCOMP 1 frees a slot
    await sleep(300);
    expect(pubrecs()).toEqual([1, 2, 3]);
    expect(await counter("bv_edge_mqtt_throttled_total", { limit: "inflight" })).toBeGreaterThanOrEqual(1);
    expect(s.destroyed).toBe(false);
  });

  it("message_rate_per_s / message_burst: a fast publisher is slowed down, not dropped", async () => {
    await start({ message_rate_per_s: 20, message_burst: 5 });
    const sub = await client("rate-sub");
    await sub.subscribeAsync("rate/t", { qos: 0 });
    const seen: number[] = [];
    sub.on("message", (_t, p) => seen.push(Number(p.toString())));
    const pub = await client("rate-pub");
    for (let i = 0; i < 25; i++) pub.publish("rate/t", String(i), { qos: 0 });
    await sleep(150);
    expect(seen.length).toBeLessThanOrEqual(10);
    await sleep(1500);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(await counter("bv_edge_mqtt_throttled_total", { limit: "rate" })).toBeGreaterThanOrEqual(1);
    await stillServed("rate");
  });

  it("max_uncommitted / max_uncommitted_total: publishes beyond the window wait in the socket until earlier ones are handled; nobody is disconnected", async () => {
    const held: Array<() => void> = [];
    await start({ max_uncommitted: 2, max_uncommitted_total: 3 }, holding(held));
    const a = await client("win-a");
    const b = await client("win-b");
    for (let i = 0; i < 4; i++) a.publish("w/a", String(i), { qos: 0 });
    await sleep(300);
    expect(held.length).toBe(2); // per connection
    for (let i = 0; i < 4; i++) b.publish("w/b", String(i), { qos: 0 });
    await sleep(300);
    expect(held.length).toBe(3); // broker-wide
    let handled = 0;
    const deadline = Date.now() + 10_000;
    while (handled < 8 && Date.now() < deadline) {
      for (const release of held.splice(0)) {
        release();
        handled++;
      }
      await sleep(50);
    }
    expect(handled).toBe(8);
    expect(a.connected && b.connected).toBe(true);
    expect(await counter("bv_edge_mqtt_throttled_total", { limit: "uncommitted" })).toBeGreaterThanOrEqual(1);
    expect(await counter("bv_edge_mqtt_throttled_total", { limit: "commit_window" })).toBeGreaterThanOrEqual(1);
    // From here on every PUBLISH is answered as it comes.
    const answering = setInterval(() => {
      for (const release of held.splice(0)) release();
    }, 10);
    closers.push(() => clearInterval(answering));
    await stillServed("window");
  });

  it("max_queued_messages: an offline session keeps the first N QoS 1 messages and counts the rest", async () => {
    await start({ max_queued_messages: 3 });
    const away = await client("away", { clean: false });
    await away.subscribeAsync("q/t", { qos: 1 });
    await away.endAsync();
    const pub = await client("q-pub");
    for (let i = 0; i < 10; i++) await pub.publishAsync("q/t", String(i), { qos: 1 });
    const back = mqtt.connect(`mqtt://127.0.0.1:${port}`, { clientId: "away", clean: false, protocolVersion: 4, reconnectPeriod: 0 });
    closers.push(() => back.end(true));
    const got: string[] = [];
    back.on("message", (_t, p) => got.push(p.toString()));
    await sleep(800);
    expect(got).toEqual(["0", "1", "2"]);
    expect(await counter("bv_edge_mqtt_queue_dropped_total")).toBe(7);
  });

  it("session_expiry_s: a persistent session that does not come back is removed; one that does is present", async () => {
    await start({ session_expiry_s: 1 });
    const kept = await client("kept", { clean: false }); // no subscriptions: still a session [MQTT-3.2.2-2]
    await kept.endAsync();
    const again = mqtt.connect(`mqtt://127.0.0.1:${port}`, { clientId: "kept", clean: false, protocolVersion: 4, reconnectPeriod: 0 });
    closers.push(() => again.end(true));
    const present = await new Promise<boolean>((r) => again.once("connect", (ack) => r(ack.sessionPresent)));
    expect(present).toBe(true);
    await again.endAsync();

    const gone = await client("gone", { clean: false });
    await gone.subscribeAsync("exp/t", { qos: 1 });
    await gone.endAsync();
    await sleep(2600);
    expect(await counter("bv_edge_mqtt_sessions_expired_total")).toBeGreaterThanOrEqual(2);
    const late = mqtt.connect(`mqtt://127.0.0.1:${port}`, { clientId: "gone", clean: false, protocolVersion: 4, reconnectPeriod: 0 });
    closers.push(() => late.end(true));
    expect(await new Promise<boolean>((r) => late.once("connect", (ack) => r(ack.sessionPresent)))).toBe(false);
  });
});
