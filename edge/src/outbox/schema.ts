/**
 * The outbox's SQLite schema. `seq` is `INTEGER PRIMARY KEY AUTOINCREMENT`: with AUTOINCREMENT,
 * SQLite never reuses a rowid, even after the highest rows are deleted (https://sqlite.org/autoinc.html),
 * which is what makes `(edgeId, seq)` an identity across acks and restarts.
 */
import type Database from "better-sqlite3";

export const SCHEMA_VERSION = 1;

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
export function prepareDatabase(db: Database.Database): void {
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("busy_timeout = 5000");
  db.exec(DDL);
  const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
  if (!row) db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
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
