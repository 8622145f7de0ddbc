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

  /**
   * Gives back `n` slots and wakes the connections that waited for room, oldest first, while room
   * is left (a woken connection takes what its own limits allow; one that finds no room waits
   * again, at the end). Waking only as many as there is room for keeps a release O(1) when many
   * connections wait, as they do under a flood.
   */
  release(n = 1): void {
    this.used = Math.max(0, this.used - n);
    while (this.waiting.length > 0 && this.used < this.size) (this.waiting.shift() as () => void)();
  }

  /** Calls `fn` once, at the next release that leaves room. */
  whenRoom(fn: () => void): void {
    this.waiting.push(fn);
  }
}
