/**
 * The control lane (DESIGN.md §3 promise 4): gap records, dead letters and command results.
 * Few and small, so each is committed at once in its own transaction; they are never evicted and
 * leave the outbox only when the cloud acknowledges their id.
 */
import { EdgeMessage } from "@bitvelocity/proto";
import type Database from "better-sqlite3";
import type { ControlItem, GapRecordInput } from "./types.js";

const LANE_NUMBERS = { control: 1, alarm: 2, telemetry: 3 } as const;

export class ControlQueue {
  private readonly stmts;
  private pendingCount: number;

  constructor(
    private readonly db: Database.Database,
    private readonly now: () => number,
  ) {
    this.stmts = {
      insert: db.prepare("INSERT INTO control (kind, body, created_ms) VALUES (?, ?, ?)"),
      peek: db.prepare("SELECT id, kind, body FROM control WHERE id > ? ORDER BY id LIMIT ?"),
      delete: db.prepare("DELETE FROM control WHERE id = ?"),
      count: db.prepare("SELECT COUNT(*) AS n FROM control"),
    };
    this.pendingCount = (this.stmts.count.get() as { n: number }).n;
  }

  /** Inserts inside the caller's transaction, if there is one. */
  append(kind: string, body: Uint8Array): number {
    const id = Number(this.stmts.insert.run(kind, Buffer.from(body), this.now()).lastInsertRowid);
    this.pendingCount++;
    return id;
  }

  appendGap(gap: GapRecordInput): number {
    const body = EdgeMessage.encode({
      kind: {
        $case: "gap",
        gap: {
          lane: LANE_NUMBERS[gap.lane],
          firstSeq: gap.firstSeq,
          lastSeq: gap.lastSeq,
          count: gap.count,
          fromTimeMs: gap.fromTimeMs,
          toTimeMs: gap.toTimeMs,
          reason: gap.reason,
        },
      },
    }).finish();
    return this.append("gap", body);
  }

  peek(limit: number, afterId = 0): ControlItem[] {
    const rows = this.stmts.peek.all(afterId, Math.max(1, limit)) as { id: number; kind: string; body: Buffer }[];
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
    this.pendingCount = (this.stmts.count.get() as { n: number }).n;
  }

  get pending(): number {
    return this.pendingCount;
  }
}
