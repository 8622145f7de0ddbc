/**
 * The Kafka telemetry path against a real Kafka-protocol cluster (kcat's librdkafka mock):
 * publisher (acks=all) → topic keyed by edge → store-writer consumer group → telemetry store.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, silentLogger } from "@bitvelocity/common";
import { kafkaCluster } from "@bitvelocity/common/test-services";
import { Lane, TelemetryBatch } from "@bitvelocity/proto";
import { Kafka, KafkaJSNonRetriableError, logLevel } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { KafkaTelemetryPublisher, toWireReading } from "./ingest/kafka-publisher.js";
import { KafkaStoreWriter } from "./ingest/kafka-store-writer.js";
import { LinkRecords } from "./ingest/link-records.js";
import type { ValidReading } from "./ingest/ports.js";
import { cloudModules } from "./main.js";
import { openDatabase } from "./platform/database.js";
import { EventBus } from "./platform/event-bus.js";
import type { DeadLetterReceived } from "./platform/events.js";
import type { KafkaSettings } from "./platform/kafka.js";
import { createRegistry } from "./platform/metrics.js";
import { SqliteTelemetryStore } from "./telemetry/sqlite-store.js";

const kafka = await kafkaCluster();
const skip = kafka.available ? "" : ` (skipped: ${kafka.reason})`;
afterAll(async () => {
  if (kafka.available) await kafka.stop();
});

// Edge ids are the message keys: these eight land two on each of the topic's four partitions (kafkajs'
// default partitioner), so every partition gets data and each writer of the group has some to consume.
// (edge-1…edge-8 all hash to partitions 1 and 3: a writer holding 0 and 2 never saw a message.)
const EDGE_KEYS = [1, 2, 3, 5, 9, 10, 14, 15];
const EDGES = EDGE_KEYS.map((n) => ({ id: `edge-${n}`, siteId: "site-1", tokenHash: "sha256$x" }));
const T0 = Date.UTC(2025, 0, 1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function settings(): KafkaSettings {
  if (!kafka.available) throw new Error("no kafka");
  return {
    brokers: kafka.brokers,
    clientId: "bv-test",
    telemetryTopic: `bv.telemetry.${randomUUID()}`,
    groupId: `bv-store-writer-${randomUUID()}`,
    sessionTimeoutMs: 6000,
  };
}

function reading(edgeNo: number, seq: number): ValidReading {
  return { seq, deviceId: `env-${edgeNo}`, deviceType: "env-sensor", values: { temperature: 20, humidity: 40 }, edgeTimeMs: T0 + seq };
}

async function waitFor(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(!kafka.available)(`Kafka ingest and the store-writer group${skip}`, () => {
  it("loses and duplicates nothing while consumers start and stop mid-stream, and shares the load", async () => {
    const s = settings();
    const dir = mkdtempSync(join(tmpdir(), "bv-kafka-"));
    const publisher = new KafkaTelemetryPublisher(s, silentLogger());
    const registry = createRegistry();
    const db = await openDatabase(dir, cloudModules().modules);
    const records = new LinkRecords(db);
    // Each writer is its own "process": its own store connection to the shared database file.
    const writers: { writer: KafkaStoreWriter; store: SqliteTelemetryStore }[] = [];
    const startWriter = async () => {
      const store = SqliteTelemetryStore.open(dir);
      const writer = new KafkaStoreWriter({
        settings: s,
        store,
        bus: new EventBus(),
        edge: (id) => EDGES.find((e) => e.id === id),
        records,
        registry,
        logger: silentLogger(),
        metricsPrefix: `w${writers.length}`,
      });
      writers.push({ writer, store });
      await writer.start();
      return writer;
    };
    try {
      await publisher.start();
      const batches = 90;
      const perBatch = 20;
      const first = await startWriter();
      const publish = async (from: number, to: number) => {
        for (let b = from; b < to; b++) {
          const edgeNo = (b % EDGES.length) + 1;
          const base = Math.floor(b / EDGES.length) * perBatch;
          const readings = Array.from({ length: perBatch }, (_, i) => reading(edgeNo, base + i + 1));
          await publisher.commitBatch(EDGES[edgeNo - 1]!.id, readings);
          await sleep(10);
        }
      };
      await publish(0, 30);
      // A second writer joins mid-stream and takes a share of the partitions.
      const second = await startWriter();
      let joined = false;
      void second.joined.then(() => {
        joined = true;
      });
      await publish(30, 60);
      await waitFor("the second writer joining the group", () => joined);
      // The group split the partitions between the two.
      await waitFor(
        "the partitions split between both writers",
        () => first.assignment.length > 0 && second.assignment.length > 0 && first.assignment.length + second.assignment.length === 4,
      );
      expect(first.assignment.filter((p) => second.assignment.includes(p))).toEqual([]);
      // Both consume their share: one batch per edge covers every key, so each writer's partitions get
      // messages (under load the second writer's first fetch can lag the split by seconds).
      await publish(60, 68);
      await waitFor("both writers consuming", () => first.stats.messages > 0 && second.stats.messages > 0);
      // The first one leaves mid-stream; whatever it had not committed is the others' to redo.
      await Promise.all([publish(68, 75), first.stop()]);
      await publish(75, batches);
      await startWriter();
      const check = SqliteTelemetryStore.open(dir);
      const total = batches * perBatch;
      const count = async () => {
        let n = 0;
        for (let e = 1; e <= EDGES.length; e++) n += (await check.readings(`env-${e}`, { limit: 100_000 })).length;
        return n;
      };
      await waitFor("every reading in the store", async () => (await count()) >= total, 60_000);
      await sleep(500);
      expect(await count()).toBe(total);
      for (let e = 1; e <= EDGES.length; e++) {
        const seqs = (await check.readings(`env-${e}`, { limit: 100_000 })).map((r) => r.seq);
        expect(new Set(seqs).size).toBe(seqs.length);
      }
      // Every reading was reported inserted exactly once across the group.
      expect(writers.reduce((n, w) => n + w.writer.stats.inserted, 0)).toBe(total);
      expect(writers[0]!.writer.stats.messages).toBeGreaterThan(0);
      expect(writers[1]!.writer.stats.messages).toBeGreaterThan(0);
      await check.close();
    } finally {
      await publisher.stop();
      // All at once: one leaving starts a rebalance the next would have to wait out.
      await Promise.all(writers.map((w) => w.writer.stop().catch(() => undefined)));
      for (const w of writers) await w.store.close();
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("skips undecodable messages and unknown edges, dead-letters invalid readings, and keeps going", async () => {
    const s = settings();
    const dir = mkdtempSync(join(tmpdir(), "bv-kafka-"));
    const store = SqliteTelemetryStore.open(dir);
    const bus = new EventBus();
    const deadLetters: DeadLetterReceived[] = [];
    bus.on("deadLetterReceived", (d) => {
      deadLetters.push(d);
    });
    const committed: number[] = [];
    bus.on("readingsCommitted", (e) => {
      committed.push(...e.readings.map((r) => r.seq));
    });
    const db = await openDatabase(dir, cloudModules().modules);
    const records = new LinkRecords(db);
    const writer = new KafkaStoreWriter({
      settings: s,
      store,
      bus,
      edge: (id) => EDGES.find((e) => e.id === id),
      records,
      registry: createRegistry(),
      logger: process.env.BV_TEST_LOG ? createLogger("test") : silentLogger(),
    });
    const raw = new Kafka({ clientId: "bv-test-raw", brokers: kafka.available ? kafka.brokers : [], logLevel: logLevel.NOTHING }).producer({
      allowAutoTopicCreation: true,
    });
    try {
      await raw.connect();
      const bad = { ...toWireReading(reading(1, 2)), deviceType: "toaster" };
      await raw.send({
        topic: s.telemetryTopic,
        acks: -1,
        messages: [
          { key: "edge-1", value: Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x01]) },
          { key: "edge-1", value: null },
          {
            key: "intruder",
            value: Buffer.from(
              TelemetryBatch.encode({
                batchId: 1,
                lane: Lane.LANE_TELEMETRY,
                readings: [toWireReading(reading(1, 9))],
                replay: false,
              }).finish(),
            ),
          },
          {
            key: "edge-1",
            value: Buffer.from(
              TelemetryBatch.encode({
                batchId: 2,
                lane: Lane.LANE_TELEMETRY,
                readings: [toWireReading(reading(1, 1)), bad],
                replay: false,
              }).finish(),
            ),
          },
        ],
      });
      await writer.start();
      await waitFor("the valid reading", async () => (await store.readings("env-1", {})).length === 1);
      expect((await store.readings("env-1", {})).map((r) => r.seq)).toEqual([1]);
      expect(writer.stats.invalidMessages).toBe(3);
      expect(deadLetters).toEqual([
        expect.objectContaining({ edgeId: "edge-1", deviceId: "env-1", reason: expect.stringContaining("toaster") }),
      ]);
      expect(committed).toEqual([1]);
      // The refused reading is kept in the dead-letter table with its reason.
      expect(await records.deadLetters("edge-1")).toEqual([expect.objectContaining({ source: "cloud", seq: 2, deviceId: "env-1" })]);
    } finally {
      await raw.disconnect();
      await writer.stop();
      await store.close();
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("starts its consumer again when kafkajs stops it for good on an error, and stores everything once", async () => {
    const s = settings();
    const dir = mkdtempSync(join(tmpdir(), "bv-kafka-"));
    const sqlite = SqliteTelemetryStore.open(dir);
    // The first commit fails with an error kafkajs does not restart from (as a broker's INVALID_REQUEST to a SyncGroup
    // does): its consumer disconnects and stays stopped unless the writer starts it again.
    let failures = 1;
    const store: ConstructorParameters<typeof KafkaStoreWriter>[0]["store"] = {
      commitBatch: (edgeId, readings) => {
        if (failures-- > 0) return Promise.reject(new KafkaJSNonRetriableError("refused by the test"));
        return sqlite.commitBatch(edgeId, readings);
      },
    };
    const db = await openDatabase(dir, cloudModules().modules);
    const registry = createRegistry();
    const writer = new KafkaStoreWriter({
      settings: s,
      store,
      bus: new EventBus(),
      edge: (id) => EDGES.find((e) => e.id === id),
      records: new LinkRecords(db),
      registry,
      logger: process.env.BV_TEST_LOG ? createLogger("test") : silentLogger(),
    });
    const publisher = new KafkaTelemetryPublisher(s, silentLogger());
    try {
      await publisher.start();
      for (let seq = 1; seq <= 5; seq++) await publisher.commitBatch("edge-1", [reading(1, seq)]);
      await writer.start();
      await waitFor("every reading, after the restart", async () => (await sqlite.readings("env-1", {})).length === 5);
      expect((await sqlite.readings("env-1", {})).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(writer.stats.restarts).toBe(1);
      expect(await registry.metrics()).toMatch(/^bv_cloud_store_writer_restarts_total 1$/m);
    } finally {
      await publisher.stop();
      await writer.stop();
      await sqlite.close();
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
