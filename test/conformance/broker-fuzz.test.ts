// A short fuzz run on the broker's input path (the long one is bench/broker-fuzz.mjs): mutated
// vector packets on many connections, while a well-behaved publisher and subscriber keep going.
// The broker must stay up, drop the fuzz connections, keep memory bounded, and deliver every
// one of the good client's QoS 1 messages, in order, without disconnecting it.
import { join } from "node:path";
import { silentLogger } from "@bitvelocity/common";
import fc from "fast-check";
import mqtt from "mqtt";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MqttBroker } from "../../edge/src/broker/broker.js";
import { runSession, seedPool, sessionArbitrary } from "../../edge/src/broker/conformance/fuzz.js";
import { loadVectors } from "../../edge/src/broker/conformance/index.js";
import { defaultBrokerLimits } from "../../edge/src/broker/limits.js";
import { openPolicy } from "../../edge/src/broker/policy.js";

const SESSIONS = Number(process.env.BV_FUZZ_SESSIONS ?? 3000);
const SEED = Number(process.env.BV_FUZZ_SEED ?? Date.now() % 2 ** 31);
const pool = seedPool(loadVectors(join(import.meta.dirname, "mqtt")));
const registry = new Registry();
let broker: MqttBroker;
let port: number;

beforeAll(async () => {
  broker = new MqttBroker({
    host: "127.0.0.1",
    port: 0,
    wsPort: null,
    devices: [],
    sink: { append: async () => undefined, deadLetter: async () => undefined } as never,
    registry,
    logger: silentLogger(),
    policy: openPolicy,
    // The fuzzer connects thousands of times per second from one address.
    limits: { ...defaultBrokerLimits, connect_rate_per_s: 1_000_000, connect_burst: 1_000_000 },
  });
  port = (await broker.start()).mqtt;
});

afterAll(async () => {
  await broker?.stop();
});

async function connectedClients(): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === "bv_edge_mqtt_clients_connected");
  return (m?.values[0]?.value as number | undefined) ?? -1;
}

describe("broker fuzz (short)", () => {
  it(`survives ${SESSIONS} fuzz sessions and keeps serving a good client (seed ${SEED})`, { timeout: 120_000 }, async () => {
    const url = `mqtt://127.0.0.1:${port}`;
    const sub = await mqtt.connectAsync(url, { clientId: "good-sub", protocolVersion: 4, reconnectPeriod: 0 });
    const pub = await mqtt.connectAsync(url, { clientId: "good-pub", protocolVersion: 4, reconnectPeriod: 0 });
    let drops = 0;
    for (const c of [sub, pub]) c.on("close", () => drops++);
    const received: number[] = [];
    sub.on("message", (_t, p) => received.push(Number(p.toString())));
    await sub.subscribeAsync("good/t", { qos: 1 });
    let sent = 0;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        await pub.publishAsync("good/t", String(sent), { qos: 1 });
        sent++;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();

    const sessions = fc.sample(sessionArbitrary(pool.length), { numRuns: SESSIONS, seed: SEED });
    let packets = 0;
    let rssAfterWarmup = 0;
    const parallel = 25;
    for (let i = 0; i < sessions.length; i += parallel) {
      const counts = await Promise.all(sessions.slice(i, i + parallel).map((s) => runSession({ host: "127.0.0.1", port }, pool, s, 30)));
      packets += counts.reduce((a, b) => a + b, 0);
      if (i >= 500 && rssAfterWarmup === 0) rssAfterWarmup = process.memoryUsage().rss;
    }
    publishing = false;
    await publisher;
    await new Promise((r) => setTimeout(r, 500));
    const rssEnd = process.memoryUsage().rss;
    console.log(
      `fuzz: ${SESSIONS} sessions, ${packets} mutated packets, seed ${SEED}; rss ${(rssAfterWarmup / 2 ** 20).toFixed(0)} → ${(rssEnd / 2 ** 20).toFixed(0)} MB; good messages ${sent}`,
    );

    expect(broker.running).toBe(true);
    expect(drops).toBe(0);
    expect(received).toEqual(Array.from({ length: sent }, (_, i) => i));
    expect(sent).toBeGreaterThan(10);
    expect(await connectedClients()).toBe(2);
    // Bounded: the fuzz connections leave nothing behind (a generous margin for GC timing).
    expect(rssEnd - rssAfterWarmup).toBeLessThan(80 * 2 ** 20);
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  });
});
