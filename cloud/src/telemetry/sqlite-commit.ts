/**
 * The write side of the SQLite telemetry store: one transaction commits one or more batches of one
 * or more edges (group commit). Raw readings go in with multi-row `INSERT OR IGNORE … RETURNING seq`
 * (chunks within SQLite's variable limit), so the rows actually inserted are known without one
 * statement per reading. The values of the rows inserted (a duplicate never counts twice) are
 * folded into the edge's rollups in memory, and the transaction records which readings that fold
 * holds (sqlite-rollups.ts writes the fold later, exactly once even across a crash).
 *
 * A reading with a device time is also a duplicate when the device already has a row with the
 * same device time and values under another seq (a QoS 1 re-send the edge gave a new seq); it is
 * looked up before the insert, and a copy of a reading still waiting in the current chunk
 * flushes the chunk first, so the lookup sees it (the same order as one insert per reading).
 */
import type SqliteDatabase from "better-sqlite3";
import type { SqliteKeys } from "./sqlite-keys.js";
import { MultiRow } from "./sqlite-multirow.js";
import type { DeferredRollups, EdgeFold } from "./sqlite-rollups.js";
import { type CommitResult, type NewReading, readingTs } from "./telemetry-store.js";

const READING_COLUMNS = [
  "edge_key",
  "seq",
  "device_key",
  "device_type",
  "ts",
  "device_time_ms",
  "edge_time_ms",
  "received_at",
  "values_json",
  "gen",
];

/** A reading waiting in the current chunk, with what its insert needs. */
interface Pending {
  readonly reading: NewReading;
  readonly ts: number;
  /** Index of its batch in the transaction. */
  readonly batch: number;
  /** The rollup fold its values go to. */
  readonly fold: EdgeFold;
}

/** What one caller commits: an edge and its batches. */
export type CommitRequest = readonly [edgeId: string, batches: readonly (readonly NewReading[])[]];
/** Commits the requests in order, in one transaction; one result per batch of each. */
export type CommitBatches = (requests: readonly CommitRequest[]) => CommitResult[][];

/** The integer keys a commit takes for the ids it inserts (sqlite-keys.ts). */
export interface ReadingKeys {
  readonly edges: SqliteKeys;
  readonly devices: SqliteKeys;
}

/**
 * Prepares the statements and returns the commit transaction (run it with `.immediate`; then
 * commit or roll back the keys it took).
 */
export function prepareCommit(
  db: SqliteDatabase.Database,
  rollups: DeferredRollups,
  keys: ReadingKeys,
): SqliteDatabase.Transaction<CommitBatches> {
  const insert = new MultiRow(
    db,
    `INSERT OR IGNORE INTO reading_rows (${READING_COLUMNS.join(", ")})`,
    READING_COLUMNS.length,
    "RETURNING seq",
  );
  // Served by reading_rows_by_device_ts: ts is the device time whenever there is one.
  const sameReading = db.prepare(
    "SELECT 1 FROM reading_rows WHERE device_key = ? AND ts = ? AND device_time_ms = ? AND values_json = ? LIMIT 1",
  );

  const commitOne = (edgeId: string, batches: readonly (readonly NewReading[])[], now: number): CommitResult[] => {
    const insertedSeqs: number[][] = batches.map(() => []);
    const edgeKey = keys.edges.take(edgeId);
    let pending: Pending[] = [];
    let params: unknown[] = [];
    let identities = new Set<string>();

    const flush = (): void => {
      if (pending.length === 0) return;
      const returned = new Set(insert.statement(pending.length).pluck().all(params) as number[]);
      for (const p of pending) {
        // The first row of a seq in the chunk is the one inserted; a later copy was ignored.
        if (!returned.delete(p.reading.seq)) continue;
        const { seq, deviceId, values } = p.reading;
        insertedSeqs[p.batch]!.push(seq);
        rollups.add(p.fold, seq, deviceId, p.ts, values);
      }
      pending = [];
      params = [];
      identities = new Set();
    };

    batches.forEach((readings, batch) => {
      for (const r of readings) {
        const ts = readingTs(r);
        const valuesJson = JSON.stringify(r.values);
        const deviceKey = keys.devices.take(r.deviceId);
        if (r.deviceTimeMs != null) {
          const identity = `${deviceKey}\u0000${r.deviceTimeMs}\u0000${valuesJson}`;
          if (identities.has(identity)) flush();
          if (sameReading.get(deviceKey, ts, r.deviceTimeMs, valuesJson)) continue;
          identities.add(identity);
        }
        const fold = rollups.fold(edgeId, r.deviceId);
        pending.push({ reading: r, ts, batch, fold });
        params.push(
          edgeKey,
          r.seq,
          deviceKey,
          r.deviceType,
          ts,
          r.deviceTimeMs ?? null,
          r.edgeTimeMs,
          r.receivedAt ?? now,
          valuesJson,
          fold.gen,
        );
        if (pending.length === insert.chunk) flush();
      }
    });
    flush();
    rollups.mark(edgeId);
    return batches.map((readings, batch) => {
      const seqs = insertedSeqs[batch]!;
      return { inserted: seqs.length, duplicates: readings.length - seqs.length, insertedSeqs: seqs };
    });
  };

  return db.transaction((requests: readonly CommitRequest[]): CommitResult[][] => {
    const now = Date.now();
    return requests.map(([edgeId, batches]) => commitOne(edgeId, batches, now));
  });
}
