/**
 * The outbox's SQLite schema. `seq` is `INTEGER PRIMARY KEY AUTOINCREMENT`: with AUTOINCREMENT,
 * SQLite never reuses a rowid, even after the highest rows are deleted (https://sqlite.org/autoinc.html),
 * which is what makes `(edgeId, seq)` an identity across acks and restarts.
 */
import { BvError } from "@bitvelocity/common";
import type Database from "better-sqlite3";

export const SCHEMA_VERSION = 2;
/**
 * The oldest schema an agent may have and still read and write a database of this schema. Agent
 * updates roll back (edge/deploy/README.md): an older agent then opens the newer agent's outbox.
 * Schema changes are therefore additive (new tables, new nullable columns) and keep this where it
 * is; a change older agents cannot write safely raises it, and they refuse to open the file
 * (OUTBOX_TOO_NEW) instead of damaging it. Kept in the database (meta.min_reader_version) so the
 * older agent learns it from the file it opens.
 */
export const MIN_READER_VERSION = 2;

const DDL = `
CREATE TABLE IF NOT EXISTS readings (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  lane           TEXT    NOT NULL,
  device_id      TEXT    NOT NULL,
  device_type    TEXT    NOT NULL,
  values_json    TEXT    NOT NULL,
  device_time_ms INTEGER,
  edge_time_ms   INTEGER NOT NULL,
  boot_id        TEXT    NOT NULL,
  uptime_ms      INTEGER NOT NULL,
  clock_synced   INTEGER NOT NULL,
  bytes          INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms   INTEGER NOT NULL,
  device_id TEXT    NOT NULL,
  topic     TEXT    NOT NULL,
  payload   BLOB    NOT NULL,
  reason    TEXT    NOT NULL,
  seq       INTEGER
);
CREATE INDEX IF NOT EXISTS readings_by_lane ON readings (lane, seq);
CREATE TABLE IF NOT EXISTS control (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  kind       TEXT    NOT NULL,
  body       BLOB    NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

/**
 * Opens the database for durable acknowledgements.
 * - WAL: readers (the drainer's peek) do not block the group commit.
 * - synchronous=FULL: in WAL mode, NORMAL skips the fsync of the WAL at each commit, so a
 *   committed transaction "might roll back following a power loss or system crash"
 *   (https://sqlite.org/pragma.html#pragma_synchronous). A PUBACK promises durability, so FULL;
 *   the group commit keeps the cost to one fsync per window, not per reading.
 */
export interface DatabaseTuning {
  /** `full` (default) fsyncs the WAL at every group commit; `normal` trades that for speed. */
  readonly synchronous: "full" | "normal";
  readonly busyTimeoutMs: number;
  /** The WAL is truncated to this size after a checkpoint (SD-card wear, bounded disk use). */
  readonly walLimitBytes: number;
}

export const DEFAULT_TUNING: DatabaseTuning = { synchronous: "full", busyTimeoutMs: 5000, walLimitBytes: 4 * 1024 * 1024 };

export function prepareDatabase(db: Database.Database, tuning: DatabaseTuning = DEFAULT_TUNING): void {
  checkSchemaVersion(db);
  // Only takes effect on a new, empty database: freed pages can then be returned to the file
  // system a few at a time (PRAGMA incremental_vacuum) instead of by a full VACUUM.
  db.pragma("auto_vacuum = INCREMENTAL");
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${tuning.synchronous === "full" ? "FULL" : "NORMAL"}`);
  db.pragma(`busy_timeout = ${tuning.busyTimeoutMs}`);
  db.pragma(`journal_size_limit = ${tuning.walLimitBytes}`);
  db.exec(DDL);
  const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
  if (!row) db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
  else if (Number(row.value) < SCHEMA_VERSION)
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION));
  // Never lowered: a newer agent's database keeps its version (and its min_reader_version) when an older one opens it.
  if ((db.pragma("user_version", { simple: true }) as number) < SCHEMA_VERSION) {
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    db.prepare("INSERT INTO meta (key, value) VALUES ('min_reader_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(
      String(MIN_READER_VERSION),
    );
  }
}

/**
 * An outbox written by a newer agent (PRAGMA user_version above ours) is opened only when that
 * agent said our schema may still write it; otherwise a clear refusal, and the file is left as it is.
 */
export function checkSchemaVersion(db: Database.Database, ours: number = SCHEMA_VERSION): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version <= ours) return;
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
  const row = hasMeta
    ? (db.prepare("SELECT value FROM meta WHERE key = 'min_reader_version'").get() as { value: string } | undefined)
    : undefined;
  const minReader = row ? Number(row.value) : version;
  if (minReader <= ours) return;
  throw new BvError(
    "OUTBOX_TOO_NEW",
    "fatal",
    `the outbox was written by a newer agent (schema ${version}, readable from schema ${minReader}); this agent has schema ${ours}. ` +
      "Nothing was changed: install that agent again (or a newer one) to deliver the readings it holds",
  );
}

/** Bytes the database's live pages take (the file minus its free pages). */
export function usedBytes(db: Database.Database): number {
  const pages = db.pragma("page_count", { simple: true }) as number;
  const free = db.pragma("freelist_count", { simple: true }) as number;
  const size = db.pragma("page_size", { simple: true }) as number;
  return (pages - free) * size;
}

/** Moves the readings sequence forward so that the next seq is above `floor` (never backwards). */
export function raiseSeqFloor(db: Database.Database, floor: number): void {
  const row = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'readings'").get() as { seq: number } | undefined;
  if (!row) db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('readings', ?)").run(floor);
  else if (row.seq < floor) db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'readings'").run(floor);
}

/** Reserves `count` seqs without storing readings (they are accounted for by a gap record). */
export function reserveSeqs(db: Database.Database, count: number): { first: number; last: number } {
  const row = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'readings'").get() as { seq: number } | undefined;
  const first = (row?.seq ?? 0) + 1;
  raiseSeqFloor(db, first + count - 1);
  return { first, last: first + count - 1 };
}

export interface ReadingRow {
  seq: number;
  lane: string;
  device_id: string;
  device_type: string;
  values_json: string;
  device_time_ms: number | null;
  edge_time_ms: number;
  boot_id: string;
  uptime_ms: number;
  clock_synced: number;
  bytes: number;
}

/** Approximate on-disk size of a reading: its text columns plus a fixed overhead for the integers. */
export function recordBytes(deviceId: string, deviceType: string, valuesJson: string, bootId: string): number {
  return Buffer.byteLength(valuesJson) + Buffer.byteLength(deviceId) + Buffer.byteLength(deviceType) + bootId.length + 56;
}
