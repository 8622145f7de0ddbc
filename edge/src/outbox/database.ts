/** Opening outbox.db and the statements the outbox prepares on it. */
import Database from "better-sqlite3";
import { type DatabaseTuning, prepareDatabase, type ReadingRow } from "./schema.js";
import type { Lane, StoredReading } from "./types.js";

export function openDatabase(path: string, tuning: DatabaseTuning): Database.Database {
  const db = new Database(path);
  try {
    prepareDatabase(db, tuning);
    // Touch every table once, so a damaged file is found now rather than at the first commit.
    db.prepare("SELECT COUNT(*) FROM readings").get();
    db.prepare("SELECT COUNT(*) FROM control").get();
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

type Stmt<P extends unknown[] = unknown[], R = unknown> = Database.Statement<P, R>;

/** The columns a reading is inserted with, in the order of the statement's parameters. */
const READING_COLUMNS = [
  "lane",
  "device_id",
  "device_type",
  "values_json",
  "device_time_ms",
  "edge_time_ms",
  "boot_id",
  "uptime_ms",
  "clock_synced",
  "bytes",
] as const;
/** Parameters per reading row. */
export const READING_PARAMS = READING_COLUMNS.length;
const READING_PLACEHOLDERS = `(${READING_COLUMNS.map(() => "?").join(", ")})`;
/**
 * Rows per multi-row INSERT, largest first: a group commit inserts its readings in statements of
 * these sizes. One statement of 128 rows costs about two thirds of 128 one-row statements in
 * better-sqlite3 (fewer statement steps and calls into the addon; bench/RESULTS.md).
 */
export const INSERT_CHUNKS = [128, 16, 4, 1] as const;

export interface Statements {
  /** `insertRows.get(n)`: an INSERT of n readings (n from INSERT_CHUNKS). */
  readonly insertRows: ReadonlyMap<number, Stmt>;
  readonly insertDead: Stmt;
  readonly trimDead: Stmt;
  readonly peekAll: Stmt<[number, number, number], PeekedRow>;
  readonly peekLane: Stmt<[string, number, number, number], PeekedRow>;
  readonly select: Stmt<[number], ReadingRow>;
  readonly delete: Stmt;
  readonly sizeOfRange: Stmt<[number, number], { n: number; b: number }>;
  readonly deleteRange: Stmt;
  readonly oldest: Stmt<[], { edge_time_ms: number }>;
  readonly lastSeq: Stmt<[], { seq: number }>;
  readonly totals: Stmt<[], { n: number; b: number }>;
  readonly deadCount: Stmt<[], { n: number }>;
}

export function statements(db: Database.Database): Statements {
  return {
    insertRows: new Map(
      INSERT_CHUNKS.map((n) => [
        n,
        db.prepare(`INSERT INTO readings (${READING_COLUMNS.join(", ")}) VALUES ${Array(n).fill(READING_PLACEHOLDERS).join(", ")}`),
      ]),
    ),
    insertDead: db.prepare("INSERT INTO dead_letters (time_ms, device_id, topic, payload, reason, seq) VALUES (?, ?, ?, ?, ?, ?)"),
    trimDead: db.prepare("DELETE FROM dead_letters WHERE id <= (SELECT MAX(id) FROM dead_letters) - ?"),
    peekAll: db
      .prepare<[number, number, number], PeekedRow>(`SELECT ${PEEK_COLUMNS} FROM readings WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`)
      .raw(true),
    peekLane: db
      .prepare<[string, number, number, number], PeekedRow>(
        `SELECT ${PEEK_COLUMNS} FROM readings WHERE lane = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?`,
      )
      .raw(true),
    select: db.prepare<[number], ReadingRow>("SELECT * FROM readings WHERE seq = ?"),
    delete: db.prepare("DELETE FROM readings WHERE seq = ? RETURNING bytes"),
    sizeOfRange: db.prepare<[number, number], { n: number; b: number }>(
      "SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM readings WHERE seq BETWEEN ? AND ?",
    ),
    deleteRange: db.prepare("DELETE FROM readings WHERE seq BETWEEN ? AND ?"),
    oldest: db.prepare<[], { edge_time_ms: number }>("SELECT edge_time_ms FROM readings ORDER BY seq LIMIT 1"),
    lastSeq: db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'readings'"),
    totals: db.prepare<[], { n: number; b: number }>("SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM readings"),
    deadCount: db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM dead_letters"),
  };
}

/**
 * A peeked reading as better-sqlite3 returns it in raw mode: an array in PEEK_COLUMNS' order. The
 * drainer reads thousands a batch; an array per row instead of an object per row halves the read
 * (bench/RESULTS.md, "Backlog drain").
 */
export type PeekedRow = [
  seq: number,
  lane: string,
  deviceId: string,
  deviceType: string,
  valuesJson: string,
  deviceTimeMs: number | null,
  edgeTimeMs: number,
  bootId: string,
  uptimeMs: number,
  clockSynced: number,
  bytes: number,
];
/** Where a PeekedRow holds the reading's stored size. */
export const PEEKED_BYTES = 10;
const PEEK_COLUMNS =
  "seq, lane, device_id, device_type, values_json, device_time_ms, edge_time_ms, boot_id, uptime_ms, clock_synced, bytes";

export function toStored(row: PeekedRow): StoredReading {
  const [seq, lane, deviceId, deviceType, valuesJson, deviceTimeMs, edgeTimeMs, bootId, uptimeMs, clockSynced, bytes] = row;
  return {
    seq,
    lane: lane as Lane,
    deviceId,
    deviceType,
    values: JSON.parse(valuesJson) as StoredReading["values"],
    ...(deviceTimeMs === null ? {} : { deviceTimeMs }),
    edgeTimeMs,
    bootId,
    uptimeMs,
    clockSynced: clockSynced === 1,
    bytes,
  };
}

/** [first, last] of each run of consecutive values, in ascending order. */
export function runs(values: readonly number[]): [number, number][] {
  const sorted = [...values].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (const v of sorted) {
    const last = out[out.length - 1];
    if (last && v === last[1] + 1) last[1] = v;
    else if (!last || v > last[1]) out.push([v, v]);
  }
  return out;
}
