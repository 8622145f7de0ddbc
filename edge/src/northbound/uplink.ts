/**
 * The northbound uplink contract (STYLE.md, after OpenTelemetry's exporters): an uplink opens
 * sessions and sends batches; it returns results instead of throwing. It never touches SQLite:
 * the drainer owns peek → send → ack / dead-letter, and the link supervisor owns reconnects,
 * backoff and jitter, once, for every uplink.
 */
import type { CommandResult, ConfigReport, DevicePresence, EdgeStatus, ReleaseOffer, UpdateReport } from "@bitvelocity/proto";
import type { ControlItem, Lane, StoredReading } from "../outbox/types.js";

export type SendResult =
  | { status: "acked"; seqs: number[]; rejected: { seq: number; reason: string }[] }
  | { status: "retryable"; retryInMs?: number; error?: Error }
  | { status: "rejected"; error: Error };

/** How a session ended or why it could not be opened. */
export type SessionFailure = Extract<SendResult, { status: "retryable" | "rejected" }>;

export type OpenResult = { status: "open"; session: UplinkSession } | SessionFailure;

export interface OutgoingBatch {
  readonly batchId: number;
  readonly lane: Lane;
  readonly readings: readonly StoredReading[];
  /** True when the readings were buffered before this session came up (backlog, not live). */
  readonly replay: boolean;
}

export interface BatchLimits {
  readonly maxReadings: number;
  readonly maxBytes: number;
  /** A backlog batch's bounds (uplink.backlog_batch_*). */
  readonly backlogReadings: number;
  readonly backlogBytes: number;
}

/** The edge's configured limits for its uplink sessions. */
export function configuredLimits(config: {
  readonly max_batch_readings: number;
  readonly max_batch_bytes: number;
  readonly backlog_batch_readings: number;
  readonly backlog_batch_bytes: number;
}): BatchLimits {
  return {
    maxReadings: config.max_batch_readings,
    maxBytes: config.max_batch_bytes,
    backlogReadings: config.backlog_batch_readings,
    backlogBytes: config.backlog_batch_bytes,
  };
}

/**
 * Our limits within the peer's (`tighten(ours, theirs)` for each bound), live and backlog alike:
 * the cloud's Welcome gives one bound for every batch; the Kafka uplink's control session has backlog bounds of its own.
 */
export function limitsWithin(ours: BatchLimits, theirs: BatchLimits, tighten: (ours: number, theirs: number) => number): BatchLimits {
  return {
    maxReadings: tighten(ours.maxReadings, theirs.maxReadings),
    maxBytes: tighten(ours.maxBytes, theirs.maxBytes),
    backlogReadings: tighten(ours.backlogReadings, theirs.backlogReadings),
    backlogBytes: tighten(ours.backlogBytes, theirs.backlogBytes),
  };
}

/** A command as the cloud sent it; parameters are still raw JSON (untrusted input). */
export interface IncomingCommand {
  readonly commandId: string;
  readonly deviceId: string;
  readonly name: string;
  readonly paramsJson: string;
  /** 0 = no deadline given. */
  readonly expiresAtMs: number;
}

/** A remote configuration version as the cloud sent it; the YAML is untrusted input (remote-config/). */
export interface IncomingConfigUpdate {
  readonly version: number;
  readonly yaml: string;
}

/**
 * Edge → cloud messages besides telemetry. `control` carries a durable control-lane item as the
 * outbox stores it (the uplink encodes its wire message); the cloud acknowledges it by id. The
 * others are best effort.
 */
export type ControlMessage =
  | { readonly kind: "control"; readonly item: ControlItem }
  | { readonly kind: "commandResult"; readonly commandResult: CommandResult }
  | { readonly kind: "status"; readonly status: EdgeStatus }
  | { readonly kind: "presence"; readonly presence: DevicePresence }
  | { readonly kind: "configReport"; readonly configReport: ConfigReport }
  | { readonly kind: "updateReport"; readonly updateReport: UpdateReport };

/** One connected, welcomed session. */
export interface UplinkSession {
  /** Batch bounds agreed with the cloud (min of ours and the cloud's). */
  readonly limits: BatchLimits;
  /** Batches that may be sent now (the credit window not yet used). */
  available(): number;
  /** Resolves when the cloud acknowledges the batch, or `retryable` when the session is lost first. */
  send(batch: OutgoingBatch): Promise<SendResult>;
  /** Best effort; false when the session is no longer writable. */
  post(message: ControlMessage): boolean;
  /** Fires when the window grows (credit granted). */
  onCredit(listener: () => void): () => void;
  onCommand(listener: (command: IncomingCommand) => void): () => void;
  /** Remote configuration versions (gRPC control stream; absent on uplinks without a downlink). */
  onConfigUpdate?(listener: (update: IncomingConfigUpdate) => void): () => void;
  /** Fires with each signed agent release the cloud offers (edge/src/update). */
  onReleaseOffer(listener: (offer: ReleaseOffer) => void): () => void;
  /** Fires with the ids of control-lane messages the cloud has stored. */
  onControlAck(listener: (ids: readonly number[]) => void): () => void;
  /** Resolves once, when the session is over (stream error or end, or close()). */
  readonly ended: Promise<SessionFailure>;
  close(): void;
}

export interface Uplink {
  readonly kind: string;
  /** Connects and completes the handshake; never throws. Aborting the signal abandons the attempt. */
  open(signal: AbortSignal): Promise<OpenResult>;
}
