/**
 * One group commit (DESIGN.md §3 promise 1): every queued append in ONE transaction, with the
 * budget and the lanes' policies applied inside it (retention.ts), then each append settled with
 * its seq, or refused when its lane is full with policy `reject`. A dropped reading still gets a
 * seq: the one its gap record names.
 */
import { BvError } from "@bitvelocity/common";
import type Database from "better-sqlite3";
import type { Pending } from "./commit-queue.js";
import type { ControlQueue } from "./control.js";
import type { Counts } from "./counts.js";
import { INSERT_CHUNKS, READING_PARAMS, type Statements } from "./database.js";
import type { OutboxMetrics } from "./metrics.js";
import type { Admission, Retention } from "./retention.js";
import type { Lane } from "./types.js";

export const MAX_DEAD_LETTERS = 10_000;

export interface CommitOutcome {
  readonly seqs: number[];
  readonly admitted: Admission[];
  /** Bytes handed to SQLite (SD-card wear). */
  readonly written: number;
}

export interface CommitParts {
  readonly db: Database.Database;
  readonly stmts: Statements;
  readonly retention: Retention;
  readonly control: ControlQueue;
}

/** Writes the batch in one transaction; throws (and writes nothing) if the transaction fails. */
export function commitBatch(parts: CommitParts, batch: readonly Pending[], now: number): CommitOutcome {
  const { db, stmts, retention, control } = parts;
  const incoming = new Map<Lane, number>();
  for (const item of batch) {
    if (item.kind === "reading") incoming.set(item.row.lane as Lane, (incoming.get(item.row.lane as Lane) ?? 0) + item.row.bytes);
  }
  const seqs: number[] = new Array(batch.length).fill(0);
  const admitted: Admission[] = new Array(batch.length).fill("store");
  let written = 0;
  try {
    db.transaction(() => {
      const admission = incoming.size > 0 ? retention.admit(incoming) : new Map<Lane, Admission>();
      const dropped = new Map<Lane, number[]>();
      let dead = 0;
      // Readings to store, by their index in the batch; inserted after the loop, in batch order.
      const stored: number[] = [];
      batch.forEach((item, i) => {
        if (item.kind === "reading") {
          const lane = item.row.lane as Lane;
          const decision = admission.get(lane) ?? "store";
          admitted[i] = decision;
          if (decision === "store") {
            stored.push(i);
            written += item.row.bytes;
          } else if (decision === "drop") {
            const list = dropped.get(lane) ?? [];
            list.push(i);
            dropped.set(lane, list);
          }
        } else {
          const { deviceId, topic, payload, reason } = item.input;
          seqs[i] = Number(stmts.insertDead.run(now, deviceId, topic, Buffer.from(payload), reason, null).lastInsertRowid);
          control.appendDeadLetter(item.input, now);
          written += payload.byteLength + reason.length + topic.length + 40;
          dead++;
        }
      });
      insertReadings(stmts, batch, stored, seqs);
      for (const [lane, indexes] of dropped) {
        const range = retention.recordDropped(lane, indexes.length, now);
        indexes.forEach((index, k) => {
          seqs[index] = range.first + k;
        });
      }
      if (dead > 0) stmts.trimDead.run(MAX_DEAD_LETTERS);
    })();
  } catch (err) {
    control.refresh();
    throw err;
  }
  return { seqs, admitted, written };
}

/** Reusable parameter arrays, one per statement size: no array of 1,280 values allocated per commit. */
const paramsBySize = new Map<number, unknown[]>(INSERT_CHUNKS.map((n) => [n, new Array(n * READING_PARAMS)]));

/**
 * Inserts the readings at `indexes` of the batch, in that order, in multi-row statements, and sets
 * their seqs. The table's seq is AUTOINCREMENT and nothing else inserts into it during the
 * transaction, so one statement's rows get consecutive seqs ending at its last insert rowid.
 */
function insertReadings(stmts: Statements, batch: readonly Pending[], indexes: readonly number[], seqs: number[]): void {
  let next = 0;
  while (next < indexes.length) {
    const left = indexes.length - next;
    const n = INSERT_CHUNKS.find((size) => size <= left) as number;
    const params = paramsBySize.get(n) as unknown[];
    let p = 0;
    for (let k = 0; k < n; k++) {
      const r = (batch[indexes[next + k] as number] as Extract<Pending, { kind: "reading" }>).row;
      // In database.ts' READING_COLUMNS order, written out: a loop over the names costs a keyed lookup per column.
      params[p++] = r.lane;
      params[p++] = r.device_id;
      params[p++] = r.device_type;
      params[p++] = r.values_json;
      params[p++] = r.device_time_ms;
      params[p++] = r.edge_time_ms;
      params[p++] = r.boot_id;
      params[p++] = r.uptime_ms;
      params[p++] = r.clock_synced;
      params[p++] = r.bytes;
    }
    const info = (stmts.insertRows.get(n) as Database.Statement).run(params);
    if (info.changes !== n) throw new Error(`outbox insert stored ${info.changes} of ${n} readings`);
    const last = Number(info.lastInsertRowid);
    for (let k = 0; k < n; k++) seqs[indexes[next + k] as number] = last - n + 1 + k;
    next += n;
  }
}

export interface SettleResult {
  /** Readings stored by this commit. */
  readonly added: number;
  /** Readings refused (their lane is full with policy reject). */
  readonly refused: number;
}

/** Settles each append of a committed batch and updates the running counts. */
export function settleBatch(batch: readonly Pending[], outcome: CommitOutcome, counts: Counts, metrics: OutboxMetrics): SettleResult {
  metrics.commits.inc();
  metrics.bytesWritten.inc(outcome.written);
  counts.bytesWritten += outcome.written;
  let added = 0;
  let refused = 0;
  batch.forEach((item, i) => {
    if (item.kind === "dead") {
      counts.deadLetters++;
      metrics.deadLetters.inc({ reason: item.label });
      item.resolve(outcome.seqs[i] as number);
      return;
    }
    const decision = outcome.admitted[i];
    if (decision === "reject") {
      refused++;
      item.reject(new BvError("OUTBOX_FULL", "transient", "the outbox is at its byte budget and this lane's policy is reject"));
      return;
    }
    if (decision === "store") {
      if (counts.readings === 0) counts.oldestEdgeTimeMs = item.row.edge_time_ms;
      counts.readings++;
      counts.bytes += item.row.bytes;
      added++;
    }
    item.resolve(outcome.seqs[i] as number);
  });
  if (refused > 0) metrics.refused.inc({ reason: "full" }, refused);
  return { added, refused };
}

/** The error every append of a failed commit is rejected with. */
export function commitFailure(err: unknown): BvError {
  const code = sqliteCode(err);
  if (code === "SQLITE_FULL") {
    return new BvError("OUTBOX_DISK_FULL", "transient", "outbox commit failed: the disk is full", { cause: err });
  }
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") {
    return new BvError("OUTBOX_LOCKED", "transient", "outbox commit failed: the database is locked by another process", { cause: err });
  }
  return new BvError("OUTBOX_WRITE_FAILED", "transient", `outbox commit failed: ${(err as Error).message}`, { cause: err });
}

/** better-sqlite3's error code (`SQLITE_FULL`, …), if the error carries one. */
export function sqliteCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null || !("code" in err)) return undefined;
  return typeof err.code === "string" ? err.code : undefined;
}
