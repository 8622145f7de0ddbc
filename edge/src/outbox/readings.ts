/**
 * The drainer's side of the readings table: peek in seq order within count and byte bounds,
 * delete what the cloud committed, move what it refused to the dead letters. Each runs inside the
 * outbox's recovery guard and keeps the running counts.
 */
import type Database from "better-sqlite3";
import type { Counts } from "./counts.js";
import { PEEKED_BYTES, runs, type Statements, toStored } from "./database.js";
import { MAX_DEAD_LETTERS } from "./group-commit.js";
import type { PeekOptions, StoredReading } from "./types.js";

export function peekReadings(stmts: Statements, options: PeekOptions): StoredReading[] {
  const after = options.afterSeq ?? 0;
  const upTo = options.upToSeq ?? Number.MAX_SAFE_INTEGER;
  const limit = Math.max(1, options.limit);
  const rows = options.lane ? stmts.peekLane.all(options.lane, after, upTo, limit) : stmts.peekAll.all(after, upTo, limit);
  const out: StoredReading[] = [];
  let bytes = 0;
  for (const row of rows) {
    // Always return at least one reading, so one large reading cannot stall the queue.
    const size = row[PEEKED_BYTES];
    if (out.length > 0 && bytes + size > options.maxBytes) break;
    bytes += size;
    out.push(toStored(row));
  }
  return out;
}

/** Deletes the acknowledged readings in one transaction. Unknown seqs are ignored. */
export function deleteAcked(db: Database.Database, stmts: Statements, counts: Counts, seqs: readonly number[]): void {
  db.transaction(() => {
    // A batch is mostly one run of consecutive seqs: one range delete per run, not one per reading.
    for (const [first, last] of runs(seqs)) {
      const size = stmts.sizeOfRange.get(first, last) ?? { n: 0, b: 0 };
      stmts.deleteRange.run(first, last);
      counts.readings -= size.n;
      counts.bytes -= size.b;
    }
  })();
}

/** Moves refused readings to the dead-letter table with the cloud's reason; returns how many moved. */
export function moveRejected(
  db: Database.Database,
  stmts: Statements,
  counts: Counts,
  rejected: readonly { readonly seq: number; readonly reason: string }[],
  now: number,
): number {
  let moved = 0;
  db.transaction(() => {
    for (const { seq, reason } of rejected) {
      const row = stmts.select.get(seq);
      if (!row) continue;
      stmts.delete.run(seq);
      counts.readings--;
      counts.bytes -= row.bytes;
      stmts.insertDead.run(now, row.device_id, `bv/${row.device_id}/telemetry`, Buffer.from(row.values_json), reason, seq);
      moved++;
    }
    stmts.trimDead.run(MAX_DEAD_LETTERS);
  })();
  return moved;
}
