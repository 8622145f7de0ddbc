/**
 * The store-writer: a Kafka consumer group that commits telemetry batches from the telemetry
 * topic to the telemetry store. Batches come from the gRPC ingest (ingest.via = kafka) or
 * straight from edges with the Kafka uplink; both are one protobuf TelemetryBatch keyed by edge id.
 *
 * Exactly once in the store: an offset is committed only after the store commit of its message
 * returned, so a writer that stops or dies mid-stream leaves its uncommitted batches to the next
 * owner of the partition, which commits them again; the store de-duplicates by (edgeId, seq).
 * Offsets are committed every COMMIT_EVERY messages or COMMIT_INTERVAL_MS, not after each message
 * (one broker round trip per batch was most of a writer's time): a crash re-delivers at most that
 * many already-stored batches, which the store counts as duplicates. The partitions a writer holds
 * are consumed concurrently (one batch at a time per partition, so each edge's batches stay in
 * order): commits to a line-protocol engine overlap instead of queueing behind one another. Several cloud
 * processes in one group share the partitions (the load); a batch is never processed by two
 * members at once for long, and if it is, the store's key still keeps one copy.
 *
 * Bad input never blocks a partition: an undecodable message or an unknown edge is counted and
 * skipped; an invalid reading becomes a dead letter. A store failure is thrown back to kafkajs,
 * which retries the same message with backoff: nothing is skipped for a store outage. A consumer
 * that kafkajs stops for good (an error it does not retry) is started again, with backoff.
 */
import type { Logger } from "@bitvelocity/common";
import { isValidDeviceId } from "@bitvelocity/devices";
import { TelemetryBatch } from "@bitvelocity/proto";
import type { Consumer, KafkaMessage } from "kafkajs";
import { Counter, type Registry } from "prom-client";
import type { EventBus } from "../platform/event-bus.js";
import { createKafka, type KafkaSettings } from "../platform/kafka.js";
import { cloudDeadLetter } from "./dead-letters.js";
import type { DeviceGate } from "./device-gate.js";
import type { LinkRecords } from "./link-records.js";
import type { ReadingCommitter, ValidReading } from "./ports.js";
import { checkReading } from "./reading-validator.js";

export interface StoreWriterOptions {
  readonly settings: KafkaSettings;
  readonly store: ReadingCommitter;
  readonly bus: EventBus;
  /** The edge a message key names, if it is known and not revoked. */
  readonly edge: (edgeId: string) => { readonly id: string; readonly siteId: string } | undefined;
  /** Where refused readings are kept with their reason (the dead-letter table). */
  readonly records: Pick<LinkRecords, "recordDeadLetters">;
  /** Which devices each edge may speak for; without one (tests of the writer alone) every device passes. */
  readonly gate?: Pick<DeviceGate, "check">;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Distinguishes writers sharing one registry (tests run several in one process). */
  readonly metricsPrefix?: string;
  /** Offsets committed after this many handled messages (default COMMIT_EVERY; 1 = after each). */
  readonly commitEvery?: number;
  /** Partitions consumed at once (default PARTITIONS_AT_ONCE; 1 = one message at a time). */
  readonly partitionsAtOnce?: number;
}

/** Offsets are committed after this many handled messages or this long, whichever comes first. */
const COMMIT_EVERY = 50;
const COMMIT_INTERVAL_MS = 1000;
/** Backoff of starting the consumer again after kafkajs stopped it for good: first, at most. */
const RESTART_FIRST_MS = 1000;
const RESTART_MAX_MS = 30_000;
/** Partitions of the telemetry topic one writer consumes at once. */
const PARTITIONS_AT_ONCE = 4;

export interface StoreWriterStats {
  messages: number;
  inserted: number;
  duplicates: number;
  rejected: number;
  invalidMessages: number;
  /** Times the consumer was started again after kafkajs stopped it for good. */
  restarts: number;
}

export class KafkaStoreWriter {
  /** Resolves when this writer has joined the group and holds its share of the partitions. */
  readonly joined: Promise<void>;
  private readonly resolveJoined: () => void;
  /** Partitions of the telemetry topic this writer holds (updated at each rebalance). */
  assignment: number[] = [];
  readonly stats: StoreWriterStats = { messages: 0, inserted: 0, duplicates: 0, rejected: 0, invalidMessages: 0, restarts: 0 };
  private readonly consumer: Consumer;
  private readonly rebalanceTimeoutMs: number;
  private stopping = false;
  /** Crashes kafkajs did not restart from since the last join, and the timer of the next start. */
  private crashes = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly readings: Counter<"result">;
  private readonly messages: Counter<"result">;
  private readonly restarts: Counter;

  constructor(private readonly options: StoreWriterOptions) {
    let resolveJoined = () => {};
    this.joined = new Promise((resolve) => {
      resolveJoined = resolve;
    });
    this.resolveJoined = resolveJoined;
    const { settings } = options;
    this.rebalanceTimeoutMs = Math.max(settings.sessionTimeoutMs, 10_000);
    this.consumer = createKafka(settings, options.logger).consumer({
      groupId: settings.groupId,
      sessionTimeout: settings.sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(settings.sessionTimeoutMs / 10)),
      rebalanceTimeout: this.rebalanceTimeoutMs,
      allowAutoTopicCreation: true,
      // How long a fetch waits for data when the topic is idle: bounds stop() and idle latency.
      maxWaitTimeInMs: 500,
      retry: { initialRetryTime: 200, retries: 10 },
    });
    const prefix = options.metricsPrefix ?? "bv_cloud_store_writer";
    const registers = [options.registry];
    this.readings = new Counter({
      name: `${prefix}_readings_total`,
      help: "Readings the store-writer handled, by result (stored, duplicate, rejected)",
      labelNames: ["result"] as const,
      registers,
    });
    this.messages = new Counter({
      name: `${prefix}_messages_total`,
      help: "Kafka telemetry messages consumed, by result (ok, invalid)",
      labelNames: ["result"] as const,
      registers,
    });
    this.restarts = new Counter({
      name: `${prefix}_restarts_total`,
      help: "Times the store-writer's consumer was started again after kafkajs stopped it on an error",
      registers,
    });
  }

  async start(): Promise<void> {
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      this.assignment = [...(event.payload.memberAssignment[this.options.settings.telemetryTopic] ?? [])].sort((a, b) => a - b);
      this.crashes = 0;
      this.resolveJoined();
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      if (event.payload.restart || this.stopping) return;
      // kafkajs stops for good on an error it does not count as retriable (seen: a broker answering
      // a SyncGroup during a rebalance with INVALID_REQUEST). The member then holds no partition and
      // consumes nothing while the process lives on; the group's other members take its share, but
      // the capacity is gone. Start it again, backing off while it keeps failing.
      const delayMs = Math.min(RESTART_MAX_MS, RESTART_FIRST_MS * 2 ** this.crashes++);
      this.stats.restarts++;
      this.restarts.inc();
      this.assignment = [];
      this.options.logger.error({ err: event.payload.error, delayMs }, "store-writer's consumer stopped on an error; starting it again");
      this.restartTimer = setTimeout(() => {
        this.run().catch((err: unknown) => this.options.logger.error({ err }, "store-writer's consumer did not start again"));
      }, delayMs);
    });
    await this.run();
  }

  private async run(): Promise<void> {
    if (this.stopping) return;
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.options.settings.telemetryTopic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: true,
      autoCommitThreshold: this.options.commitEvery ?? COMMIT_EVERY,
      autoCommitInterval: COMMIT_INTERVAL_MS,
      partitionsConsumedConcurrently: this.options.partitionsAtOnce ?? PARTITIONS_AT_ONCE,
      eachMessage: async ({ message }) => this.handle(message),
    });
  }

  /**
   * Leaves the group; the offsets of completed messages are committed first. kafkajs' disconnect
   * can wait forever when it comes during a rebalance (another writer joining or leaving at the
   * same moment), so the wait is bounded by the rebalance timeout: after it the group's session
   * timeout removes this member, and the messages it had not committed go to the others again
   * (the store drops them as duplicates by edge and seq).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const limitMs = this.rebalanceTimeoutMs + 2_000;
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), limitMs);
    });
    try {
      if (await Promise.race([this.consumer.disconnect().then(() => false), gaveUp]))
        this.options.logger.warn({ limitMs }, "store-writer did not leave its group in time (a rebalance held it); stopped waiting");
    } finally {
      clearTimeout(timer);
    }
  }

  private async handle(message: KafkaMessage): Promise<void> {
    const edgeId = message.key?.toString() ?? "";
    const edge = this.options.edge(edgeId);
    let batch: TelemetryBatch;
    try {
      if (!edge) throw new Error(`unknown edge ${JSON.stringify(edgeId)}`);
      if (!message.value) throw new Error("empty message");
      batch = TelemetryBatch.decode(message.value);
    } catch (err) {
      this.stats.invalidMessages++;
      this.messages.inc({ result: "invalid" });
      this.options.logger.debug({ err, edgeId, offset: message.offset }, "skipping an invalid telemetry message");
      return;
    }
    // Kafka's timestamp is when the batch was published: the cloud's receive time on this path.
    const receivedAt = Number(message.timestamp) || Date.now();
    const valid: ValidReading[] = [];
    const letters = [];
    const refusals = new Map<string, string | undefined>();
    for (const r of batch.readings) {
      if (this.options.gate && !refusals.has(r.deviceId) && isValidDeviceId(r.deviceId))
        refusals.set(r.deviceId, await this.options.gate.check(edge.id, r.deviceId, "reading"));
      const refusal = refusals.get(r.deviceId);
      const checked = refusal === undefined ? checkReading(r, receivedAt) : { ok: false as const, seq: r.seq, reason: refusal };
      if (checked.ok) valid.push(checked.reading);
      else letters.push(cloudDeadLetter(r, checked.reason, receivedAt));
    }
    if (letters.length > 0) {
      // Stored before the offset moves; a re-delivery records nothing new (idempotent by edge and seq).
      const fresh = await this.options.records.recordDeadLetters(edge.id, letters);
      this.stats.rejected += letters.length;
      this.readings.inc({ result: "rejected" }, letters.length);
      for (const { ref: _ref, ...letter } of fresh) this.options.bus.emit("deadLetterReceived", { edgeId: edge.id, ...letter });
    }
    // Throws on a store failure: kafkajs retries this message, the offset does not move.
    const result = await this.options.store.commitBatch(edge.id, valid, { replay: batch.replay });
    this.stats.messages++;
    this.stats.inserted += result.inserted;
    this.stats.duplicates += result.duplicates;
    this.messages.inc({ result: "ok" });
    this.readings.inc({ result: "stored" }, result.inserted);
    this.readings.inc({ result: "duplicate" }, result.duplicates);
    if (result.inserted === 0) return;
    const inserted = new Set(result.insertedSeqs);
    this.options.bus.emit("readingsCommitted", {
      edgeId: edge.id,
      siteId: edge.siteId,
      replay: batch.replay,
      readings: valid
        .filter((r) => inserted.has(r.seq))
        .map((r) => ({ seq: r.seq, deviceId: r.deviceId, deviceType: r.deviceType, ts: r.deviceTimeMs ?? r.edgeTimeMs, values: r.values })),
    });
  }
}
