/** The Kafka uplink against a real Kafka-protocol cluster (kcat's librdkafka mock) and a real gRPC control plane. */
import { randomUUID } from "node:crypto";
import { kafkaCluster } from "@bitvelocity/common/test-services";
import { TelemetryBatch } from "@bitvelocity/proto";
import { Kafka, logLevel } from "kafkajs";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../test-cloud.js";
import { type Rig, startRig } from "../test-setup.js";

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

const probe = await kafkaCluster({ own: true });
const skip = probe.available ? "" : ` (skipped: ${probe.reason})`;
if (probe.available) await probe.stop();

async function consumeAll(brokers: string[], topic: string, expected: number): Promise<{ key: string; batch: TelemetryBatch }[]> {
  const kafka = new Kafka({ clientId: "bv-test-reader", brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({
    groupId: `reader-${randomUUID()}`,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 500,
  });
  const out: { key: string; batch: TelemetryBatch }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      out.push({ key: message.key?.toString() ?? "", batch: TelemetryBatch.decode(message.value!) });
    },
  });
  try {
    await waitFor(() => out.reduce((n, m) => n + m.batch.readings.length, 0) >= expected, 30_000, "every reading on the topic");
  } finally {
    await consumer.disconnect();
  }
  return out;
}

describe.skipIf(!probe.available)(`Kafka uplink${skip}`, () => {
  it("produces telemetry batches keyed by edge id, deletes them only on Kafka's ack, and keeps control on gRPC", async () => {
    const cluster = await kafkaCluster();
    if (!cluster.available) return;
    const topic = `bv.telemetry.${randomUUID()}`;
    try {
      rig = await startRig(
        {},
        { kind: "kafka", kafka: { brokers: cluster.brokers, topic, max_in_flight: 2, request_timeout_ms: 10_000 }, max_batch_readings: 8 },
      );
      const r = rig;
      await waitFor(() => r.link.connected(), 15_000, "connected");
      const seqs = await r.append(40);
      await waitFor(() => r.outbox.stats().readings === 0, 15_000, "outbox drained by Kafka acks");
      const messages = await consumeAll(cluster.brokers, topic, 40);
      expect(messages.every((m) => m.key === "edge-1")).toBe(true);
      expect(messages.every((m) => m.batch.readings.length <= 8)).toBe(true);
      expect(messages.flatMap((m) => m.batch.readings.map((x) => x.seq)).sort((a, b) => a - b)).toEqual(seqs);
      // The control plane stayed on gRPC: Hello went there, telemetry did not.
      expect(r.cloud.hellos).toHaveLength(1);
      expect(r.cloud.batches).toHaveLength(0);
      expect(await r.metric("bv_edge_uplink_readings_acked_total")).toBe(40);
    } finally {
      await rig?.close();
      rig = undefined;
      await cluster.stop();
    }
  }, 60_000);

  it("keeps readings in the outbox while Kafka does not acknowledge them", async () => {
    const cluster = await kafkaCluster({ own: true });
    if (!cluster.available) return;
    const topic = `bv.telemetry.${randomUUID()}`;
    rig = await startRig({}, { kind: "kafka", kafka: { brokers: cluster.brokers, topic, max_in_flight: 4, request_timeout_ms: 1000 } });
    const r = rig;
    await waitFor(() => r.link.connected(), 15_000, "connected");
    await r.append(5);
    await waitFor(() => r.outbox.stats().readings === 0, 15_000, "first readings drained");
    await cluster.stop();
    await r.append(10);
    await new Promise((res) => setTimeout(res, 3000));
    expect(r.outbox.stats().readings).toBe(10);
    expect(await r.metric("bv_edge_uplink_readings_acked_total")).toBe(5);
  }, 60_000);
});

describe("Kafka uplink config", () => {
  it("requires uplink.kafka when uplink.kind is kafka, and checks broker addresses", async () => {
    const { uplinkSchema } = await import("../schema.js");
    const bad = uplinkSchema.safeParse({ token: "t", kind: "kafka" });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join("."))).toEqual(["kafka"]);
    const brokers = uplinkSchema.safeParse({ token: "t", kind: "kafka", kafka: { brokers: "k1:9092,nope" } });
    expect(brokers.error?.issues.map((i) => i.path.join("."))).toEqual(["kafka.brokers.1"]);
    const ok = uplinkSchema.parse({ token: "t", kind: "kafka", kafka: { brokers: "k1:9092, k2:9092" } });
    expect(ok.kafka).toMatchObject({ brokers: ["k1:9092", "k2:9092"], topic: "bv.telemetry", max_in_flight: 4 });
  });
});
