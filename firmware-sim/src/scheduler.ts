/**
 * One timer for the whole fleet. Ten thousand devices each holding their own setTimeout cost
 * memory and timer-list churn; here every device's next reading sits in one binary heap (by due
 * time) and a single Node timer is armed for the earliest one. Cancelling is lazy: an entry whose
 * token no longer matches its task's token is skipped when it comes due.
 */

export interface ScheduledTask {
  /** Bumped by the scheduler on every at()/cancel(); entries with an older token are stale. */
  scheduleToken: number;
  runScheduled(): void;
}

interface Entry {
  readonly due: number;
  readonly task: ScheduledTask;
  readonly token: number;
}

/** Timers closer than this are run in the same turn rather than re-armed (Node's timer resolution is 1 ms). */
const SLACK_MS = 1;

export class FleetScheduler {
  private readonly heap: Entry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Number.POSITIVE_INFINITY;
  private stopped = false;

  constructor(private readonly now: () => number = () => performance.now()) {}

  get size(): number {
    return this.heap.length;
  }

  /** Runs `task.runScheduled()` in `delayMs`; replaces any earlier schedule of the same task. */
  at(task: ScheduledTask, delayMs: number): void {
    if (this.stopped) return;
    task.scheduleToken += 1;
    const entry = { due: this.now() + Math.max(0, delayMs), task, token: task.scheduleToken };
    this.push(entry);
    if (entry.due < this.armedFor) this.arm();
  }

  cancel(task: ScheduledTask): void {
    task.scheduleToken += 1;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.heap.length = 0;
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    const first = this.heap[0];
    if (!first) {
      this.timer = undefined;
      this.armedFor = Number.POSITIVE_INFINITY;
      return;
    }
    this.armedFor = first.due;
    this.timer = setTimeout(() => this.run(), Math.max(0, first.due - this.now()));
  }

  private run(): void {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    const limit = this.now() + SLACK_MS;
    let first = this.heap[0];
    while (first && first.due <= limit && !this.stopped) {
      this.pop();
      if (first.token === first.task.scheduleToken) {
        try {
          first.task.runScheduled();
        } catch {
          // A failing device must not stop the fleet's clock; the device counts its own errors.
        }
      }
      first = this.heap[0];
    }
    if (!this.stopped) this.arm();
  }

  private push(entry: Entry): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.due <= entry.due) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = entry;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (!last || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let mDue = last.due;
      if (l < h.length && h[l]!.due < mDue) {
        m = l;
        mDue = h[l]!.due;
      }
      if (r < h.length && h[r]!.due < mDue) m = r;
      if (m === i) break;
      h[i] = h[m]!;
      i = m;
    }
    h[i] = last;
  }
}
