/**
 * One EdgeSync stream (the link contract in docs and DESIGN.md §6): Hello → Welcome, then
 * messages processed strictly in order (one queue, never concurrently). Telemetry batches that
 * arrive while a commit runs are committed together in the next transaction (batch-groups.ts);
 * each batch's Ack and Credit are written only after the transaction that holds it commits.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { errorMessage, type Logger, verifySecret } from "@bitvelocity/common";
import { isValidDeviceId } from "@bitvelocity/devices";
import {
  type CloudMessage,
  type CommandResult,
  CommandStatus,
  type ConfigReport,
  type EdgeMessage,
  type Hello,
  Lane,
  type TelemetryBatch,
  TelemetryBatch as TelemetryBatchCodec,
} from "@bitvelocity/proto";
import { type ServerDuplexStream, status } from "@grpc/grpc-js";
import type { EventBus } from "../platform/event-bus.js";
import type { CommandRequested, CommandState, EdgeConfigRequested, ReleaseOffered } from "../platform/events.js";
import { type CommittedBatch, commitBatches } from "./batch-commit.js";
import { BatchGroups } from "./batch-groups.js";
import { preview } from "./dead-letters.js";
import type { DeviceGate } from "./device-gate.js";
import type { CredentialLookup } from "./edge-credentials.js";
import type { IngestMetrics } from "./ingest-metrics.js";
import type { LinkRecords, NewDeadLetter } from "./link-records.js";
import type { EdgeCredential, IngestLimits, ReadingCommitter, ValidReading } from "./ports.js";

export interface SessionHost {
  readonly bus: EventBus;
  readonly store: ReadingCommitter;
  readonly records: LinkRecords;
  readonly limits: IngestLimits;
  readonly metrics: IngestMetrics;
  readonly gate: DeviceGate;
  readonly logger: Logger;
  lookup(edgeId: string): CredentialLookup;
  /** Bytes of the message the batch arrived in, when known. */
  messageBytes(batch: TelemetryBatch): number | undefined;
  /** Makes this the edge's live session; returns the one it replaced. */
  attach(session: EdgeSession): void;
  detach(session: EdgeSession): boolean;
}

const STATUS_NAMES: Partial<Record<CommandStatus, CommandState>> = {
  [CommandStatus.COMMAND_STATUS_PENDING]: "pending",
  [CommandStatus.COMMAND_STATUS_DELIVERED]: "delivered",
  [CommandStatus.COMMAND_STATUS_SUCCEEDED]: "succeeded",
  [CommandStatus.COMMAND_STATUS_FAILED]: "failed",
  [CommandStatus.COMMAND_STATUS_EXPIRED]: "expired",
  [CommandStatus.COMMAND_STATUS_REJECTED]: "rejected",
};

const LANE_NAMES: Partial<Record<Lane, string>> = {
  [Lane.LANE_CONTROL]: "control",
  [Lane.LANE_ALARM]: "alarm",
  [Lane.LANE_TELEMETRY]: "telemetry",
};

function laneName(lane: Lane): string {
  return LANE_NAMES[lane] ?? "telemetry";
}

function parseJson(text: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export class EdgeSession {
  private state: "awaiting-hello" | "open" | "closed" = "awaiting-hello";
  private queue: Promise<void> = Promise.resolve();
  private readonly groups = new BatchGroups();
  private edge: EdgeCredential | undefined;

  constructor(
    private readonly call: ServerDuplexStream<EdgeMessage, CloudMessage>,
    private readonly host: SessionHost,
  ) {}

  get edgeId(): string | undefined {
    return this.edge?.id;
  }

  start(): void {
    this.call.on("data", (msg: EdgeMessage) => this.onMessage(msg));
    this.call.on("end", () => this.close("edge ended the stream", true));
    this.call.on("error", (err: Error) => this.close(`stream error: ${err.message}`, false));
    this.call.on("close", () => this.close("stream closed", false));
    this.call.on("cancelled", () => this.close("cancelled", false));
  }

  /** Ends the call with a gRPC status (grpc-js turns an emitted error into the call's status). */
  fail(code: status, details: string): void {
    if (this.state === "closed") return;
    this.close(details, false);
    this.call.emit("error", { code, details });
  }

  sendCommand(cmd: CommandRequested): boolean {
    if (this.state !== "open") return false;
    this.write({
      kind: {
        $case: "command",
        command: {
          commandId: cmd.commandId,
          deviceId: cmd.deviceId,
          name: cmd.name,
          paramsJson: JSON.stringify(cmd.params),
          expiresAtMs: cmd.expiresAtMs,
        },
      },
    });
    this.host.metrics.commandsSent.inc();
    return true;
  }

  /** Offers a signed agent release (docs/edge-sync.md); false when the stream is not open. */
  sendReleaseOffer(offer: ReleaseOffered): boolean {
    if (this.state !== "open") return false;
    const { edgeId: _edgeId, signature, healthDeadlineS, ...rest } = offer;
    this.write({
      kind: {
        $case: "releaseOffer",
        releaseOffer: { ...rest, signature: Buffer.from(signature, "base64"), healthDeadlineS },
      },
    });
    return true;
  }

  /** A remote configuration version for this edge (fleet keeps them; the edge answers with a ConfigReport). */
  sendConfig(update: EdgeConfigRequested): boolean {
    if (this.state !== "open") return false;
    this.write({ kind: { $case: "configUpdate", configUpdate: { version: update.version, yaml: update.yaml } } });
    return true;
  }

  /** Queues a task behind everything received so far; batches received later go after it. */
  private enqueue(task: () => Promise<void>): void {
    this.groups.close();
    this.queue = this.queue.then(task);
  }

  private write(msg: CloudMessage): void {
    if (this.state === "closed") return;
    this.call.write(msg);
  }

  private close(reason: string, endCall: boolean): void {
    if (this.state === "closed") return;
    const wasOpen = this.state === "open";
    this.state = "closed";
    if (endCall) this.call.end();
    if (wasOpen && this.edge && this.host.detach(this)) {
      this.host.bus.emit("edgeDisconnected", { edgeId: this.edge.id, at: Date.now(), reason });
      this.host.logger.info({ edgeId: this.edge.id, reason }, "edge disconnected");
    }
  }

  private onMessage(msg: EdgeMessage): void {
    if (this.state === "closed") return;
    const kind = msg.kind;
    if (this.state === "awaiting-hello") {
      if (kind?.$case !== "hello") {
        this.host.metrics.streams.inc({ outcome: "no-hello" });
        this.fail(status.INVALID_ARGUMENT, "the first message must be a Hello");
        return;
      }
      this.onHello(kind.hello);
      return;
    }
    const edgeId = this.edge!.id;
    if (msg.controlId) {
      // A control-lane message: acknowledged by id once stored (the edge keeps it until then).
      const controlId = msg.controlId;
      this.enqueue(() => this.processControl(msg, controlId));
      return;
    }
    switch (kind?.$case) {
      case "hello":
        this.fail(status.INVALID_ARGUMENT, "Hello may only be sent once per stream");
        return;
      case "batch": {
        // Joins the group waiting behind the running commit, or opens (and queues) a new one.
        const group = this.groups.add(kind.batch);
        if (group)
          this.queue = this.queue.then(async () => {
            // A commit blocks the event loop: batches that reached the socket meanwhile are
            // delivered only after it. One turn of the loop lets them join this group.
            await nextTurn();
            this.groups.close(group);
            return this.processGroup(group);
          });
        return;
      }
      case "commandResult":
        this.commandResult(edgeId, kind.commandResult);
        return;
      case "configReport":
        this.configReport(edgeId, kind.configReport);
        return;
      case "status": {
        const s = kind.status;
        this.host.bus.emit("edgeStatusReceived", {
          edgeId,
          agentVersion: s.agentVersion,
          status: {
            outboxReadings: s.outboxReadings,
            outboxBytes: s.outboxBytes,
            oldestAgeSeconds: s.oldestAgeSeconds,
            deadLetters: s.deadLetters,
            drainRate: s.drainRate,
            etaSeconds: s.etaSeconds,
            devicesConnected: s.devicesConnected,
            timeMs: s.timeMs,
            connectors: s.connectors.map((c) => ({ id: c.id, kind: c.kind, state: c.state, detail: c.detail })),
            evictedReadings: s.evictedReadings,
            gaps: s.gaps,
            bytesWritten: s.bytesWritten,
            bytesWrittenPerDay: s.uptimeSeconds > 60 ? (s.bytesWritten / s.uptimeSeconds) * 86_400 : 0,
            budgetBytes: s.budgetBytes,
            clockSynced: s.clockSynced,
            alarms: s.alarms.slice(0, 20),
            controlPending: s.controlPending,
            uptimeSeconds: s.uptimeSeconds,
          },
        });
        return;
      }
      case "presence": {
        const p = kind.presence;
        // Queued behind the Hello's device claims, and only for a device this edge may speak for.
        this.enqueue(async () => {
          const refusal = isValidDeviceId(p.deviceId) ? await this.host.gate.check(edgeId, p.deviceId, "presence") : "invalid device id";
          if (refusal !== undefined || this.state !== "open") return;
          this.host.bus.emit("devicePresenceChanged", {
            edgeId,
            deviceId: p.deviceId,
            online: p.online,
            timeMs: p.timeMs || Date.now(),
            reason: p.reason,
          });
        });
        return;
      }
      case "updateReport": {
        const u = kind.updateReport;
        this.host.bus.emit("updateReported", {
          edgeId,
          version: u.version.slice(0, 64),
          state: u.state.slice(0, 32),
          error: u.error.slice(0, 1000),
          runningVersion: u.runningVersion.slice(0, 64),
          timeMs: u.timeMs || Date.now(),
        });
        return;
      }
      case "deadLetter":
      case "gap":
        // Only meaningful with a control id (stored, then acknowledged); without one, ignored.
        this.host.logger.debug({ edgeId, kind: kind.$case }, "control message without a control id ignored");
        return;
      default:
        this.host.logger.debug({ edgeId }, "ignoring an empty EdgeMessage");
    }
  }

  private onHello(hello: Hello): void {
    const found = this.host.lookup(hello.edgeId);
    if (found.status === "revoked") {
      this.host.metrics.streams.inc({ outcome: "revoked" });
      this.host.logger.warn({ edgeId: hello.edgeId }, "revoked edge refused");
      this.fail(status.PERMISSION_DENIED, `edge ${JSON.stringify(hello.edgeId)}: its credentials are revoked`);
      return;
    }
    const edge = found.status === "ok" ? found.edge : undefined;
    if (!edge || !verifySecret(hello.token, edge.tokenHash)) {
      this.host.metrics.streams.inc({ outcome: "unauthenticated" });
      this.host.logger.warn({ edgeId: hello.edgeId }, "edge authentication failed");
      this.fail(status.UNAUTHENTICATED, `edge ${JSON.stringify(hello.edgeId)} is unknown or its token is wrong`);
      return;
    }
    // Mutual TLS: an edge bound to a certificate must present exactly that one (revoking the edge
    // refuses it whatever it presents).
    if (edge.certFingerprint !== undefined) {
      const presented = this.call.getAuthContext().sslPeerCertificate?.fingerprint256;
      if (presented?.toUpperCase() !== edge.certFingerprint) {
        this.host.metrics.streams.inc({ outcome: "unauthenticated" });
        this.host.logger.warn({ edgeId: hello.edgeId }, "edge client certificate missing or not the edge's");
        this.fail(status.UNAUTHENTICATED, `edge ${JSON.stringify(hello.edgeId)} must present its client certificate`);
        return;
      }
    }
    this.edge = edge;
    this.state = "open";
    const serverTimeMs = Date.now();
    const clockOffsetMs = hello.wallTimeMs > 0 ? serverTimeMs - hello.wallTimeMs : 0;
    // The boot's anchor, measured here: readings this boot stamps while unsynchronised are
    // re-stamped from it (uptime is monotonic, whatever the edge's wall clock says).
    const anchorMs = serverTimeMs - hello.uptimeMs;
    this.enqueue(() =>
      this.host.records.saveBoot(edge.id, hello.bootId, anchorMs, serverTimeMs).catch((err: unknown) => {
        this.host.logger.error({ err, edgeId: edge.id }, "could not store the boot's clock anchor");
      }),
    );
    // The Hello's devices are claimed (or refused, when another edge owns them) before anything
    // this stream sends next is processed; the fleet learns only the ones this edge owns.
    this.enqueue(() => this.declareDevices(edge, hello, serverTimeMs, clockOffsetMs));
    this.host.attach(this);
    this.host.metrics.streams.inc({ outcome: "welcomed" });
    const { credit, maxBatchReadings, maxBatchBytes } = this.host.limits;
    this.write({
      kind: { $case: "welcome", welcome: { serverTimeMs, configVersion: 0, credit, maxBatchReadings, maxBatchBytes, clockOffsetMs } },
    });
    this.host.logger.info({ edgeId: edge.id, bootId: hello.bootId, agentVersion: hello.agentVersion, clockOffsetMs }, "edge connected");
  }

  private async declareDevices(edge: EdgeCredential, hello: Hello, connectedAt: number, clockOffsetMs: number): Promise<void> {
    if (this.state !== "open") return;
    let owned: Set<string>;
    try {
      owned = await this.host.gate.declare(edge.id, hello.devices.map((d) => d.deviceId).filter(isValidDeviceId));
    } catch (err) {
      this.host.logger.error({ err, edgeId: edge.id }, "could not record the Hello's devices");
      this.fail(status.UNAVAILABLE, `could not record the Hello's devices: ${errorMessage(err)}`);
      return;
    }
    if (this.state !== "open") return;
    this.host.bus.emit("edgeConnected", {
      edgeId: edge.id,
      siteId: edge.siteId,
      bootId: hello.bootId,
      agentVersion: hello.agentVersion,
      arch: hello.arch,
      clockOffsetMs,
      connectedAt,
      configVersion: hello.configVersion,
      devices: hello.devices
        .filter((d) => owned.has(d.deviceId))
        .map((d) => ({
          deviceId: d.deviceId,
          deviceType: d.deviceType,
          name: d.name,
          online: d.online,
          lastSeenMs: d.lastSeenMs,
        })),
    });
  }

  /** One group of batches (batch-groups.ts): an oversize batch ends the stream, after the ones before it are acked. */
  private async processGroup(group: readonly TelemetryBatch[]): Promise<void> {
    if (this.state !== "open" || !this.edge) return;
    let refusal: string | undefined;
    let batches = group;
    for (const [i, batch] of group.entries()) {
      refusal = this.oversize(batch);
      if (refusal === undefined) continue;
      batches = group.slice(0, i);
      break;
    }
    if (batches.length > 0) await this.commitGroup(this.edge, batches);
    if (refusal !== undefined && this.state === "open") {
      this.host.metrics.batches.inc({ result: "oversize" });
      this.fail(status.RESOURCE_EXHAUSTED, refusal);
    }
  }

  private oversize(batch: TelemetryBatch): string | undefined {
    const { maxBatchReadings, maxBatchBytes } = this.host.limits;
    if (batch.readings.length > maxBatchReadings)
      return `batch ${batch.batchId} has ${batch.readings.length} readings; the limit is ${maxBatchReadings}`;
    // The message that carried the batch is a few bytes larger than the batch: within the limit,
    // so is the batch; only a message over it is measured exactly.
    const carried = this.host.messageBytes(batch);
    if (carried !== undefined && carried <= maxBatchBytes) return undefined;
    const bytes = TelemetryBatchCodec.encode(batch).finish().length;
    return bytes > maxBatchBytes ? `batch ${batch.batchId} has ${bytes} bytes; the limit is ${maxBatchBytes}` : undefined;
  }

  /**
   * Validates every batch of the group, records their poison readings, commits the valid ones in
   * one transaction (when the store offers it; else batch by batch, in order), then acks each
   * batch and grants its credit. A failure acks nothing of the group and ends the stream: the
   * edge sends the batches again on its next stream, and the cloud de-duplicates them.
   */
  private async commitGroup(edge: EdgeCredential, batches: readonly TelemetryBatch[]): Promise<void> {
    let committed: CommittedBatch[];
    const timer = this.host.metrics.commitSeconds.startTimer();
    try {
      committed = await commitBatches(this.host, edge.id, batches, (letters) => this.recordDeadLetters(edge.id, letters));
    } catch (err) {
      timer();
      this.host.metrics.batches.inc({ result: "store-error" }, batches.length);
      this.host.logger.error({ err, edgeId: edge.id }, "telemetry commit failed");
      this.fail(status.UNAVAILABLE, `telemetry store unavailable: ${errorMessage(err)}`);
      return;
    }
    timer();
    this.host.metrics.groupBatches.observe(batches.length);
    for (const { batch, valid, rejected, result } of committed) {
      this.host.metrics.stored.inc(result.inserted);
      this.host.metrics.duplicates.inc(result.duplicates);
      this.host.metrics.rejected.inc(rejected.length);
      this.host.metrics.batches.inc({ result: "acked" });
      this.write({ kind: { $case: "ack", ack: { batchId: batch.batchId, lane: batch.lane, seqs: valid.map((r) => r.seq), rejected } } });
      this.write({ kind: { $case: "credit", credit: { batches: 1 } } });
      if (result.inserted > 0) this.emitCommitted(edge, valid, result.insertedSeqs, batch.replay);
    }
  }

  private async recordDeadLetters(edgeId: string, letters: readonly NewDeadLetter[]): Promise<void> {
    const fresh = await this.host.records.recordDeadLetters(edgeId, letters);
    this.host.metrics.deadLetters.inc(fresh.length);
    for (const d of fresh) {
      const { ref: _ref, ...event } = d;
      this.host.bus.emit("deadLetterReceived", { edgeId, ...event });
    }
  }

  private configReport(edgeId: string, r: ConfigReport): void {
    if (r.state !== "applied" && r.state !== "rejected" && r.state !== "rolled-back") {
      this.host.logger.warn({ edgeId, state: r.state }, "config report with an unknown state ignored");
      return;
    }
    this.host.bus.emit("edgeConfigReported", {
      edgeId,
      version: r.version,
      state: r.state,
      problems: r.problems,
      runningVersion: r.runningVersion,
      restarted: r.restarted,
      timeMs: r.timeMs,
      receivedAtMs: Date.now(),
    });
  }

  private commandResult(edgeId: string, r: CommandResult): void {
    const state = STATUS_NAMES[r.status];
    if (!state) return;
    this.host.bus.emit("commandResultReceived", {
      edgeId,
      commandId: r.commandId,
      deviceId: r.deviceId,
      status: state,
      message: r.message,
      result: parseJson(r.resultJson),
      timeMs: r.timeMs || Date.now(),
    });
  }

  /** Stores a control-lane message, then acknowledges it; a store failure ends the stream (the edge resends). */
  private async processControl(msg: EdgeMessage, controlId: number): Promise<void> {
    if (this.state !== "open" || !this.edge) return;
    const edgeId = this.edge.id;
    const kind = msg.kind;
    const receivedAtMs = Date.now();
    try {
      switch (kind?.$case) {
        case "gap": {
          const g = kind.gap;
          const gap = {
            edgeId,
            lane: laneName(g.lane),
            firstSeq: g.firstSeq,
            lastSeq: g.lastSeq,
            count: g.count,
            fromMs: g.fromTimeMs,
            toMs: g.toTimeMs,
            reason: g.reason || "unknown",
            receivedAtMs,
          };
          if (await this.host.records.recordGap(gap)) {
            this.host.metrics.gaps.inc();
            this.host.bus.emit("gapRecorded", gap);
          }
          break;
        }
        case "deadLetter": {
          const d = kind.deadLetter;
          await this.recordDeadLetters(edgeId, [
            {
              source: "edge",
              ref: controlId,
              deviceId: d.deviceId,
              seq: d.seq > 0 ? d.seq : null,
              topic: d.topic || null,
              reason: d.reason,
              payloadPreview: preview(d.payload),
              timeMs: d.timeMs || receivedAtMs,
              receivedAtMs,
            },
          ]);
          break;
        }
        case "commandResult":
          this.commandResult(edgeId, kind.commandResult);
          break;
        default:
          this.host.logger.debug({ edgeId, kind: kind?.$case }, "control message of no known kind acknowledged");
      }
    } catch (err) {
      this.host.logger.error({ err, edgeId }, "could not store a control message");
      this.fail(status.UNAVAILABLE, `could not store a control message: ${errorMessage(err)}`);
      return;
    }
    this.write({ kind: { $case: "ack", ack: { batchId: 0, lane: Lane.LANE_CONTROL, seqs: [controlId], rejected: [] } } });
  }

  private emitCommitted(edge: EdgeCredential, valid: ValidReading[], insertedSeqs: number[], replay: boolean): void {
    const inserted = new Set(insertedSeqs);
    const readings = valid
      .filter((r) => inserted.has(r.seq))
      .map((r) => ({ seq: r.seq, deviceId: r.deviceId, deviceType: r.deviceType, ts: r.deviceTimeMs ?? r.edgeTimeMs, values: r.values }));
    this.host.bus.emit("readingsCommitted", { edgeId: edge.id, siteId: edge.siteId, replay, readings });
  }
}
