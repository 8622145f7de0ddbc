/**
 * ingest.via = kafka: the gRPC ingest hands a validated batch to Kafka instead of the store.
 * The batch goes as one protobuf TelemetryBatch to the telemetry topic, keyed by edge id (so an
 * edge's batches stay in order on one partition), with acks=all; the edge gets its Ack only
 * after Kafka acknowledged the write. The store-writer group commits it to the store later, so
 * readingsCommitted is emitted there, not here.
 */
import { BvError, type Logger } from "@bitvelocity/common";
import { Lane, type MetricValue, type Reading, TelemetryBatch } from "@bitvelocity/proto";
import { CompressionTypes, Partitioners, type Producer } from "kafkajs";
import { createKafka, type KafkaSettings } from "../platform/kafka.js";
import type { CommitMeta, ReadingCommitter, ValidReading } from "./ports.js";

function wireValue(v: number | boolean | string): MetricValue {
  if (typeof v === "number") return { kind: { $case: "number", number: v } };
  if (typeof v === "boolean") return { kind: { $case: "flag", flag: v } };
  return { kind: { $case: "text", text: v } };
}

export function toWireReading(r: ValidReading): Reading {
  return {
    seq: r.seq,
    deviceId: r.deviceId,
    deviceType: r.deviceType,
    values: Object.fromEntries(Object.entries(r.values).map(([k, v]) => [k, wireValue(v)])),
    deviceTimeMs: r.deviceTimeMs,
    edgeTimeMs: r.edgeTimeMs,
    bootId: "",
    uptimeMs: 0,
    // Already re-stamped by the session if the edge clock was off.
    clockSynced: true,
  };
}

export class KafkaTelemetryPublisher implements ReadingCommitter {
  private readonly producer: Producer;
  private connected: Promise<void> | undefined;
  private batchId = 0;

  constructor(
    private readonly settings: KafkaSettings,
    logger: Logger,
  ) {
    // No idempotent producer (the mock cluster lacks it); duplicates from retries are absorbed
    // by the store's (edgeId, seq) de-duplication.
    this.producer = createKafka(settings, logger).producer({
      allowAutoTopicCreation: true,
      idempotent: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  start(): Promise<void> {
    this.connected ??= this.producer.connect();
    return this.connected;
  }

  async commitBatch(
    edgeId: string,
    readings: readonly ValidReading[],
    meta: CommitMeta = {},
  ): Promise<{ inserted: number; duplicates: number; insertedSeqs: number[] }> {
    if (readings.length === 0) return { inserted: 0, duplicates: 0, insertedSeqs: [] };
    const value = Buffer.from(
      TelemetryBatch.encode({
        batchId: ++this.batchId,
        lane: Lane.LANE_TELEMETRY,
        readings: readings.map(toWireReading),
        replay: meta.replay ?? false,
      }).finish(),
    );
    try {
      await this.start();
      await this.producer.send({
        topic: this.settings.telemetryTopic,
        acks: -1,
        compression: CompressionTypes.None,
        messages: [{ key: edgeId, value }],
      });
    } catch (err) {
      throw new BvError("KAFKA_PUBLISH_FAILED", "transient", `Kafka did not acknowledge the batch: ${(err as Error).message}`, {
        cause: err,
      });
    }
    // Nothing is in the store yet: the store-writer reports what it inserts.
    return { inserted: 0, duplicates: 0, insertedSeqs: [] };
  }

  async stop(): Promise<void> {
    await this.producer.disconnect();
  }
}
