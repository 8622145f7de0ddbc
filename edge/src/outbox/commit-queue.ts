/**
 * The group-commit queue: appends wait in memory until the next commit. Commits start at most
 * once per `commitIntervalMs` (one fsync per window): an append after a quiet window is committed
 * at the end of this turn of the event loop (with everything else read in it), otherwise when the
 * window since the last commit has passed, or at once when `batchSize` are queued or
 * `awaitedBatchSize` of them are awaited (a device waits for their PUBACK: a smaller group
 * returns its acknowledgements sooner, and the device sends its next reading sooner). Under load the
 * commits follow each other back to back, each taking what arrived during the last; at a trickle
 * a reading waits at most one window. The commit itself (one transaction, one fsync) is the
 * outbox's; this only collects and times.
 */
import { BvError } from "@bitvelocity/common";
import type { ReadingRow } from "./schema.js";
import type { DeadLetterInput } from "./types.js";

/** How long an append refused by a full commit queue waits before it is tried again. */
export const BUSY_RETRY_MS = 10;

type Settle = { resolve: (seq: number) => void; reject: (err: Error) => void; readonly awaited?: boolean };

/** An append waiting for its commit: a reading, or a dead letter refused at the edge. */
export type Pending =
  | ({ kind: "reading"; row: Omit<ReadingRow, "seq"> } & Settle)
  | ({ kind: "dead"; input: DeadLetterInput; label: string } & Settle);

export interface CommitQueueOptions {
  readonly commitIntervalMs: number;
  readonly maxPending: number;
  /** Queue length that triggers a commit without waiting for the window. */
  readonly batchSize: number;
  /** Awaited appends (`Pending.awaited`) that trigger a commit without waiting for the window. */
  readonly awaitedBatchSize: number;
}

export class CommitQueue {
  private queue: Pending[] = [];
  private awaited = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** When the last commit took its batch (ms, monotonic). */
  private lastCommit = Number.NEGATIVE_INFINITY;
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
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    return new Promise<number>((resolve, reject) => this.enqueue(item({ resolve, reject })));
  }

  /**
   * `add` without a promise, for the broker's hot path: the item's own `resolve`/`reject` settle it.
   * Returns the refusal (`OUTBOX_CLOSED`, `OUTBOX_BUSY`) instead of queueing, synchronously.
   */
  offer(item: Pending): BvError | undefined {
    const refused = this.refusal();
    if (!refused) this.enqueue(item);
    return refused;
  }

  private refusal(): BvError | undefined {
    if (this.closed) return new BvError("OUTBOX_CLOSED", "transient", "the outbox is closed");
    if (this.queue.length >= this.options.maxPending) {
      this.onBusy();
      return new BvError("OUTBOX_BUSY", "transient", `${this.queue.length} appends already wait for a commit`);
    }
    return undefined;
  }

  private enqueue(item: Pending): void {
    this.queue.push(item);
    if (item.awaited) this.awaited++;
    if (this.immediate) return;
    if (this.queue.length >= this.options.batchSize || this.awaited >= this.options.awaitedBatchSize) {
      this.schedule(0);
    } else if (!this.timer) {
      this.schedule(this.lastCommit + this.options.commitIntervalMs - performance.now());
    }
  }

  /** Everything queued, in order; the queue is empty afterwards and the commit timer stopped. */
  take(): Pending[] {
    this.unschedule();
    this.lastCommit = performance.now();
    if (this.closed) return [];
    const batch = this.queue;
    this.queue = [];
    this.awaited = 0;
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
    this.unschedule();
    // setTimeout(0) waits a millisecond; setImmediate runs once this turn's I/O is handled.
    if (ms <= 0) this.immediate = setImmediate(() => this.commit());
    else this.timer = setTimeout(() => this.commit(), ms);
  }

  private unschedule(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }
}
