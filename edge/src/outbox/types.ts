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

/** The part of the outbox the drainer uses. */
export interface OutboxReader {
  /** Oldest first, in seq order, bounded by count and bytes; readings at or below `afterSeq` are skipped. */
  peek(options: { readonly limit: number; readonly maxBytes: number; readonly afterSeq?: number }): StoredReading[];
  /** Deletes the given readings (the cloud has committed them). Unknown seqs are ignored. */
  ack(seqs: readonly number[]): void;
  /** Moves readings the cloud refused as invalid to the dead-letter table with the reason. */
  reject(rejected: readonly { readonly seq: number; readonly reason: string }[]): void;
  stats(): OutboxStats;
  /** Fires (without arguments) after each group commit that added readings. */
  onAppended(listener: () => void): () => void;
}
