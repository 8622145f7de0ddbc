// A QoS 0 flood from real MQTT clients, faster than the outbox commits: every sender is slowed by
// TCP back-pressure (the broker stops reading its socket while its readings wait for a commit),
// none is disconnected, the commit queue stays within the broker's window, and every reading is
// committed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashSecret, silentLogger } from "@bitvelocity/common";
import mqtt, { type MqttClient } from "mqtt";
import { Registry } from "prom-client";
import { afterEach, expect, it } from "vitest";
import { Outbox } from "../outbox/outbox.js";
import { MqttBroker } from "./broker.js";
import { defaultBrokerLimits } from "./limits.js";

const CLIENTS = 12;
const PER_CLIENT = 1500;
const WINDOW_TOTAL = 200;
const devices = Array.from({ length: CLIENTS }, (_, i) => ({
  id: `flood-${i}`,
  type: "env-sensor",
  secret_hash: hashSecret(`secret-${i}`),
}));

let dir: string;
let outbox: Outbox | undefined;
let broker: MqttBroker | undefined;
const clients: MqttClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
  await broker?.stop();
  outbox?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Publishes `count` QoS 0 readings as fast as the socket takes them (waits only for 'drain'). */
function flood(c: MqttClient, id: string, count: number): Promise<void> {
  let sent = 0;
  return new Promise((resolve) => {
    const pump = () => {
      while (sent < count) {
        c.publish(`bv/${id}/telemetry`, JSON.stringify({ ts: 1_700_000_000_000 + sent, values: { temperature: sent % 40 } }), { qos: 0 });
        sent++;
        if (c.stream.writableNeedDrain) {
          c.stream.once("drain", pump);
          return;
        }
      }
      resolve();
    };
    pump();
  });
}

it("a QoS 0 flood faster than the commit is slowed, never disconnected; memory stays bounded; every reading is committed", async () => {
  dir = mkdtempSync(join(tmpdir(), "bv-flood-"));
  const registry = new Registry();
  // A long commit window: the senders are far faster than the commits.
  outbox = Outbox.open({ dir, bootId: "flood", commitIntervalMs: 60, batchSize: 10_000, maxPending: 400, registry });
  broker = new MqttBroker({
    host: "127.0.0.1",
    port: 0,
    wsPort: null,
    devices,
    sink: outbox,
    registry,
    logger: silentLogger(),
    limits: {
      ...defaultBrokerLimits,
      message_rate_per_s: 1_000_000,
      message_burst: 1_000_000,
      max_uncommitted: 50,
      max_uncommitted_total: WINDOW_TOTAL,
    },
  });
  const { mqtt: port } = await broker.start();

  let closes = 0;
  const conns = await Promise.all(
    devices.map(
      (d, i) =>
        new Promise<MqttClient>((resolve, reject) => {
          const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
            protocolVersion: 4,
            clientId: d.id,
            username: d.id,
            password: `secret-${i}`,
            reconnectPeriod: 0,
            keepalive: 30,
          });
          clients.push(c);
          c.on("error", () => undefined);
          c.on("close", () => closes++);
          c.once("connect", () => resolve(c));
          c.once("error", reject);
        }),
    ),
  );

  const box = outbox;
  let maxPending = 0;
  const sampler = setInterval(() => {
    maxPending = Math.max(maxPending, box.pending);
  }, 2);
  const floods = Promise.all(conns.map((c, i) => flood(c, devices[i]?.id as string, PER_CLIENT)));
  const total = CLIENTS * PER_CLIENT;
  const deadline = Date.now() + 60_000;
  while (box.stats().readings < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  clearInterval(sampler);
  await floods;

  const value = async (name: string, labels: Record<string, string> = {}) =>
    (await registry.getSingleMetric(name)?.get())?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ??
    0;
  expect(closes).toBe(0);
  expect(box.stats().readings).toBe(total);
  expect(await value("bv_edge_readings_accepted_total")).toBe(total);
  // Bounded: the commit queue never held more than the broker's window (plus nothing refused as busy).
  expect(maxPending).toBeLessThanOrEqual(WINDOW_TOTAL);
  expect(await value("bv_edge_outbox_refused_total", { reason: "busy" })).toBe(0);
  // The senders were faster than the commits: the broker held them back.
  const held =
    (await value("bv_edge_mqtt_throttled_total", { limit: "uncommitted" })) +
    (await value("bv_edge_mqtt_throttled_total", { limit: "commit_window" }));
  expect(held).toBeGreaterThan(0);
  expect(conns.every((c) => c.connected)).toBe(true);
}, 90_000);
