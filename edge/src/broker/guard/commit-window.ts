/**
 * The broker-wide bound on PUBLISHes handed to aedes whose handling (for telemetry: the outbox
 * commit) has not finished yet. Each connection also has its own bound (guarded-stream.ts); this
 * one keeps the sum below the outbox's queue (`outbox.max_pending`), so a flood from many
 * clients waits in their sockets (TCP back-pressure) instead of overflowing the commit queue.
 */
export class CommitWindow {
  private used = 0;
  private waiting: Array<() => void> = [];

  constructor(readonly size: number) {}

  get inUse(): number {
    return this.used;
  }

  hasRoom(): boolean {
    return this.used < this.size;
  }

  /** Takes a slot; callers check `hasRoom` first. */
  take(): void {
    this.used++;
  }

  /** Gives back `n` slots and wakes the connections that waited for room. */
  release(n = 1): void {
    this.used = Math.max(0, this.used - n);
    if (this.waiting.length === 0 || this.used >= this.size) return;
    const wake = this.waiting;
    this.waiting = [];
    for (const fn of wake) fn();
  }

  /** Calls `fn` once, at the next release that leaves room. */
  whenRoom(fn: () => void): void {
    this.waiting.push(fn);
  }
}
