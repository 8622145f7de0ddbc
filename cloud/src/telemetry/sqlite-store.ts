/**
 * The embedded TelemetryStore: better-sqlite3 on `{data_dir}/telemetry.db` (WAL). Raw readings
 * are keyed by (edge, seq) and inserted with INSERT OR IGNORE into reading_rows, whose edge and
 * device are integer keys (sqlite-keys.ts, ADR 016; the view `readings` shows the text ids).
 * rollup_1m / rollup_1h and the per-metric latest table are folded from the rows actually
 * inserted, so replays never double count, and written every few seconds per edge, exactly once
 * across a crash (sqlite-rollups.ts; the write side of readings is sqlite-commit.ts). A reading is
 * also a duplicate when the same device already has a row with the same device time and values
 * under another seq: the device re-sent a QoS 1 PUBLISH that the edge had committed but could not
 * acknowledge (killed between commit and PUBACK), and the edge gave the copy a new seq. Readings
 * without a device time carry no such identity.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { BvError } from "@bitvelocity/common";
import SqliteDatabase from "better-sqlite3";
import { type CommitBatches, type CommitRequest, prepareCommit, type ReadingKeys } from "./sqlite-commit.js";
import { SqliteKeys } from "./sqlite-keys.js";
import { DeferredRollups, ROLLUP_SCHEMA, ROLLUP_SLOTS } from "./sqlite-rollups.js";
import {
  BUCKET_MS,
  type CommitResult,
  type LatestValues,
  type NewReading,
  type Resolution,
  type SeriesPoint,
  type StoredReading,
  type TelemetryStore,
  type TelemetryValue,
  type TimeRange,
} from "./telemetry-store.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS telemetry_edges (key INTEGER PRIMARY KEY, edge_id TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS telemetry_devices (key INTEGER PRIMARY KEY, device_id TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS reading_rows (
  edge_key INTEGER NOT NULL, seq INTEGER NOT NULL, device_key INTEGER NOT NULL, device_type TEXT NOT NULL,
  ts INTEGER NOT NULL, device_time_ms INTEGER, edge_time_ms INTEGER NOT NULL, received_at INTEGER NOT NULL,
  values_json TEXT NOT NULL, gen INTEGER NOT NULL, PRIMARY KEY (edge_key, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reading_rows_by_device_ts ON reading_rows (device_key, ts);
CREATE TABLE IF NOT EXISTS rollup_1m (device_id TEXT NOT NULL, metric TEXT NOT NULL, bucket INTEGER NOT NULL,
  min REAL NOT NULL, max REAL NOT NULL, sum REAL NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (device_id, metric, bucket)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_1h (device_id TEXT NOT NULL, metric TEXT NOT NULL, bucket INTEGER NOT NULL,
  min REAL NOT NULL, max REAL NOT NULL, sum REAL NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (device_id, metric, bucket)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS latest (device_id TEXT NOT NULL, metric TEXT NOT NULL, value_json TEXT NOT NULL,
  ts INTEGER NOT NULL, PRIMARY KEY (device_id, metric)) WITHOUT ROWID;
`;

/** The readings with their text ids, as files before integer keys held them (queries read this view). */
const READINGS_VIEW = `
CREATE VIEW IF NOT EXISTS readings AS
  SELECT e.edge_id, r.seq, d.device_id, r.device_type, r.ts, r.device_time_ms, r.edge_time_ms, r.received_at,
    r.values_json, r.gen
  FROM reading_rows r JOIN telemetry_edges e ON e.key = r.edge_key JOIN telemetry_devices d ON d.key = r.device_key;
`;

/**
 * A file from before integer keys holds its readings in a table named `readings`, keyed by text
 * ids: they move to reading_rows, in one transaction (a crash leaves the old layout, moved again
 * at the next open). A file from before deferred rollups has no `gen`: its readings are all in
 * the rollups already (gen 0).
 */
function migrateReadings(db: SqliteDatabase.Database): void {
  const oldTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'readings'");
  // Without an old table there is nothing to move, and no write lock to wait for.
  if (!oldTable.get()) return;
  db.transaction(() => {
    // Checked inside the transaction: another process may have moved them meanwhile.
    if (!oldTable.get()) return;
    const columns = db.prepare("SELECT name FROM pragma_table_info('readings')").pluck().all() as string[];
    const gen = columns.includes("gen") ? "r.gen" : "0";
    db.exec(`
      INSERT OR IGNORE INTO telemetry_edges (edge_id) SELECT DISTINCT edge_id FROM readings;
      INSERT OR IGNORE INTO telemetry_devices (device_id) SELECT DISTINCT device_id FROM readings;
      INSERT INTO reading_rows
        SELECT e.key, r.seq, d.key, r.device_type, r.ts, r.device_time_ms, r.edge_time_ms, r.received_at, r.values_json, ${gen}
        FROM readings r JOIN telemetry_edges e ON e.edge_id = r.edge_id JOIN telemetry_devices d ON d.device_id = r.device_id;
      DROP TABLE readings;`);
  }).immediate();
}

interface ReadingRow {
  edge_id: string;
  seq: number;
  device_id: string;
  device_type: string;
  ts: number;
  device_time_ms: number | null;
  edge_time_ms: number;
  received_at: number;
  values_json: string;
}

const MAX_LIMIT = 100_000;
/** Readings one group transaction takes at most (an edge's own group is up to 10,000). */
const GROUP_READINGS = 20_000;
/** How often every edge's rollup folds are written (a fold that grows big is written sooner), in ROLLUP_SLOTS turns. */
const ROLLUP_WRITE_MS = 5_000;

function clampLimit(limit: number | undefined, fallback: number): number {
  return Math.max(1, Math.min(MAX_LIMIT, Math.floor(limit ?? fallback)));
}

function range(query: TimeRange): [number, number] {
  return [query.from ?? Number.MIN_SAFE_INTEGER, query.to ?? Number.MAX_SAFE_INTEGER];
}

export class SqliteTelemetryStore implements TelemetryStore {
  private readonly db: SqliteDatabase.Database;
  private readonly commitTx: SqliteDatabase.Transaction<CommitBatches>;
  private readonly keys: ReadingKeys;
  private readonly rollups: DeferredRollups;
  private readonly rollupTimer: NodeJS.Timeout;
  /** The write of queued rollup folds, one per event-loop turn (so no turn holds them all). */
  private writing: NodeJS.Immediate | undefined;
  /**
   * Commits waiting for the end of the current event-loop turn: the commits of several edges (or of
   * a store-writer's partitions) that arrive together share one transaction and one fsync.
   */
  private readonly waiting: { request: CommitRequest; resolve: (r: CommitResult[]) => void; reject: (err: unknown) => void }[] = [];
  private committing: NodeJS.Immediate | undefined;

  constructor(file: string) {
    this.db = new SqliteDatabase(file);
    this.db.pragma("journal_mode = WAL");
    // FULL: an Ack tells the edge it may delete the readings, so the commit must survive a power cut
    // (in WAL mode NORMAL may roll back the last commits after an OS crash); one fsync per batch.
    this.db.pragma("synchronous = FULL");
    this.db.exec(SCHEMA);
    migrateReadings(this.db);
    this.db.exec(READINGS_VIEW);
    this.db.exec(ROLLUP_SCHEMA);
    this.rollups = new DeferredRollups(this.db);
    this.keys = {
      edges: new SqliteKeys(this.db, "telemetry_edges", "edge_id"),
      devices: new SqliteKeys(this.db, "telemetry_devices", "device_id"),
    };
    this.commitTx = prepareCommit(this.db, this.rollups, this.keys);
    let slot = 0;
    this.rollupTimer = setInterval(() => {
      this.rollups.queueSlot(slot);
      slot = (slot + 1) % ROLLUP_SLOTS;
      this.writeRollups();
    }, ROLLUP_WRITE_MS / ROLLUP_SLOTS);
    this.rollupTimer.unref();
  }

  private commit(edgeId: string, batches: readonly (readonly NewReading[])[]): Promise<CommitResult[]> {
    if (!this.db.open) return Promise.reject(new BvError("TELEMETRY_CLOSED", "transient", "the telemetry store is closed"));
    return new Promise((resolve, reject) => {
      this.waiting.push({ request: [edgeId, batches], resolve, reject });
      this.scheduleCommit();
    });
  }

  private scheduleCommit(): void {
    this.committing ??= setImmediate(() => {
      this.committing = undefined;
      this.commitNext();
      if (this.waiting.length > 0) this.scheduleCommit();
    });
  }

  /** One transaction for the commits waiting (at most GROUP_READINGS readings; the rest go next turn). */
  private commitNext(): void {
    let readings = 0;
    let take = 0;
    while (take < this.waiting.length && (take === 0 || readings < GROUP_READINGS)) {
      for (const b of this.waiting[take]!.request[1]) readings += b.length;
      take++;
    }
    const group = this.waiting.splice(0, take);
    try {
      const results = this.transact(group.map((w) => w.request));
      group.forEach((w, i) => {
        w.resolve(results[i]!);
      });
    } catch (err) {
      for (const w of group) this.rollups.commitFailed(w.request[0]);
      if (group.length === 1) group[0]!.reject(err);
      // One bad commit does not fail the others: each is tried alone.
      else
        for (const w of group) {
          try {
            w.resolve(this.transact([w.request])[0]!);
          } catch (one) {
            this.rollups.commitFailed(w.request[0]);
            w.reject(one);
          }
        }
    }
    // A fold that grew big is queued by the commit.
    this.writeRollups();
  }

  /** The commit transaction, and the keys it took kept only if it committed. */
  private transact(requests: readonly CommitRequest[]): CommitResult[][] {
    try {
      const results = this.commitTx.immediate(requests);
      this.keys.edges.commit();
      this.keys.devices.commit();
      return results;
    } catch (err) {
      this.keys.edges.rollback();
      this.keys.devices.rollback();
      throw err;
    }
  }

  /** Writes the queued folds, one per event-loop turn; a failed write is queued again by the next round. */
  private writeRollups(): void {
    if (this.writing || !this.db.open || this.rollups.queued === 0) return;
    this.writing = setImmediate(() => {
      this.writing = undefined;
      if (!this.db.open) return;
      let more: boolean;
      try {
        more = this.rollups.writeNext();
      } catch {
        // SQLITE_BUSY or a full disk: the fold and its pending row stay; the timer tries again.
        more = false;
      }
      if (more) this.writeRollups();
    });
  }

  static open(dataDir: string, fileName = "telemetry.db"): SqliteTelemetryStore {
    mkdirSync(dataDir, { recursive: true });
    return new SqliteTelemetryStore(join(dataDir, fileName));
  }

  async commitBatch(edgeId: string, readings: readonly NewReading[]): Promise<CommitResult> {
    return (await this.commit(edgeId, [readings]))[0]!;
  }

  /** Several batches of one edge in one transaction (group commit): one result per batch, in order. */
  async commitBatches(edgeId: string, batches: readonly (readonly NewReading[])[]): Promise<CommitResult[]> {
    return this.commit(edgeId, batches);
  }

  async readings(deviceId: string, query: TimeRange & { limit?: number | undefined }): Promise<StoredReading[]> {
    const [from, to] = range(query);
    const rows = this.db
      .prepare(`SELECT * FROM readings WHERE device_id = ? AND ts >= ? AND ts < ? ORDER BY ts, edge_id, seq LIMIT ?`)
      .all(deviceId, from, to, clampLimit(query.limit, 1000)) as ReadingRow[];
    return rows.map((row) => ({
      edgeId: row.edge_id,
      seq: row.seq,
      deviceId: row.device_id,
      deviceType: row.device_type,
      ts: row.ts,
      deviceTimeMs: row.device_time_ms,
      edgeTimeMs: row.edge_time_ms,
      receivedAt: row.received_at,
      values: JSON.parse(row.values_json) as Record<string, TelemetryValue>,
    }));
  }

  async series(
    deviceId: string,
    metric: string,
    query: TimeRange & { resolution: Resolution; limit?: number | undefined },
  ): Promise<SeriesPoint[]> {
    const [from, to] = range(query);
    const limit = clampLimit(query.limit, 10_000);
    if (query.resolution === "raw") {
      const rows = this.db
        .prepare(
          `SELECT ts, json_extract(values_json, '$.' || json_quote(?)) AS v FROM readings
           WHERE device_id = ? AND ts >= ? AND ts < ? ORDER BY ts, edge_id, seq`,
        )
        .all(metric, deviceId, from, to) as { ts: number; v: unknown }[];
      const points: SeriesPoint[] = [];
      for (const row of rows) {
        const n = typeof row.v === "number" ? row.v : undefined;
        if (n === undefined) continue;
        points.push({ ts: row.ts, min: n, max: n, avg: n, count: 1 });
        if (points.length >= limit) break;
      }
      return points;
    }
    this.rollups.settle(deviceId);
    const table = query.resolution === "1m" ? "rollup_1m" : "rollup_1h";
    const size = BUCKET_MS[query.resolution];
    // A bucket is included when it overlaps [from, to).
    const rows = this.db
      .prepare(
        `SELECT bucket, min, max, sum, count FROM ${table}
         WHERE device_id = ? AND metric = ? AND bucket > ? AND bucket < ? ORDER BY bucket LIMIT ?`,
      )
      .all(deviceId, metric, from === Number.MIN_SAFE_INTEGER ? from : from - size, to, limit) as {
      bucket: number;
      min: number;
      max: number;
      sum: number;
      count: number;
    }[];
    return rows.map((r) => ({ ts: r.bucket, min: r.min, max: r.max, avg: r.sum / r.count, count: r.count }));
  }

  async latest(deviceId: string): Promise<LatestValues> {
    this.rollups.settle(deviceId);
    const rows = this.db.prepare(`SELECT metric, value_json, ts FROM latest WHERE device_id = ?`).all(deviceId) as {
      metric: string;
      value_json: string;
      ts: number;
    }[];
    const out: LatestValues = {};
    for (const r of rows) out[r.metric] = { value: JSON.parse(r.value_json) as TelemetryValue, ts: r.ts };
    return out;
  }

  async check(): Promise<boolean> {
    try {
      this.db.prepare("SELECT 1").get();
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.committing) clearImmediate(this.committing);
    this.committing = undefined;
    // Commits already accepted are committed before the file closes.
    while (this.waiting.length > 0 && this.db.open) this.commitNext();
    clearInterval(this.rollupTimer);
    if (this.writing) clearImmediate(this.writing);
    this.writing = undefined;
    if (!this.db.open) return;
    try {
      this.rollups.writeAll();
    } finally {
      // Folds not written stay pending in the file; the next open writes them.
      this.db.close();
    }
  }
}
