/**
 * The drainer owns the outbox → uplink loop: peek → send → ack / dead-letter. It is event
 * driven: it pumps when a session opens, when readings are appended, when credit is granted and
 * when an ack arrives; a slow timer is only a safety net. It deletes readings only on the cloud's
 * Ack (DESIGN.md §3 promise 2); in-flight batches of a lost session stay in the outbox and are
 * sent again on the next one (the cloud de-duplicates by (edgeId, seq)).
 *
 * Order (promise 5, live first): control-lane messages (never need credit), then the alarm lane,
 * then telemetry. Telemetry appended after the session opened is live; older telemetry is the
 * backlog, sent flagged as replay. While live readings wait, the backlog may hold at most
 * `replayShare` of the credit window, so live readings never queue behind the whole backlog.
 */
import type { Logger } from "@bitvelocity/common";
import type { OutboxReader, PeekOptions, StoredReading } from "../outbox/types.js";
import type { Link } from "./link.js";
import type { SendResult, UplinkSession } from "./uplink.js";

export interface DrainerEvents {
  batchSent(readings: number, stream: Stream): void;
  /** Readings the cloud committed (acked) and refused (dead-lettered). */
  drained(acked: number, rejected: number): void;
}

export interface DrainerOptions {
  readonly outbox: OutboxReader & { protectInFlight?(check: (seq: number) => boolean): void };
  readonly link: Link;
  readonly logger: Logger;
  readonly events: DrainerEvents;
  /** Share of the credit window the backlog may use while live readings wait (0..1). */
  readonly replayShare?: number;
  /** Safety-net pump interval; appends and acks wake the drainer directly. */
  readonly fallbackMs?: number;
}

export type Stream = "alarm" | "live" | "backlog";

/** Control messages sent and not yet acknowledged, per session. */
const CONTROL_WINDOW = 256;

interface SessionState {
  readonly session: UplinkSession;
  /** batchId → the seqs of that batch. */
  readonly inFlight: Map<number, { readonly seqs: readonly number[]; readonly stream: Stream }>;
  readonly inFlightSeqs: Set<number>;
  /** Telemetry at or below this seq was already waiting when the session opened: the backlog. */
  readonly boundary: number;
  /** Highest seq sent per stream in this session. */
  readonly cursor: Record<Stream, number>;
  controlCursor: number;
  controlInFlight: number;
  closed: boolean;
}

export class Drainer {
  private state: SessionState | undefined;
  private nextBatchId = 1;
  private pumping = false;
  private readonly unsubscribe: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly replayShare: number;

  constructor(private readonly options: DrainerOptions) {
    this.replayShare = Math.min(1, Math.max(0, options.replayShare ?? 0.5));
  }

  start(): void {
    this.unsubscribe.push(this.options.link.onSession((session) => this.attach(session)));
    this.unsubscribe.push(this.options.outbox.onAppended(() => this.pump()));
    this.options.outbox.protectInFlight?.((seq) => this.state?.inFlightSeqs.has(seq) ?? false);
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

  /** Something new is in the control lane (a command result): send it now. */
  wake(): void {
    this.pump();
  }

  /** Batches sent and not yet acked on the current session. */
  inFlight(): number {
    return this.state?.inFlight.size ?? 0;
  }

  private attach(session: UplinkSession): void {
    if (this.state) this.state.closed = true;
    const boundary = this.options.outbox.lastSeq();
    const state: SessionState = {
      session,
      inFlight: new Map(),
      inFlightSeqs: new Set(),
      boundary,
      cursor: { alarm: 0, live: boundary, backlog: 0 },
      controlCursor: 0,
      controlInFlight: 0,
      closed: false,
    };
    this.state = state;
    const offCredit = session.onCredit(() => this.pump());
    const offControl = session.onControlAck((ids) => this.controlAcked(state, ids));
    void session.ended.then(() => {
      offCredit();
      offControl();
      state.closed = true;
      state.inFlight.clear();
      state.inFlightSeqs.clear();
      if (this.state === state) this.state = undefined;
    });
    this.pump();
  }

  /** Fills the control window and the credit window from the outbox. Synchronous; never re-entered. */
  private pump(): void {
    const state = this.state;
    if (!state || state.closed || this.pumping) return;
    this.pumping = true;
    try {
      this.pumpControl(state);
      while (!state.closed && state.session.available() > 0) {
        const next = this.nextBatch(state);
        if (!next) break;
        this.sendBatch(state, next.stream, next.readings);
      }
    } catch (err) {
      this.options.logger.error({ err }, "drainer could not read the outbox");
    } finally {
      this.pumping = false;
    }
  }

  private pumpControl(state: SessionState): void {
    while (!state.closed && state.controlInFlight < CONTROL_WINDOW) {
      const items = this.options.outbox.peekControl(CONTROL_WINDOW - state.controlInFlight, state.controlCursor);
      if (items.length === 0) return;
      for (const item of items) {
        if (!state.session.post({ kind: "control", item })) return;
        state.controlCursor = item.id;
        state.controlInFlight++;
      }
    }
  }

  private controlAcked(state: SessionState, ids: readonly number[]): void {
    if (state.closed) return;
    try {
      this.options.outbox.ackControl(ids);
    } catch (err) {
      this.options.logger.error({ err }, "drainer could not delete acknowledged control messages");
    }
    state.controlInFlight = Math.max(0, state.controlInFlight - ids.length);
    this.pump();
  }

  /** Alarm first; then live and backlog telemetry, the backlog within its share while live waits. */
  private nextBatch(state: SessionState): { stream: Stream; readings: StoredReading[] } | undefined {
    const { limits } = state.session;
    const liveBounds = { limit: limits.maxReadings, maxBytes: limits.maxBytes };
    const read = (options: Omit<PeekOptions, "limit" | "maxBytes">, bounds = liveBounds): StoredReading[] =>
      this.options.outbox.peek({ ...bounds, ...options });
    const alarm = read({ lane: "alarm", afterSeq: state.cursor.alarm });
    if (alarm.length > 0) return { stream: "alarm", readings: alarm };
    let live = read({ lane: "telemetry", afterSeq: state.cursor.live });
    // Adaptive batching: while a live batch is in flight, a partial one waits for its ack (one
    // round trip at most), so under load live readings travel in fewer, fuller batches, each one
    // commit (and one fsync) in the cloud, instead of one tiny batch per group commit.
    if (live.length > 0 && live.length < limits.maxReadings && this.inFlightOf(state, "live") > 0) live = [];
    // The backlog is read only when it is its turn: while live readings wait, it may hold at most
    // its share of the window (a full peek parses up to a batch of readings, on the hot path).
    const window = state.inFlight.size + state.session.available();
    const backlogSlots = Math.max(1, Math.floor(window * this.replayShare));
    if (live.length === 0 || this.inFlightOf(state, "backlog") < backlogSlots) {
      // Bigger batches than live (uplink.backlog_batch_*): fewer, bigger commits in the cloud.
      const backlogBounds = { limit: limits.backlogReadings, maxBytes: limits.backlogBytes };
      const backlog = read({ lane: "telemetry", afterSeq: state.cursor.backlog, upToSeq: state.boundary }, backlogBounds);
      if (backlog.length > 0) return { stream: "backlog", readings: backlog };
    }
    return live.length > 0 ? { stream: "live", readings: live } : undefined;
  }

  private inFlightOf(state: SessionState, stream: Stream): number {
    let n = 0;
    for (const batch of state.inFlight.values()) if (batch.stream === stream) n++;
    return n;
  }

  private sendBatch(state: SessionState, stream: Stream, readings: StoredReading[]): void {
    const batchId = this.nextBatchId++;
    const seqs = readings.map((r) => r.seq);
    state.inFlight.set(batchId, { seqs, stream });
    for (const seq of seqs) state.inFlightSeqs.add(seq);
    state.cursor[stream] = seqs[seqs.length - 1] as number;
    this.options.events.batchSent(readings.length, stream);
    void state.session
      .send({ batchId, lane: readings[0]!.lane, readings, replay: stream === "backlog" })
      .then((result) => this.settle(state, batchId, result));
  }

  private settle(state: SessionState, batchId: number, result: SendResult): void {
    const batch = state.inFlight.get(batchId);
    state.inFlight.delete(batchId);
    if (state.closed || !batch) return;
    for (const seq of batch.seqs) state.inFlightSeqs.delete(seq);
    const seqs = new Set(batch.seqs);
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
        this.options.outbox.reject(batch.seqs.map((seq) => ({ seq, reason: result.error.message })));
        this.options.events.drained(0, seqs.size);
      } else {
        // Not sent after all, and the session lives on: send these readings again.
        state.cursor[batch.stream] = Math.min(state.cursor[batch.stream], (batch.seqs[0] as number) - 1);
        if (result.retryInMs !== undefined) {
          setTimeout(() => this.pump(), result.retryInMs).unref();
          return;
        }
      }
    } catch (err) {
      this.options.logger.error({ err, batchId }, "drainer could not settle a batch in the outbox");
    }
    this.pump();
  }
}
