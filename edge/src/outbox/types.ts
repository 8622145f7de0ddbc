/**
 * The outbox's contract with the rest of the edge. The outbox (SQLite, WAL) owns `seq`:
 * strictly increasing, never reused, across restarts. The drainer reads with `peek` and deletes
 * with `ack` only after the cloud confirmed the commit (DESIGN.md §3, promises 1–2).
 */
import type { MetricValues } from "@bitvelocity/devices";

export type Lane = "control" | "alarm" | "telemetry";

/** What a source (broker, connector) hands to the outbox. */
export interface NewReading {
  readonly deviceId: string;
  readonly deviceType: string;
  readonly values: MetricValues;
  readonly deviceTimeMs?: number;
  readonly lane?: Lane; // default "telemetry"
}

/** A committed reading, as the drainer sees it. */
export interface StoredReading {
  readonly seq: number;
  readonly lane: Lane;
  readonly deviceId: string;
  readonly deviceType: string;
  readonly values: MetricValues;
  readonly deviceTimeMs?: number;
  readonly edgeTimeMs: number;
  readonly bootId: string;
  readonly uptimeMs: number;
  readonly clockSynced: boolean;
  /** Size of the stored record, for byte-bounded batches and the byte budget. */
  readonly bytes: number;
}

export interface OutboxStats {
  readonly readings: number;
  readonly bytes: number;
  /** Bytes the database's live pages take on disk (what the budget bounds). */
  readonly diskBytes: number;
  readonly budgetBytes: number;
  /** Readings evicted (budget, TTL) since start. */
  readonly evictedReadings: number;
  /** Gap records written since start. */
  readonly gaps: number;
  /** Control-lane messages (gap records, dead letters, command results) waiting for the cloud's ack. */
  readonly controlPending: number;
  /** Active health alarms ("CODE: detail"); empty when healthy. */
  readonly alarms: readonly string[];
  /** Age of the oldest reading still waiting, 0 when empty. */
  readonly oldestAgeSeconds: number;
  readonly deadLetters: number;
  /** Total bytes handed to SQLite since start (SD-card wear). */
  readonly bytesWritten: number;
}

export interface DeadLetterInput {
  readonly deviceId: string;
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly reason: string;
}

/** Readings evicted to keep a promise of bounded storage, as the cloud will see them. */
export interface GapRecordInput {
  readonly lane: Lane;
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** Readings missing: every seq of the range (0 = unknown, after a corrupt file). */
  readonly count: number;
  readonly fromTimeMs: number;
  readonly toTimeMs: number;
  readonly reason: "budget" | "ttl" | "outbox-corrupt";
}

/** A dead letter as the cloud is told of it (control lane `deadLetter`): the payload cut to a preview. */
export interface DeadLetterNotice {
  readonly deviceId: string;
  readonly topic: string;
  /** The first KiB of the payload, base64; the whole payload stays in the edge's dead-letter table. */
  readonly payloadPreview: string;
  readonly reason: string;
  readonly timeMs: number;
}

/** A control-lane message: kept until the cloud acknowledges its id, never evicted. */
export interface ControlItem {
  readonly id: number;
  /** `gap`, `deadLetter` (written by the outbox), `commandResult` (written by the northbound). */
  readonly kind: string;
  /**
   * A JSON document (control-body.ts): a `GapRecordInput` for `gap`, a `DeadLetterNotice` for
   * `deadLetter`, what the writer stored for other kinds. Rows written by agents before the
   * uplinks encoded their own messages hold an encoded EdgeMessage instead.
   */
  readonly body: Uint8Array;
}

export interface PeekOptions {
  readonly limit: number;
  readonly maxBytes: number;
  /** Readings at or below this seq are skipped. */
  readonly afterSeq?: number;
  /** Readings above this seq are not returned. */
  readonly upToSeq?: number;
  /** Only this lane. */
  readonly lane?: Lane;
}

/** The part of the outbox the drainer uses. */
export interface OutboxReader {
  /** Oldest first, in seq order, bounded by count and bytes (at least one reading when any matches). */
  peek(options: PeekOptions): StoredReading[];
  /** The highest seq handed out so far (0 when none). */
  lastSeq(): number;
  /** Control-lane messages in id order, after `afterId`. */
  peekControl(limit: number, afterId?: number): ControlItem[];
  ackControl(ids: readonly number[]): void;
  /** Stores a control-lane message durably (committed before it returns). */
  appendControl(kind: string, body: Uint8Array): number;
  /** Deletes the given readings (the cloud has committed them). Unknown seqs are ignored. */
  ack(seqs: readonly number[]): void;
  /** Moves readings the cloud refused as invalid to the dead-letter table with the reason. */
  reject(rejected: readonly { readonly seq: number; readonly reason: string }[]): void;
  stats(): OutboxStats;
  /** Fires (without arguments) after each group commit that added readings. */
  onAppended(listener: () => void): () => void;
}
