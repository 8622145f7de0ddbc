/**
 * The telemetry store seam (DESIGN.md §5): SQLite with rollup tables by default, InfluxDB at
 * scale. Every implementation passes telemetry-store.contract.ts.
 */
export type TelemetryValue = number | boolean | string;

export interface NewReading {
  /** Identity is (edgeId, seq): strictly increasing per edge, never reused. */
  readonly seq: number;
  readonly deviceId: string;
  readonly deviceType: string;
  readonly values: Readonly<Record<string, TelemetryValue>>;
  readonly deviceTimeMs?: number | undefined;
  readonly edgeTimeMs: number;
  /** Cloud receive time; defaults to now. */
  readonly receivedAt?: number | undefined;
}

export interface StoredReading {
  readonly edgeId: string;
  readonly seq: number;
  readonly deviceId: string;
  readonly deviceType: string;
  /** deviceTimeMs if present, else edgeTimeMs. */
  readonly ts: number;
  readonly deviceTimeMs: number | null;
  readonly edgeTimeMs: number;
  readonly receivedAt: number;
  readonly values: Record<string, TelemetryValue>;
}

export interface CommitResult {
  readonly inserted: number;
  readonly duplicates: number;
  /** Seqs of the rows this call inserted (not the duplicates), in input order. */
  readonly insertedSeqs: number[];
}

export interface TimeRange {
  /** Inclusive, ms since epoch. */
  readonly from?: number | undefined;
  /** Exclusive, ms since epoch. */
  readonly to?: number | undefined;
}

export type Resolution = "raw" | "1m" | "1h";

export interface SeriesPoint {
  /** Bucket start (or the reading's ts for raw). */
  readonly ts: number;
  readonly min: number;
  readonly max: number;
  readonly avg: number;
  readonly count: number;
}

export type LatestValues = Record<string, { value: TelemetryValue; ts: number }>;

export interface TelemetryStore {
  /** Atomic and idempotent by (edgeId, seq) in any arrival order; rollups count inserted rows only. */
  commitBatch(edgeId: string, readings: readonly NewReading[]): Promise<CommitResult>;
  /**
   * Several batches of one edge in one transaction (group commit): all or none, one result per
   * batch in order, as if each were committed by commitBatch in turn. Optional: ingest commits
   * batch by batch where a store has no such transaction.
   */
  commitBatches?(edgeId: string, batches: readonly (readonly NewReading[])[]): Promise<CommitResult[]>;
  /** Readings of a device ordered by ts, then edge and seq. */
  readings(deviceId: string, query: TimeRange & { limit?: number | undefined }): Promise<StoredReading[]>;
  /** Numeric (and boolean as 0/1) values of one metric, bucketed by resolution. */
  series(
    deviceId: string,
    metric: string,
    query: TimeRange & { resolution: Resolution; limit?: number | undefined },
  ): Promise<SeriesPoint[]>;
  /** The newest value of each metric by timestamp (never by arrival). */
  latest(deviceId: string): Promise<LatestValues>;
  check(): Promise<boolean>;
  close(): Promise<void>;
}

export const BUCKET_MS = { "1m": 60_000, "1h": 3_600_000 } as const;

export function readingTs(r: Pick<NewReading, "deviceTimeMs" | "edgeTimeMs">): number {
  return r.deviceTimeMs ?? r.edgeTimeMs;
}

/** The number a value contributes to rollups, or undefined when it is not numeric. */
export function numericValue(v: TelemetryValue): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v === "boolean") return v ? 1 : 0;
  return undefined;
}
