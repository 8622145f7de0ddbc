/**
 * A corrupt outbox is moved aside and a fresh one started — never a crash loop, never a silent
 * loss of what is readable (DESIGN.md §3 promises 1, 4). What can still be read is copied into
 * the fresh file with its seqs; ranges that cannot be read become gap records; the sequence
 * continues above everything the old file ever handed out, so (edgeId, seq) stays an identity.
 */
import { existsSync, renameSync } from "node:fs";
import Database from "better-sqlite3";
import { ControlQueue } from "./control.js";
import { type DatabaseTuning, prepareDatabase, raiseSeqFloor } from "./schema.js";
import type { GapRecordInput } from "./types.js";

const CORRUPT_CODES = new Set([
  "SQLITE_CORRUPT",
  "SQLITE_NOTADB",
  "SQLITE_CORRUPT_VTAB",
  "SQLITE_CORRUPT_SEQUENCE",
  "SQLITE_CORRUPT_INDEX",
]);

export function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && (CORRUPT_CODES.has(code) || code.startsWith("SQLITE_CORRUPT"));
}

export interface RecoveryReport {
  /** Where the corrupt file now is. */
  readonly movedTo: string;
  readonly salvagedReadings: number;
  readonly salvagedControl: number;
  readonly lostRanges: readonly GapRecordInput[];
}

const READING_COLUMNS =
  "seq, lane, device_id, device_type, values_json, device_time_ms, edge_time_ms, boot_id, uptime_ms, clock_synced, bytes";

/** Moves `path` (and its WAL and shared-memory files) aside and salvages it into a fresh database at `path`. */
export function recoverCorrupt(path: string, tuning: DatabaseTuning, nowMs: number): RecoveryReport {
  const movedTo = `${path}.corrupt-${nowMs}`;
  for (const suffix of ["", "-wal", "-shm"]) {
    if (existsSync(path + suffix)) renameSync(path + suffix, movedTo + suffix);
  }
  const fresh = new Database(path);
  prepareDatabase(fresh, tuning);
  let old: Database.Database | undefined;
  try {
    old = new Database(movedTo, { readonly: true, fileMustExist: true });
  } catch {
    old = undefined;
  }
  const report = old ? salvage(old, fresh, nowMs) : { salvagedReadings: 0, salvagedControl: 0, lostRanges: [] };
  old?.close();
  fresh.close();
  return { movedTo, ...report };
}

function trySelect<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

function salvage(old: Database.Database, fresh: Database.Database, nowMs: number): Omit<RecoveryReport, "movedTo"> {
  const control = new ControlQueue(fresh, () => nowMs);
  const sequence = trySelect(
    () => (old.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'readings'").get() as { seq: number } | undefined)?.seq ?? 0,
    0,
  );
  const maxSeq = trySelect(() => (old.prepare("SELECT MAX(seq) AS m FROM readings").get() as { m: number | null }).m ?? 0, 0);
  const insert = fresh.prepare(`INSERT INTO readings (${READING_COLUMNS}) VALUES (${READING_COLUMNS.replace(/(\w+)/g, "@$1")})`);
  const range = trySelect(() => old.prepare(`SELECT ${READING_COLUMNS} FROM readings WHERE seq BETWEEN ? AND ? ORDER BY seq`), undefined);
  let salvagedReadings = 0;
  const lost: { first: number; last: number }[] = [];
  // Reads in seq ranges; a range that fails is halved until the unreadable part is pinned down.
  const copy = (first: number, last: number): void => {
    if (!range) return;
    try {
      const rows = range.all(first, last) as Record<string, unknown>[];
      fresh.transaction(() => {
        for (const row of rows) insert.run(row);
      })();
      salvagedReadings += rows.length;
    } catch {
      if (last - first < 64) {
        lost.push({ first, last });
        return;
      }
      const mid = Math.floor((first + last) / 2);
      copy(first, mid);
      copy(mid + 1, last);
    }
  };
  const highest = Math.max(sequence, maxSeq);
  const minSeq = trySelect(() => (old.prepare("SELECT MIN(seq) AS m FROM readings").get() as { m: number | null }).m ?? 1, 1);
  const nextAfter = trySelect(() => old.prepare("SELECT MIN(seq) AS m FROM readings WHERE seq > ?"), undefined);
  let first = Math.max(1, minSeq);
  while (range && nextAfter && first <= highest) {
    const last = Math.min(highest, first + 49_999);
    copy(first, last);
    // Jump over empty stretches (seqs are sparse after acks and earlier recoveries).
    first = trySelect(() => (nextAfter.get(last) as { m: number | null }).m ?? highest + 1, last + 1);
  }

  let salvagedControl = 0;
  const controlRows = trySelect(
    () => old.prepare("SELECT kind, body FROM control ORDER BY id").all() as { kind: string; body: Buffer }[],
    [],
  );
  for (const row of controlRows) {
    control.append(row.kind, row.body);
    salvagedControl++;
  }
  const lostRanges: GapRecordInput[] = lost.map(({ first, last }) => ({
    lane: "telemetry",
    firstSeq: first,
    lastSeq: last,
    count: last - first + 1,
    fromTimeMs: 0,
    toTimeMs: nowMs,
    reason: "outbox-corrupt",
  }));
  if (sequence > 0) {
    raiseSeqFloor(fresh, sequence);
  } else if (maxSeq > 0) {
    // The sequence is unreadable: seqs above the highest readable one may have been handed out
    // (and acknowledged), so the fresh sequence continues well above it.
    raiseSeqFloor(fresh, maxSeq + 1_000_000);
  } else {
    // Nothing readable: how many readings were lost is unknown (count 0 = unknown). Continue from
    // a time-based floor, far above anything a counter could have reached.
    const floor = Math.max(1_000_000_000, nowMs) * 1000;
    raiseSeqFloor(fresh, floor);
    lostRanges.push({ lane: "telemetry", firstSeq: 1, lastSeq: floor, count: 0, fromTimeMs: 0, toTimeMs: nowMs, reason: "outbox-corrupt" });
  }
  for (const gap of lostRanges) control.appendGap(gap);
  return { salvagedReadings, salvagedControl, lostRanges };
}
