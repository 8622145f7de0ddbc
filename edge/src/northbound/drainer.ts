/**
 * The drainer owns the outbox → uplink loop: peek → send → ack / dead-letter. It is event
 * driven: it pumps when a session opens, when readings are appended, when credit is granted and
 * when an ack arrives; a slow timer is only a safety net. It deletes readings only on the cloud's
 * Ack (DESIGN.md §3 promise 2); in-flight batches of a lost session stay in the outbox and are
 * sent again on the next one (the cloud de-duplicates by (edgeId, seq)).
 */
import type { Logger } from "@bitvelocity/common";
import type { OutboxReader, StoredReading } from "../outbox/types.js";
import type { Link } from "./link.js";
import type { SendResult, UplinkSession } from "./uplink.js";

export interface DrainerEvents {
  batchSent(readings: number): void;
  /** Readings the cloud committed (acked) and refused (dead-lettered). */
  drained(acked: number, rejected: number): void;
}

export interface DrainerOptions {
  readonly outbox: OutboxReader;
  readonly link: Link;
  readonly logger: Logger;
  readonly events: DrainerEvents;
  /** Safety-net pump interval; appends and acks wake the drainer directly. */
  readonly fallbackMs?: number;
}

interface SessionState {
  readonly session: UplinkSession;
  /** batchId → the seqs of that batch and the highest of them. */
  readonly inFlight: Map<number, { readonly seqs: ReadonlySet<number>; readonly highest: number }>;
  readonly openedAtMs: number;
  closed: boolean;
}

export class Drainer {
  private state: SessionState | undefined;
  private nextBatchId = 1;
  private pumping = false;
  private readonly unsubscribe: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: DrainerOptions) {}

  start(): void {
    this.unsubscribe.push(this.options.link.onSession((session) => this.attach(session)));
    this.unsubscribe.push(this.options.outbox.onAppended(() => this.pump()));
    this.timer = setInterval(() => this.pump(), this.options.fallbackMs ?? 5_000);
    this.timer.unref();
    const current = this.options.link.session();
    if (current) this.attach(current);
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
    clearInterval(this.timer);
    if (this.state) this.state.closed = true;
    this.state = undefined;
  }

  /** Batches sent and not yet acked on the current session. */
  inFlight(): number {
    return this.state?.inFlight.size ?? 0;
  }

  private attach(session: UplinkSession): void {
    if (this.state) this.state.closed = true;
    const state: SessionState = { session, inFlight: new Map(), openedAtMs: Date.now(), closed: false };
    this.state = state;
    const offCredit = session.onCredit(() => this.pump());
    void session.ended.then(() => {
      offCredit();
      state.closed = true;
      state.inFlight.clear();
      if (this.state === state) this.state = undefined;
    });
    this.pump();
  }

  /** Fills the credit window from the outbox. Synchronous; never re-entered. */
  private pump(): void {
    const state = this.state;
    if (!state || state.closed || this.pumping) return;
    this.pumping = true;
    try {
      while (!state.closed && state.session.available() > 0) {
        const readings = this.options.outbox.peek({
          limit: state.session.limits.maxReadings,
          maxBytes: state.session.limits.maxBytes,
          afterSeq: highestInFlight(state),
        });
        if (readings.length === 0) break;
        this.sendBatch(state, sameLanePrefix(readings));
      }
    } catch (err) {
      this.options.logger.error({ err }, "drainer could not read the outbox");
    } finally {
      this.pumping = false;
    }
  }

  private sendBatch(state: SessionState, readings: StoredReading[]): void {
    const batchId = this.nextBatchId++;
    const seqs = new Set(readings.map((r) => r.seq));
    state.inFlight.set(batchId, { seqs, highest: readings[readings.length - 1]!.seq });
    const replay = readings.some((r) => r.edgeTimeMs < state.openedAtMs);
    this.options.events.batchSent(readings.length);
    void state.session
      .send({ batchId, lane: readings[0]!.lane, readings, replay })
      .then((result) => this.settle(state, batchId, seqs, result));
  }

  private settle(state: SessionState, batchId: number, seqs: ReadonlySet<number>, result: SendResult): void {
    state.inFlight.delete(batchId);
    if (state.closed) return;
    try {
      if (result.status === "acked") {
        // Only what this batch carried: a confused cloud must not delete readings it never got.
        const acked = result.seqs.filter((s) => seqs.has(s));
        const rejected = result.rejected.filter((r) => seqs.has(r.seq));
        if (acked.length > 0) this.options.outbox.ack(acked);
        if (rejected.length > 0) this.options.outbox.reject(rejected);
        this.options.events.drained(acked.length, rejected.length);
      } else if (result.status === "rejected") {
        // The uplink refused the batch itself as invalid: dead-letter it rather than block the queue.
        this.options.outbox.reject([...seqs].map((seq) => ({ seq, reason: result.error.message })));
        this.options.events.drained(0, seqs.size);
      } else if (result.retryInMs !== undefined) {
        setTimeout(() => this.pump(), result.retryInMs).unref();
        return;
      }
    } catch (err) {
      this.options.logger.error({ err, batchId }, "drainer could not settle a batch in the outbox");
    }
    this.pump();
  }
}

function highestInFlight(state: SessionState): number | undefined {
  let highest: number | undefined;
  for (const batch of state.inFlight.values()) if (highest === undefined || batch.highest > highest) highest = batch.highest;
  return highest;
}

/** A batch carries one lane: the longest run of the oldest reading's lane. */
function sameLanePrefix(readings: StoredReading[]): StoredReading[] {
  const lane = readings[0]!.lane;
  const end = readings.findIndex((r) => r.lane !== lane);
  return end < 0 ? readings : readings.slice(0, end);
}
