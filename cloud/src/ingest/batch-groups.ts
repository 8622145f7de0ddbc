/**
 * Group commit for one EdgeSync stream (docs/edge-sync.md, "Group commit"). The stream's messages
 * are processed strictly in order on one queue. A telemetry batch joins the group still waiting on
 * that queue when there is one (a commit is running ahead of it) and the group has room; otherwise
 * it opens a new group. A group stops taking batches when its turn comes, or as soon as any other
 * message is queued behind it, so the order of the stream holds. One group is one transaction in
 * the telemetry store; each batch in it is acked after that transaction commits.
 */
import type { TelemetryBatch } from "@bitvelocity/proto";

/** At most this many batches, and this many readings, share one transaction. */
export const GROUP_LIMITS = { batches: 16, readings: 10_000 } as const;

export class BatchGroups {
  private open: TelemetryBatch[] | undefined;
  private readings = 0;

  constructor(private readonly limits: { readonly batches: number; readonly readings: number } = GROUP_LIMITS) {}

  /**
   * Adds the batch to the group waiting for its turn; returns a new group (to be queued) when
   * there is none or it is full.
   */
  add(batch: TelemetryBatch): TelemetryBatch[] | undefined {
    const n = batch.readings.length;
    const open = this.open;
    if (open && open.length < this.limits.batches && this.readings + n <= this.limits.readings) {
      open.push(batch);
      this.readings += n;
      return undefined;
    }
    const group = [batch];
    this.open = group;
    this.readings = n;
    return group;
  }

  /** The waiting group takes no more batches (its turn came, or another message was queued). */
  close(group?: TelemetryBatch[]): void {
    if (group === undefined || this.open === group) this.open = undefined;
  }
}
