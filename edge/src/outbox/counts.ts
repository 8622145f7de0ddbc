/**
 * The outbox's running counts, kept in memory so that stats and metrics never scan the tables;
 * counted down by a commit's evictions (they know what they deleted), re-read from the database
 * after anything else that deletes in bulk (TTL expiry, recovery).
 */
import type { Statements } from "./database.js";
import type { OutboxMetrics } from "./metrics.js";
import type { Deleted } from "./retention.js";
import type { GapRecordInput } from "./types.js";

export class Counts {
  readings = 0;
  bytes = 0;
  oldestEdgeTimeMs = 0;
  deadLetters = 0;
  bytesWritten = 0;
  evicted = 0;
  gaps = 0;

  /** Re-reads what the tables hold (readings, bytes, oldest, and dead letters when asked). */
  reload(stmts: Statements, withDeadLetters = false): void {
    const totals = stmts.totals.get() ?? { n: 0, b: 0 };
    this.readings = totals.n;
    this.bytes = totals.b;
    if (withDeadLetters) this.deadLetters = stmts.deadCount.get()?.n ?? 0;
    this.refreshOldest(stmts);
  }

  /** A commit's evictions deleted these readings: counted down without scanning the table. */
  countEvicted(stmts: Statements, deleted: Deleted): void {
    this.readings -= deleted.count;
    this.bytes -= deleted.bytes;
    this.refreshOldest(stmts);
  }

  refreshOldest(stmts: Statements): void {
    this.oldestEdgeTimeMs = stmts.oldest.get()?.edge_time_ms ?? 0;
  }

  /** Counts committed gap records; returns the readings they account for. */
  addGaps(gaps: readonly GapRecordInput[], metrics: OutboxMetrics): number {
    let evicted = 0;
    for (const gap of gaps) {
      this.gaps++;
      metrics.gaps.inc({ lane: gap.lane, reason: gap.reason });
      metrics.evicted.inc({ lane: gap.lane, reason: gap.reason }, gap.count);
      this.evicted += gap.count;
      evicted += gap.count;
    }
    return evicted;
  }
}
