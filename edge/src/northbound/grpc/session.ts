/**
 * One EdgeSync session over the gRPC bidi stream: Hello → Welcome (with a timeout), the credit
 * window, acks matched by batchId, commands from the cloud, and stream errors → session ended.
 * It never retries: the link supervisor reconnects with backoff.
 */
import { BvError, type Logger } from "@bitvelocity/common";
import {
  type CloudMessage,
  type EdgeMessage,
  type EdgeSyncClient,
  type Hello,
  Lane,
  type ReleaseOffer,
  type Welcome,
} from "@bitvelocity/proto";
import { type ClientDuplexStream, status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import {
  type BatchLimits,
  type ControlMessage,
  type IncomingCommand,
  type IncomingConfigUpdate,
  limitsWithin,
  type OpenResult,
  type OutgoingBatch,
  type SendResult,
  type SessionFailure,
  type UplinkSession,
} from "../uplink.js";
import { toControlMessage } from "./control.js";
import { tighter, toProtoLane, toProtoReading } from "./convert.js";

type Call = ClientDuplexStream<EdgeMessage, CloudMessage>;

export interface SessionOptions {
  readonly client: EdgeSyncClient;
  readonly hello: Hello;
  readonly limits: BatchLimits;
  readonly welcomeTimeoutMs: number;
  readonly logger: Logger;
}

/** Maps how a call ended to a session failure: auth refusals need a human, the rest is transient. */
export function failureFromStatus(err: Partial<ServiceError>): SessionFailure {
  const detail = `${GrpcStatus[err.code ?? GrpcStatus.UNKNOWN] ?? err.code} ${err.details ?? err.message ?? ""}`.trim();
  if (err.code === GrpcStatus.UNAUTHENTICATED || err.code === GrpcStatus.PERMISSION_DENIED) {
    return {
      status: "rejected",
      error: new BvError("UPLINK_UNAUTHENTICATED", "human", `the cloud refused the edge: ${detail}`, { cause: err }),
    };
  }
  return { status: "retryable", error: new BvError("UPLINK_STREAM_ERROR", "transient", `stream failed: ${detail}`, { cause: err }) };
}

export class GrpcSession implements UplinkSession {
  limits: BatchLimits;
  readonly ended: Promise<SessionFailure>;
  /** Resolves with this session once welcomed, or with why the handshake failed. */
  readonly opened: Promise<OpenResult>;

  private readonly call: Call;
  private credits = 0;
  private welcomed = false;
  private finished = false;
  private readonly pending = new Map<number, (r: SendResult) => void>();
  private readonly creditListeners = new Set<() => void>();
  private readonly commandListeners = new Set<(c: IncomingCommand) => void>();
  private readonly controlAckListeners = new Set<(ids: readonly number[]) => void>();
  private readonly releaseListeners = new Set<(offer: ReleaseOffer) => void>();
  private readonly configListeners = new Set<(update: IncomingConfigUpdate) => void>();
  private resolveEnded!: (f: SessionFailure) => void;
  private resolveOpened!: (r: OpenResult) => void;
  private readonly welcomeTimer: NodeJS.Timeout;

  constructor(private readonly options: SessionOptions) {
    this.limits = options.limits;
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
    this.opened = new Promise((resolve) => {
      this.resolveOpened = resolve;
    });
    this.call = options.client.sync();
    this.call.on("data", (msg: CloudMessage) => this.onMessage(msg));
    this.call.on("error", (err: ServiceError) => this.finish(failureFromStatus(err)));
    this.call.on("end", () =>
      this.finish({ status: "retryable", error: new BvError("UPLINK_STREAM_ENDED", "transient", "the cloud ended the stream") }),
    );
    this.welcomeTimer = setTimeout(() => {
      const error = new BvError("UPLINK_WELCOME_TIMEOUT", "transient", `no Welcome within ${options.welcomeTimeoutMs} ms`);
      this.finish({ status: "retryable", error });
    }, options.welcomeTimeoutMs);
    this.write({ kind: { $case: "hello", hello: options.hello } });
  }

  available(): number {
    return this.finished ? 0 : this.credits;
  }

  send(batch: OutgoingBatch): Promise<SendResult> {
    if (this.finished)
      return Promise.resolve({ status: "retryable", error: new BvError("UPLINK_CLOSED", "transient", "session is closed") });
    if (this.credits <= 0) {
      return Promise.resolve({ status: "retryable", error: new BvError("UPLINK_NO_CREDIT", "transient", "no credit left in the window") });
    }
    this.credits -= 1;
    const result = new Promise<SendResult>((resolve) => this.pending.set(batch.batchId, resolve));
    this.write({
      kind: {
        $case: "batch",
        batch: {
          batchId: batch.batchId,
          lane: toProtoLane(batch.lane),
          readings: batch.readings.map(toProtoReading),
          replay: batch.replay,
        },
      },
    });
    return result;
  }

  post(message: ControlMessage): boolean {
    if (this.finished || !this.welcomed) return false;
    switch (message.kind) {
      case "control":
        return this.write(toControlMessage(message.item));
      case "commandResult":
        return this.write({ kind: { $case: "commandResult", commandResult: message.commandResult } });
      case "status":
        return this.write({ kind: { $case: "status", status: message.status } });
      case "presence":
        return this.write({ kind: { $case: "presence", presence: message.presence } });
      case "updateReport":
        return this.write({ kind: { $case: "updateReport", updateReport: message.updateReport } });
      case "configReport":
        return this.write({ kind: { $case: "configReport", configReport: message.configReport } });
    }
  }

  onCredit(listener: () => void): () => void {
    this.creditListeners.add(listener);
    return () => this.creditListeners.delete(listener);
  }

  onCommand(listener: (command: IncomingCommand) => void): () => void {
    this.commandListeners.add(listener);
    return () => this.commandListeners.delete(listener);
  }

  onControlAck(listener: (ids: readonly number[]) => void): () => void {
    this.controlAckListeners.add(listener);
    return () => this.controlAckListeners.delete(listener);
  }

  onReleaseOffer(listener: (offer: ReleaseOffer) => void): () => void {
    this.releaseListeners.add(listener);
    return () => this.releaseListeners.delete(listener);
  }

  onConfigUpdate(listener: (update: IncomingConfigUpdate) => void): () => void {
    this.configListeners.add(listener);
    return () => this.configListeners.delete(listener);
  }

  close(): void {
    this.finish({ status: "retryable", error: new BvError("UPLINK_CLOSED", "transient", "closed by the edge") });
  }

  private write(msg: EdgeMessage): boolean {
    try {
      this.call.write(msg);
      return true;
    } catch (err) {
      this.finish({
        status: "retryable",
        error: new BvError("UPLINK_WRITE_FAILED", "transient", "write to the stream failed", { cause: err }),
      });
      return false;
    }
  }

  private onMessage(msg: CloudMessage): void {
    if (this.finished) return;
    const kind = msg.kind;
    if (!this.welcomed) {
      if (kind?.$case === "welcome") {
        this.onWelcome(kind.welcome);
        return;
      }
      const error = new BvError("UPLINK_PROTOCOL", "protocol", `expected Welcome first, got ${kind?.$case ?? "an empty message"}`);
      this.finish({ status: "retryable", error });
      return;
    }
    switch (kind?.$case) {
      case "ack": {
        if (kind.ack.lane === Lane.LANE_CONTROL) {
          const ids = kind.ack.seqs;
          for (const listener of this.controlAckListeners) this.guard(() => listener(ids));
          return;
        }
        const resolve = this.pending.get(kind.ack.batchId);
        if (!resolve) {
          this.options.logger.debug({ batchId: kind.ack.batchId }, "ack for an unknown batch ignored");
          return;
        }
        this.pending.delete(kind.ack.batchId);
        resolve({ status: "acked", seqs: kind.ack.seqs, rejected: kind.ack.rejected.map((r) => ({ seq: r.seq, reason: r.reason })) });
        return;
      }
      case "credit":
        this.grant(kind.credit.batches);
        return;
      case "command":
        for (const listener of this.commandListeners) this.guard(() => listener({ ...kind.command }));
        return;
      case "releaseOffer":
        for (const listener of this.releaseListeners) this.guard(() => listener(kind.releaseOffer));
        return;
      case "configUpdate":
        for (const listener of this.configListeners) this.guard(() => listener({ ...kind.configUpdate }));
        return;
      default:
        // Welcome again, or an empty message.
        this.options.logger.debug({ kind: kind?.$case }, "cloud message ignored");
    }
  }

  private onWelcome(welcome: Welcome): void {
    clearTimeout(this.welcomeTimer);
    this.welcomed = true;
    const { maxBatchReadings: readings, maxBatchBytes: bytes } = welcome;
    const cloud = { maxReadings: readings, maxBytes: bytes, backlogReadings: readings, backlogBytes: bytes };
    this.limits = limitsWithin(this.options.limits, cloud, tighter);
    this.credits = welcome.credit;
    this.resolveOpened({ status: "open", session: this });
  }

  private grant(batches: number): void {
    if (batches <= 0) return;
    this.credits += batches;
    for (const listener of this.creditListeners) this.guard(listener);
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.options.logger.error({ err }, "session listener threw");
    }
  }

  private finish(failure: SessionFailure): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.welcomeTimer);
    // In-flight batches are forgotten: they stay in the outbox and are re-sent on the next session.
    for (const resolve of this.pending.values()) resolve({ status: "retryable", error: failure.error });
    this.pending.clear();
    this.call.removeAllListeners("data");
    this.call.on("error", () => {}); // cancel() below reports CANCELLED; nobody needs it
    this.call.cancel();
    this.options.client.close();
    this.resolveOpened(failure);
    this.resolveEnded(failure);
  }
}
