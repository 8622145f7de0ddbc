/**
 * A Kafka uplink session: telemetry batches go to Kafka, everything else rides on the gRPC
 * session it wraps (Hello/Welcome, commands, status, presence). A batch is one protobuf
 * TelemetryBatch keyed by the edge id (one partition per edge keeps its order), produced with
 * acks=all; the drainer deletes it from the outbox only on Kafka's acknowledgement (DESIGN.md §3.2).
 * The cloud's store-writer validates and stores it; readings it refuses become cloud-side dead letters.
 */
import { BvError } from "@bitvelocity/common";
import { type ReleaseOffer, TelemetryBatch } from "@bitvelocity/proto";
import type { Producer } from "kafkajs";
import { toProtoLane, toProtoReading } from "../grpc/convert.js";
import type {
  BatchLimits,
  ControlMessage,
  IncomingCommand,
  IncomingConfigUpdate,
  OutgoingBatch,
  SendResult,
  SessionFailure,
  UplinkSession,
} from "../uplink.js";

export interface KafkaSessionOptions {
  readonly control: UplinkSession;
  readonly producer: Producer;
  readonly edgeId: string;
  readonly topic: string;
  readonly maxInFlight: number;
  readonly requestTimeoutMs: number;
  readonly limits: BatchLimits;
}

export class KafkaSession implements UplinkSession {
  readonly limits: BatchLimits;
  readonly ended: Promise<SessionFailure>;
  private inFlight = 0;
  private closed = false;
  /** After a failed produce the window stays shut until then, so the drainer does not spin. */
  private pausedUntil = 0;
  private failures = 0;
  private readonly creditListeners = new Set<() => void>();

  constructor(private readonly options: KafkaSessionOptions) {
    this.limits = options.limits;
    this.ended = options.control.ended.then((failure) => {
      this.closed = true;
      void options.producer.disconnect().catch(() => undefined);
      return failure;
    });
  }

  available(): number {
    if (this.closed || Date.now() < this.pausedUntil) return 0;
    return Math.max(0, this.options.maxInFlight - this.inFlight);
  }

  async send(batch: OutgoingBatch): Promise<SendResult> {
    if (this.closed) return { status: "retryable", error: new BvError("UPLINK_CLOSED", "transient", "the session is closed") };
    this.inFlight++;
    try {
      const value = Buffer.from(
        TelemetryBatch.encode({
          batchId: batch.batchId,
          lane: toProtoLane(batch.lane),
          readings: batch.readings.map(toProtoReading),
          replay: batch.replay,
        }).finish(),
      );
      await this.options.producer.send({
        topic: this.options.topic,
        acks: -1,
        timeout: this.options.requestTimeoutMs,
        messages: [{ key: this.options.edgeId, value }],
      });
      this.failures = 0;
      this.inFlight--;
      this.grantCredit();
      return { status: "acked", seqs: batch.readings.map((r) => r.seq), rejected: [] };
    } catch (err) {
      this.inFlight--;
      // Exponential pause with jitter (250 ms … 30 s); the readings stay in the outbox meanwhile.
      this.failures++;
      const retryInMs = Math.min(30_000, 250 * 2 ** Math.min(this.failures - 1, 7)) * (0.5 + Math.random() / 2);
      this.pausedUntil = Date.now() + retryInMs;
      setTimeout(() => this.grantCredit(), retryInMs).unref();
      const error = new BvError("UPLINK_KAFKA_SEND_FAILED", "transient", `Kafka did not acknowledge batch ${batch.batchId}`, {
        cause: err,
      });
      return { status: "retryable", retryInMs, error };
    }
  }

  private grantCredit(): void {
    for (const listener of [...this.creditListeners]) listener();
  }

  post(message: ControlMessage): boolean {
    return this.options.control.post(message);
  }

  onCredit(listener: () => void): () => void {
    this.creditListeners.add(listener);
    return () => this.creditListeners.delete(listener);
  }

  onCommand(listener: (command: IncomingCommand) => void): () => void {
    return this.options.control.onCommand(listener);
  }

  onControlAck(listener: (ids: readonly number[]) => void): () => void {
    return this.options.control.onControlAck(listener);
  }

  /** Configuration comes down the gRPC control stream in Kafka mode too. */
  onConfigUpdate(listener: (update: IncomingConfigUpdate) => void): () => void {
    return this.options.control.onConfigUpdate?.(listener) ?? (() => undefined);
  }

  onReleaseOffer(listener: (offer: ReleaseOffer) => void): () => void {
    return this.options.control.onReleaseOffer(listener);
  }

  close(): void {
    this.closed = true;
    this.options.control.close();
  }
}
