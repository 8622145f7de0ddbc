/**
 * The control lane (DESIGN.md §3 promise 4): gap records, dead letters and command results.
 * Few and small, so each is committed at once in its own transaction; they are never evicted and
 * leave the outbox only when the cloud acknowledges their id. Bodies are stored as JSON documents
 * (control-body.ts); the uplink encodes its own wire message from them.
 */
import type Database from "better-sqlite3";
import { encodeControlBody } from "./control-body.js";
import type { ControlItem, DeadLetterInput, DeadLetterNotice, GapRecordInput } from "./types.js";

/** Forwarded to the cloud with a dead letter; the whole payload stays on the edge. */
const DEAD_LETTER_PREVIEW_BYTES = 1024;

export class ControlQueue {
  private readonly stmts;
  private pendingCount: number;

  constructor(
    private readonly db: Database.Database,
    private readonly now: () => number,
  ) {
    this.stmts = {
      insert: db.prepare("INSERT INTO control (kind, body, created_ms) VALUES (?, ?, ?)"),
      peek: db.prepare<[number, number], { id: number; kind: string; body: Buffer }>(
        "SELECT id, kind, body FROM control WHERE id > ? ORDER BY id LIMIT ?",
      ),
      delete: db.prepare("DELETE FROM control WHERE id = ?"),
      count: db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM control"),
    };
    this.pendingCount = this.stmts.count.get()?.n ?? 0;
  }

  /** Inserts inside the caller's transaction, if there is one. */
  append(kind: string, body: Uint8Array): number {
    const id = Number(this.stmts.insert.run(kind, Buffer.from(body), this.now()).lastInsertRowid);
    this.pendingCount++;
    return id;
  }

  appendGap(gap: GapRecordInput): number {
    const record: GapRecordInput = {
      lane: gap.lane,
      firstSeq: gap.firstSeq,
      lastSeq: gap.lastSeq,
      count: gap.count,
      fromTimeMs: gap.fromTimeMs,
      toTimeMs: gap.toTimeMs,
      reason: gap.reason,
    };
    return this.append("gap", encodeControlBody(record));
  }

  /** The cloud's notice of a dead letter: its payload cut to a preview. */
  appendDeadLetter(input: DeadLetterInput, timeMs: number): number {
    const notice: DeadLetterNotice = {
      deviceId: input.deviceId,
      topic: input.topic,
      payloadPreview: Buffer.from(input.payload.subarray(0, DEAD_LETTER_PREVIEW_BYTES)).toString("base64"),
      reason: input.reason,
      timeMs,
    };
    return this.append("deadLetter", encodeControlBody(notice));
  }

  peek(limit: number, afterId = 0): ControlItem[] {
    const rows = this.stmts.peek.all(afterId, Math.max(1, limit));
    return rows.map((r) => ({ id: r.id, kind: r.kind, body: new Uint8Array(r.body) }));
  }

  ack(ids: readonly number[]): void {
    if (ids.length === 0) return;
    let removed = 0;
    this.db.transaction(() => {
      for (const id of ids) removed += this.stmts.delete.run(id).changes;
    })();
    this.pendingCount -= removed;
  }

  /** Re-reads the count (after a rolled-back transaction). */
  refresh(): void {
    this.pendingCount = this.stmts.count.get()?.n ?? 0;
  }

  get pending(): number {
    return this.pendingCount;
  }
}
