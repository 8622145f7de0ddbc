/**
 * Rollups (1 min, 1 h) and latest values of the SQLite telemetry store, folded in memory across
 * commits and written later, per edge, in one transaction of their own (docs/edge-sync.md,
 * "Rollups"). A commit only inserts its readings: at 10,000 devices at 1 Hz each commit of 100
 * readings touched 1,200 rollup and latest rows on 1,200 different pages; folded over seconds, the
 * same rows are written once per bucket (bench/RESULTS.md, "Live fan-out, 10000 readings/s").
 *
 * Exact after a crash, from a durable cursor. Every reading is inserted with the generation (`gen`)
 * of its fold (one per edge and shard of its devices), and the commit records (gen, edge, lowest
 * seq, highest seq) of each fold it added to in `rollup_pending`, in the same transaction. A fold
 * is written together with the deletion of its pending row, in one transaction. So a reading's
 * values are in the rollups exactly when its pending row is gone: a crash before the fold's transaction leaves the pending rows, and opening
 * the store folds their readings again from the table (those of that edge, in that seq range, with
 * that gen: generations come from a counter in `telemetry_meta` and are never reused). A commit
 * that fails leaves its edge's folds uncertain; they are re-read from the table the same way.
 *
 * Reads stay exact: a rollup or latest query first writes the folds holding its device. One
 * process writes a telemetry.db (the cloud's data_dir); two processes writing one file are exact
 * unless one of them restarts while the other has folds pending.
 */
import type SqliteDatabase from "better-sqlite3";
import { MultiRow } from "./sqlite-multirow.js";
import { BUCKET_MS, numericValue, type TelemetryValue } from "./telemetry-store.js";

export const ROLLUP_SCHEMA = `
CREATE TABLE IF NOT EXISTS rollup_pending (gen INTEGER NOT NULL, edge_id TEXT NOT NULL, min_seq INTEGER NOT NULL,
  max_seq INTEGER NOT NULL, PRIMARY KEY (edge_id, gen)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS telemetry_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
`;

interface Aggregate {
  min: number;
  max: number;
  sum: number;
  count: number;
}

/** What a fold holds for one (device, metric): its latest value and its aggregates by bucket. */
interface Series {
  value: TelemetryValue;
  ts: number;
  readonly minute: Map<number, Aggregate>;
  readonly hour: Map<number, Aggregate>;
}

/** The readings of some of one edge's devices (a shard) since that fold was last written. */
export interface EdgeFold {
  readonly edgeId: string;
  readonly shard: number;
  /** The generation its readings are inserted with. */
  readonly gen: number;
  readonly devices: Map<string, Map<string, Series>>;
  /** Rows its write will upsert (series and buckets): bounds the fold's size. */
  rows: number;
  /** Seqs of the current commit's readings in this fold (recorded in rollup_pending at its end). */
  minSeq: number;
  maxSeq: number;
}

/**
 * An edge's devices are folded in SHARDS folds (by a hash of the device id), each written in its
 * own transaction, so no write holds the event loop long: an edge of 1,000 devices with four
 * metrics is ~12,000 rows, ~40 ms of SQLite in one piece, ~5 ms in eight.
 */
const SHARDS = 8;
/** A fold is written as soon as it would upsert this many rows (~10 ms of SQLite). */
const MAX_FOLD_ROWS = 4_000;

/**
 * The periodic round writes each fold once, in one of ROLLUP_SLOTS turns of its own (fixed per
 * edge and shard, an edge's shards spread evenly), not all folds at once: every fold written in one
 * burst held back the commits behind it by up to 130 ms (bench/RESULTS.md, "Live fan-out").
 */
export const ROLLUP_SLOTS = 40;

const ROLLUP_COLUMNS = ["device_id", "metric", "bucket", "min", "max", "sum", "count"];
const rollupConflict = (table: string) => `ON CONFLICT (device_id, metric, bucket) DO UPDATE SET
  min = min(${table}.min, excluded.min), max = max(${table}.max, excluded.max),
  sum = ${table}.sum + excluded.sum, count = ${table}.count + excluded.count`;

/** FNV-1a over an id's UTF-16 code units. */
function hash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The shard of a device. */
function shardOf(deviceId: string): number {
  return hash(deviceId) % SHARDS;
}

/** The turn of an edge's shard in the periodic round. */
function slotOf(edgeId: string, shard: number): number {
  return (hash(edgeId) + Math.floor((shard * ROLLUP_SLOTS) / SHARDS)) % ROLLUP_SLOTS;
}

export class DeferredRollups {
  /** Per edge, its folds by shard. */
  private readonly folds = new Map<string, (EdgeFold | undefined)[]>();
  /** Edges whose folds are uncertain (a commit failed, or the store was just opened): re-read before writing. */
  private readonly lost = new Set<string>();
  /** What to write next, one per call of writeNext: a fold, or a lost edge (all its pending readings). */
  private readonly queue = new Set<EdgeFold | string>();
  private readonly claimGen: SqliteDatabase.Statement;
  private readonly markPending: SqliteDatabase.Statement;
  private readonly pendingOf: SqliteDatabase.Statement;
  private readonly readingsOf: SqliteDatabase.Statement;
  private readonly clearPending: SqliteDatabase.Statement;
  private readonly clearPendingGen: SqliteDatabase.Statement;
  private readonly upLatest: MultiRow;
  private readonly up1m: MultiRow;
  private readonly up1h: MultiRow;
  private readonly writeTx: SqliteDatabase.Transaction<(what: EdgeFold | string) => void>;

  constructor(db: SqliteDatabase.Database) {
    this.claimGen = db
      .prepare(
        "INSERT INTO telemetry_meta (key, value) VALUES ('gen', 1) ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value",
      )
      .pluck();
    this.markPending = db.prepare(`INSERT INTO rollup_pending (gen, edge_id, min_seq, max_seq) VALUES (?, ?, ?, ?)
      ON CONFLICT (edge_id, gen) DO UPDATE SET min_seq = min(min_seq, excluded.min_seq), max_seq = max(max_seq, excluded.max_seq)`);
    this.pendingOf = db.prepare("SELECT gen, min_seq, max_seq FROM rollup_pending WHERE edge_id = ?");
    this.readingsOf = db
      .prepare("SELECT device_id, ts, values_json FROM readings WHERE edge_id = ? AND seq BETWEEN ? AND ? AND gen = ?")
      .raw(true);
    this.clearPending = db.prepare("DELETE FROM rollup_pending WHERE edge_id = ?");
    this.clearPendingGen = db.prepare("DELETE FROM rollup_pending WHERE edge_id = ? AND gen = ?");
    this.upLatest = new MultiRow(
      db,
      "INSERT INTO latest (device_id, metric, value_json, ts)",
      4,
      `ON CONFLICT (device_id, metric) DO UPDATE SET value_json = excluded.value_json, ts = excluded.ts
       WHERE excluded.ts >= latest.ts`,
    );
    this.up1m = new MultiRow(
      db,
      `INSERT INTO rollup_1m (${ROLLUP_COLUMNS.join(", ")})`,
      ROLLUP_COLUMNS.length,
      rollupConflict("rollup_1m"),
    );
    this.up1h = new MultiRow(
      db,
      `INSERT INTO rollup_1h (${ROLLUP_COLUMNS.join(", ")})`,
      ROLLUP_COLUMNS.length,
      rollupConflict("rollup_1h"),
    );
    this.writeTx = db.transaction((what: EdgeFold | string) => this.writeNow(what));
    // Whatever a previous process left pending (it stopped before writing its folds).
    for (const edgeId of db.prepare("SELECT DISTINCT edge_id FROM rollup_pending").pluck().all() as string[]) this.lost.add(edgeId);
    this.writeAll();
  }

  /** The fold of the device's shard of the edge; called inside a commit's transaction (a new fold claims its gen there). */
  fold(edgeId: string, deviceId: string): EdgeFold {
    let shards = this.folds.get(edgeId);
    if (!shards) {
      shards = new Array(SHARDS).fill(undefined);
      this.folds.set(edgeId, shards);
    }
    const shard = shardOf(deviceId);
    let f = shards[shard];
    if (!f) {
      f = {
        edgeId,
        shard,
        gen: this.claimGen.get() as number,
        devices: new Map(),
        rows: 0,
        minSeq: Infinity,
        maxSeq: -Infinity,
      };
      shards[shard] = f;
    }
    return f;
  }

  /** Adds an inserted reading to its fold (`seq` is recorded by `mark` at the end of the commit). */
  add(f: EdgeFold, seq: number, deviceId: string, ts: number, values: Readonly<Record<string, TelemetryValue>>): void {
    if (seq < f.minSeq) f.minSeq = seq;
    if (seq > f.maxSeq) f.maxSeq = seq;
    let metrics = f.devices.get(deviceId);
    if (!metrics) {
      metrics = new Map();
      f.devices.set(deviceId, metrics);
    }
    for (const metric in values) {
      const value = values[metric]!;
      let series = metrics.get(metric);
      if (!series) {
        series = { value, ts, minute: new Map(), hour: new Map() };
        metrics.set(metric, series);
        f.rows++;
      } else if (ts >= series.ts) {
        series.value = value;
        series.ts = ts;
      }
      const n = numericValue(value);
      if (n === undefined) continue;
      f.rows += aggregate(series.minute, ts - (ts % BUCKET_MS["1m"]), n) + aggregate(series.hour, ts - (ts % BUCKET_MS["1h"]), n);
    }
  }

  /** Records, in the commit's transaction, which readings the edge's folds now hold. */
  mark(edgeId: string): void {
    for (const f of this.folds.get(edgeId) ?? []) {
      if (!f || f.minSeq > f.maxSeq) continue;
      this.markPending.run(f.gen, edgeId, f.minSeq, f.maxSeq);
      f.minSeq = Infinity;
      f.maxSeq = -Infinity;
      if (f.rows >= MAX_FOLD_ROWS) this.queue.add(f);
    }
  }

  /** A commit of the edge failed: its folds may hold readings that were rolled back. */
  commitFailed(edgeId: string): void {
    // Their gens were claimed in that transaction and may be claimed again: the next commit starts new folds.
    for (const f of this.folds.get(edgeId) ?? []) if (f) this.queue.delete(f);
    this.folds.delete(edgeId);
    this.lost.add(edgeId);
    this.queue.add(edgeId);
  }

  /** Folds (and lost edges) waiting to be written. */
  get queued(): number {
    return this.queue.size;
  }

  /** Queues the folds whose turn of the periodic round `slot` is, and every lost edge. */
  queueSlot(slot: number): void {
    for (const edgeId of this.lost) this.queue.add(edgeId);
    for (const shards of this.folds.values()) for (const f of shards) if (f && slotOf(f.edgeId, f.shard) === slot) this.queue.add(f);
  }

  /** Queues every fold and lost edge for writing. */
  private queueAll(): void {
    for (const edgeId of this.lost) this.queue.add(edgeId);
    for (const shards of this.folds.values()) for (const f of shards) if (f) this.queue.add(f);
  }

  /** Writes the next queued fold in its own transaction; answers whether more are queued. A failure leaves it for the next round. */
  writeNext(): boolean {
    const [next] = this.queue;
    if (next === undefined) return false;
    this.queue.delete(next);
    this.write(next);
    return this.queue.size > 0;
  }

  /** Writes the folds that hold the device, so a query of its rollups or latest values sees every commit. */
  settle(deviceId: string): void {
    for (const edgeId of [...this.lost]) this.write(edgeId);
    const shard = shardOf(deviceId);
    for (const shards of this.folds.values()) {
      const f = shards[shard];
      if (f?.devices.has(deviceId)) this.write(f);
    }
  }

  writeAll(): void {
    this.queueAll();
    for (const what of [...this.queue]) {
      this.queue.delete(what);
      this.write(what);
    }
  }

  private write(what: EdgeFold | string): void {
    if (typeof what === "string" ? !this.lost.has(what) : this.folds.get(what.edgeId)?.[what.shard] !== what) return;
    this.writeTx.immediate(what);
    this.queue.delete(what);
    if (typeof what === "string") {
      // Every pending reading of the edge was re-read and written, its current folds' too.
      for (const f of this.folds.get(what) ?? []) if (f) this.queue.delete(f);
      this.folds.delete(what);
      this.lost.delete(what);
    } else {
      this.folds.get(what.edgeId)![what.shard] = undefined;
    }
  }

  /** One fold's rows and the deletion of its pending row; or, for a lost edge, all of its pending readings re-read. */
  private writeNow(what: EdgeFold | string): void {
    const f = typeof what === "string" ? this.reread(what) : what;
    const latestRows: unknown[] = [];
    const minuteRows: unknown[] = [];
    const hourRows: unknown[] = [];
    for (const [deviceId, metrics] of f.devices)
      for (const [metric, series] of metrics) {
        latestRows.push(deviceId, metric, JSON.stringify(series.value), series.ts);
        for (const [bucket, b] of series.minute) minuteRows.push(deviceId, metric, bucket, b.min, b.max, b.sum, b.count);
        for (const [bucket, b] of series.hour) hourRows.push(deviceId, metric, bucket, b.min, b.max, b.sum, b.count);
      }
    this.upLatest.run(latestRows);
    this.up1m.run(minuteRows);
    this.up1h.run(hourRows);
    if (typeof what === "string") this.clearPending.run(what);
    else this.clearPendingGen.run(what.edgeId, what.gen);
  }

  /** A lost edge's readings, all generations its pending rows name, re-read from the table into one fold. */
  private reread(edgeId: string): EdgeFold {
    const f: EdgeFold = { edgeId, shard: -1, gen: 0, devices: new Map(), rows: 0, minSeq: Infinity, maxSeq: -Infinity };
    for (const p of this.pendingOf.all(edgeId) as { gen: number; min_seq: number; max_seq: number }[])
      for (const [deviceId, ts, json] of this.readingsOf.iterate(edgeId, p.min_seq, p.max_seq, p.gen) as Iterable<[string, number, string]>)
        this.add(f, 0, deviceId, ts, JSON.parse(json) as Record<string, TelemetryValue>);
    return f;
  }
}

/** Folds a value into its bucket's aggregate; 1 when the bucket is new (a row more to write). */
function aggregate(buckets: Map<number, Aggregate>, bucket: number, n: number): number {
  const b = buckets.get(bucket);
  if (!b) {
    buckets.set(bucket, { min: n, max: n, sum: n, count: 1 });
    return 1;
  }
  if (n < b.min) b.min = n;
  if (n > b.max) b.max = n;
  b.sum += n;
  b.count++;
  return 0;
}
