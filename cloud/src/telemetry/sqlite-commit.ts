/**
 * The write side of the SQLite telemetry store: one transaction commits one or more batches of an
 * edge (group commit). Raw readings go in with multi-row `INSERT OR IGNORE … RETURNING seq`
 * (chunks within SQLite's variable limit), so the rows actually inserted are known without one
 * statement per reading. Rollups (1 min, 1 h) and latest values are folded in memory over the
 * whole transaction and written with one upsert per (device, metric, bucket), from the inserted
 * rows only: a duplicate never counts twice, and a crash rolls readings and rollups back together.
 *
 * A reading with a device time is also a duplicate when the device already has a row with the
 * same device time and values under another seq (a QoS 1 re-send the edge gave a new seq); it is
 * looked up before the insert, and a copy of a reading still waiting in the current chunk
 * flushes the chunk first, so the lookup sees it (the same order as one insert per reading).
 */
import type SqliteDatabase from "better-sqlite3";
import { BUCKET_MS, type CommitResult, type NewReading, numericValue, readingTs, type TelemetryValue } from "./telemetry-store.js";

/** Rows per multi-row statement (SQLite allows 32,766 variables; 500 rows keeps statements small). */
const MAX_ROWS = 500;
const SQLITE_MAX_VARIABLES = 32_766;

const READING_COLUMNS = [
  "edge_id",
  "seq",
  "device_id",
  "device_type",
  "ts",
  "device_time_ms",
  "edge_time_ms",
  "received_at",
  "values_json",
];
const ROLLUP_COLUMNS = ["device_id", "metric", "bucket", "min", "max", "sum", "count"];

const rollupConflict = (table: string) => `ON CONFLICT (device_id, metric, bucket) DO UPDATE SET
  min = min(${table}.min, excluded.min), max = max(${table}.max, excluded.max),
  sum = ${table}.sum + excluded.sum, count = ${table}.count + excluded.count`;

/** One multi-row statement per row count, prepared on first use; runs rows in chunks. */
class MultiRow {
  private readonly statements = new Map<number, SqliteDatabase.Statement>();
  readonly chunk: number;

  constructor(
    private readonly db: SqliteDatabase.Database,
    private readonly head: string,
    private readonly columns: number,
    private readonly tail: string,
  ) {
    this.chunk = Math.min(MAX_ROWS, Math.floor(SQLITE_MAX_VARIABLES / columns));
  }

  statement(rows: number): SqliteDatabase.Statement {
    let stmt = this.statements.get(rows);
    if (!stmt) {
      const row = `(${new Array(this.columns).fill("?").join(", ")})`;
      stmt = this.db.prepare(`${this.head} VALUES ${new Array(rows).fill(row).join(", ")} ${this.tail}`);
      this.statements.set(rows, stmt);
    }
    return stmt;
  }

  /** Runs `params` (rows × columns values, flat) in chunks. */
  run(params: unknown[]): void {
    const width = this.chunk * this.columns;
    for (let at = 0; at < params.length; at += width) {
      const part = params.slice(at, at + width);
      this.statement(part.length / this.columns).run(part);
    }
  }
}

interface Aggregate {
  min: number;
  max: number;
  sum: number;
  count: number;
}

/** What one transaction folds for one (device, metric): its latest value and its aggregates by bucket. */
interface Series {
  value: TelemetryValue;
  ts: number;
  readonly minute: Map<number, Aggregate>;
  readonly hour: Map<number, Aggregate>;
}

/** Folds a value into the aggregate of its bucket. */
function fold(buckets: Map<number, Aggregate>, bucket: number, n: number): void {
  const b = buckets.get(bucket);
  if (!b) {
    buckets.set(bucket, { min: n, max: n, sum: n, count: 1 });
    return;
  }
  if (n < b.min) b.min = n;
  if (n > b.max) b.max = n;
  b.sum += n;
  b.count++;
}

/** The series of (device, metric), created with the first value; nested maps, no key strings per value. */
function seriesOf(devices: Map<string, Map<string, Series>>, deviceId: string, metric: string, value: TelemetryValue, ts: number): Series {
  let metrics = devices.get(deviceId);
  if (!metrics) {
    metrics = new Map();
    devices.set(deviceId, metrics);
  }
  let series = metrics.get(metric);
  if (!series) {
    series = { value, ts, minute: new Map(), hour: new Map() };
    metrics.set(metric, series);
  }
  return series;
}

/** A reading waiting in the current chunk, with what its insert needs. */
interface Pending {
  readonly reading: NewReading;
  readonly ts: number;
  /** Index of its batch in the transaction. */
  readonly batch: number;
}

export type CommitBatches = (edgeId: string, batches: readonly (readonly NewReading[])[]) => CommitResult[];

/** Prepares the statements and returns the commit transaction (run it with `.immediate`). */
export function prepareCommit(db: SqliteDatabase.Database): SqliteDatabase.Transaction<CommitBatches> {
  const insert = new MultiRow(
    db,
    `INSERT OR IGNORE INTO readings (${READING_COLUMNS.join(", ")})`,
    READING_COLUMNS.length,
    "RETURNING seq",
  );
  // Served by readings_by_device_ts: ts is the device time whenever there is one.
  const sameReading = db.prepare(
    "SELECT 1 FROM readings WHERE device_id = ? AND ts = ? AND device_time_ms = ? AND values_json = ? LIMIT 1",
  );
  const up1m = new MultiRow(db, `INSERT INTO rollup_1m (${ROLLUP_COLUMNS.join(", ")})`, ROLLUP_COLUMNS.length, rollupConflict("rollup_1m"));
  const up1h = new MultiRow(db, `INSERT INTO rollup_1h (${ROLLUP_COLUMNS.join(", ")})`, ROLLUP_COLUMNS.length, rollupConflict("rollup_1h"));
  const upLatest = new MultiRow(
    db,
    "INSERT INTO latest (device_id, metric, value_json, ts)",
    4,
    `ON CONFLICT (device_id, metric) DO UPDATE SET value_json = excluded.value_json, ts = excluded.ts
     WHERE excluded.ts >= latest.ts`,
  );

  return db.transaction((edgeId: string, batches: readonly (readonly NewReading[])[]): CommitResult[] => {
    const now = Date.now();
    const insertedSeqs: number[][] = batches.map(() => []);
    const devices = new Map<string, Map<string, Series>>();
    let pending: Pending[] = [];
    let params: unknown[] = [];
    let identities = new Set<string>();

    const flush = (): void => {
      if (pending.length === 0) return;
      const returned = new Set(insert.statement(pending.length).pluck().all(params) as number[]);
      for (const p of pending) {
        // The first row of a seq in the chunk is the one inserted; a later copy was ignored.
        if (!returned.delete(p.reading.seq)) continue;
        insertedSeqs[p.batch]!.push(p.reading.seq);
        const { reading: r, ts } = p;
        for (const metric in r.values) {
          const value = r.values[metric]!;
          const series = seriesOf(devices, r.deviceId, metric, value, ts);
          if (ts >= series.ts) {
            series.value = value;
            series.ts = ts;
          }
          const n = numericValue(value);
          if (n === undefined) continue;
          fold(series.minute, ts - (ts % BUCKET_MS["1m"]), n);
          fold(series.hour, ts - (ts % BUCKET_MS["1h"]), n);
        }
      }
      pending = [];
      params = [];
      identities = new Set();
    };

    batches.forEach((readings, batch) => {
      for (const r of readings) {
        const ts = readingTs(r);
        const valuesJson = JSON.stringify(r.values);
        if (r.deviceTimeMs != null) {
          const identity = `${r.deviceId}\u0000${r.deviceTimeMs}\u0000${valuesJson}`;
          if (identities.has(identity)) flush();
          if (sameReading.get(r.deviceId, ts, r.deviceTimeMs, valuesJson)) continue;
          identities.add(identity);
        }
        pending.push({ reading: r, ts, batch });
        params.push(edgeId, r.seq, r.deviceId, r.deviceType, ts, r.deviceTimeMs ?? null, r.edgeTimeMs, r.receivedAt ?? now, valuesJson);
        if (pending.length === insert.chunk) flush();
      }
    });
    flush();

    const latestRows: unknown[] = [];
    const minuteRows: unknown[] = [];
    const hourRows: unknown[] = [];
    for (const [deviceId, metrics] of devices)
      for (const [metric, series] of metrics) {
        latestRows.push(deviceId, metric, JSON.stringify(series.value), series.ts);
        for (const [bucket, b] of series.minute) minuteRows.push(deviceId, metric, bucket, b.min, b.max, b.sum, b.count);
        for (const [bucket, b] of series.hour) hourRows.push(deviceId, metric, bucket, b.min, b.max, b.sum, b.count);
      }
    upLatest.run(latestRows);
    up1m.run(minuteRows);
    up1h.run(hourRows);
    return batches.map((readings, batch) => {
      const seqs = insertedSeqs[batch]!;
      return { inserted: seqs.length, duplicates: readings.length - seqs.length, insertedSeqs: seqs };
    });
  });
}
