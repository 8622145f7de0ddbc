/**
 * The group-commit queue: appends wait in memory until the next commit, which runs
 * `commitIntervalMs` after the first of them, or at once when `batchSize` are queued. The commit
 * itself (one transaction, one fsync) is the outbox's; this only collects and times.
 */
import { BvError } from "@bitvelocity/common";
import type { ReadingRow } from "./schema.js";
import type { DeadLetterInput } from "./types.js";

type Settle = { resolve: (seq: number) => void; reject: (err: Error) => void };

/** An append waiting for its commit: a reading, or a dead letter refused at the edge. */
export type Pending =
  | ({ kind: "reading"; row: Omit<ReadingRow, "seq"> } & Settle)
  | ({ kind: "dead"; input: DeadLetterInput; label: string } & Settle);

export interface CommitQueueOptions {
  readonly commitIntervalMs: number;
  readonly maxPending: number;
  /** Queue length that triggers a commit without waiting for the window. */
  readonly batchSize: number;
}

export class CommitQueue {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly options: CommitQueueOptions,
    /** Runs the commit of everything queued (calls `take`). */
    private readonly commit: () => void,
    /** Told when an append is refused because too many wait already. */
    private readonly onBusy: () => void,
  ) {}

  /** Queues an append; the promise settles when its commit does. */
  add(item: (settle: Settle) => Pending): Promise<number> {
    if (this.closed) return Promise.reject(new BvError("OUTBOX_CLOSED", "transient", "the outbox is closed"));
    if (this.queue.length >= this.options.maxPending) {
      this.onBusy();
      return Promise.reject(new BvError("OUTBOX_BUSY", "transient", `${this.queue.length} appends already wait for a commit`));
    }
    return new Promise<number>((resolve, reject) => {
      this.queue.push(item({ resolve, reject }));
      if (this.queue.length >= this.options.batchSize) {
        this.schedule(0);
      } else if (!this.timer) {
        this.schedule(this.options.commitIntervalMs);
      }
    });
  }

  /** Everything queued, in order; the queue is empty afterwards and the commit timer stopped. */
  take(): Pending[] {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed) return [];
    const batch = this.queue;
    this.queue = [];
    return batch;
  }

  /** Appends after this are refused (`OUTBOX_CLOSED`); call `take` first to commit what waits. */
  close(): void {
    this.closed = true;
  }

  get length(): number {
    return this.queue.length;
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.commit(), ms);
  }
}
