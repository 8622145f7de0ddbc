/**
 * When one live client's buffer is written out (adaptive coalescing). A client that keeps up gets
 * what arrived at once: the write is only deferred to the end of the current event-loop turn
 * (setImmediate), so the readings of one commit leave as one packet. Batching starts only while
 * the client's transport has not drained the previous write (back-pressure): then new readings
 * collect in the client's bounded buffer and leave together as soon as the transport drains, or
 * when `windowMs` has passed, whichever comes first. A client that is so far behind that writing
 * more would only grow the transport's own (unbounded) queue is not written to at all; its
 * buffer stays bounded and drops its oldest readings (client-buffer.ts).
 *
 * So latency is one event-loop turn for a client that keeps up, and at most about one write's
 * transmission time (capped by the window) for one that is momentarily behind; nothing is dropped
 * for a client that keeps up, because its buffer is emptied on every drain.
 */

export interface FlushTarget {
  /** Earlier writes are not yet handed to the network: coalesce instead of writing. */
  busy(): boolean;
  /** So far behind that writing more would only queue without bound: keep the bounded buffer. */
  slow(): boolean;
  /** Writes (and empties) the client's buffer; nothing to do when it is empty. */
  write(): void;
}

export class FlushGate {
  private dirty = false;
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly target: FlushTarget,
    private readonly windowMs: number,
  ) {}

  /** Something was added to the client's buffer. */
  poke(): void {
    if (this.closed) return;
    this.dirty = true;
    if (this.immediate || this.timer) return;
    if (this.target.busy()) this.arm();
    else this.immediate = setImmediate(() => this.run(false));
  }

  /** The transport drained (is writable again): send what collected meanwhile. */
  drained(): void {
    if (this.closed || !this.dirty || this.immediate) return;
    this.disarm();
    this.immediate = setImmediate(() => this.run(false));
  }

  close(): void {
    this.closed = true;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.disarm();
  }

  /** `windowExpired`: the cap is reached, so write even though the transport is still busy. */
  private run(windowExpired: boolean): void {
    this.immediate = undefined;
    this.timer = undefined;
    if (this.closed || !this.dirty) return;
    if (this.target.slow() || (!windowExpired && this.target.busy())) {
      this.arm();
      return;
    }
    this.dirty = false;
    this.target.write();
  }

  private arm(): void {
    this.timer = setTimeout(() => this.run(true), this.windowMs);
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
