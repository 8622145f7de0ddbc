/**
 * Test helper (not shipped behaviour): a small EdgeSync cloud on a real grpc-js server. It checks
 * the token, welcomes with credit, acks batches (optionally late or by hand, optionally refusing
 * some seqs), grants one credit per ack and records what it received.
 */
import type {
  CloudMessage,
  Command,
  CommandResult,
  DeadLetter,
  DevicePresence,
  EdgeMessage,
  EdgeStatus,
  GapRecord,
  Hello,
  TelemetryBatch,
} from "@bitvelocity/proto";
import { EdgeSyncService, Lane } from "@bitvelocity/proto";
import { Server, ServerCredentials, type ServerDuplexStream, status } from "@grpc/grpc-js";

export interface TestCloudOptions {
  readonly token: string;
  readonly credit?: number;
  readonly maxBatchReadings?: number;
  readonly maxBatchBytes?: number;
  /** Delay before each Ack (ms). */
  readonly ackDelayMs?: number;
  /** Acks wait until `releaseAcks()`. */
  readonly holdAcks?: boolean;
  /** Reason to refuse a reading, or undefined to commit it. */
  readonly rejectSeq?: (seq: number) => string | undefined;
  readonly port?: number;
  /** false: never acknowledge control-lane messages (they stay in the edge's outbox). */
  readonly ackControl?: boolean;
}

type Call = ServerDuplexStream<EdgeMessage, CloudMessage>;

export class TestCloud {
  /** Streams opened (each is one connection attempt). */
  attempts = 0;
  /** Date.now() of each stream opened. */
  readonly attemptTimes: number[] = [];
  readonly hellos: Hello[] = [];
  readonly batches: TelemetryBatch[] = [];
  /** Every seq received, duplicates included, in arrival order. */
  readonly received: number[] = [];
  readonly committed = new Set<number>();
  readonly commandResults: CommandResult[] = [];
  readonly statuses: EdgeStatus[] = [];
  readonly presences: DevicePresence[] = [];
  readonly gaps: GapRecord[] = [];
  /** seq → when its batch first arrived, and how it was flagged. */
  readonly arrivals = new Map<number, { at: number; replay: boolean; lane: number }>();
  readonly deadLetters: DeadLetter[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private readonly calls = new Set<Call>();
  private held: (() => void)[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly options: TestCloudOptions,
  ) {}

  static async start(options: TestCloudOptions): Promise<TestCloud> {
    const server = new Server();
    let cloud: TestCloud | undefined;
    server.addService(EdgeSyncService, { sync: (call: Call) => cloud?.onCall(call) });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${options.port ?? 0}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    cloud = new TestCloud(server, port, options);
    return cloud;
  }

  get url(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Sends a command on every open stream. */
  sendCommand(command: Command): void {
    for (const call of this.calls) call.write({ kind: { $case: "command", command } });
  }

  send(message: CloudMessage): void {
    for (const call of this.calls) call.write(message);
  }

  releaseAcks(): void {
    const held = this.held;
    this.held = [];
    for (const ack of held) ack();
  }

  /** Stops at once, breaking every stream (the edge sees the link drop). */
  stop(): Promise<void> {
    this.server.forceShutdown();
    this.calls.clear();
    return Promise.resolve();
  }

  private onCall(call: Call): void {
    this.attempts++;
    this.attemptTimes.push(Date.now());
    let welcomed = false;
    let inFlightHere = 0;
    call.on("error", () => {});
    call.on("cancelled", () => this.forget(call, inFlightHere));
    call.on("end", () => {
      this.forget(call, inFlightHere);
      call.end();
    });
    call.on("data", (msg: EdgeMessage) => {
      const kind = msg.kind;
      if (!welcomed) {
        if (kind?.$case !== "hello")
          return void call.emit("error", Object.assign(new Error("Hello first"), { code: status.INVALID_ARGUMENT }));
        if (kind.hello.token !== this.options.token) {
          return void call.emit("error", Object.assign(new Error("unknown edge or bad token"), { code: status.UNAUTHENTICATED }));
        }
        welcomed = true;
        this.hellos.push(kind.hello);
        this.calls.add(call);
        const welcome = {
          serverTimeMs: Date.now(),
          configVersion: 1,
          credit: this.options.credit ?? 4,
          maxBatchReadings: this.options.maxBatchReadings ?? 0,
          maxBatchBytes: this.options.maxBatchBytes ?? 0,
          clockOffsetMs: Date.now() - kind.hello.wallTimeMs,
        };
        call.write({ kind: { $case: "welcome", welcome } });
        return;
      }
      if (msg.controlId) {
        // A control-lane message: stored here, so acknowledged by its id (lane CONTROL).
        if (this.options.ackControl === false) return;
        call.write({ kind: { $case: "ack", ack: { batchId: 0, lane: Lane.LANE_CONTROL, seqs: [msg.controlId], rejected: [] } } });
      }
      switch (kind?.$case) {
        case "gap":
          this.gaps.push(kind.gap);
          return;
        case "deadLetter":
          this.deadLetters.push(kind.deadLetter);
          return;
        case "batch": {
          const batch = kind.batch;
          this.batches.push(batch);
          const at = Date.now();
          for (const r of batch.readings) this.arrivals.set(r.seq, { at, replay: batch.replay, lane: batch.lane });
          inFlightHere++;
          this.inFlight++;
          this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
          const ack = (): void => {
            if (!this.calls.has(call)) return;
            inFlightHere--;
            this.inFlight--;
            const seqs: number[] = [];
            const rejected: { seq: number; reason: string }[] = [];
            for (const r of batch.readings) {
              this.received.push(r.seq);
              const reason = this.options.rejectSeq?.(r.seq);
              if (reason) rejected.push({ seq: r.seq, reason });
              else {
                this.committed.add(r.seq);
                seqs.push(r.seq);
              }
            }
            call.write({ kind: { $case: "ack", ack: { batchId: batch.batchId, lane: batch.lane, seqs, rejected } } });
            call.write({ kind: { $case: "credit", credit: { batches: 1 } } });
          };
          if (this.options.holdAcks) this.held.push(ack);
          else setTimeout(ack, this.options.ackDelayMs ?? 0);
          return;
        }
        case "commandResult":
          this.commandResults.push(kind.commandResult);
          return;
        case "status":
          this.statuses.push(kind.status);
          return;
        case "presence":
          this.presences.push(kind.presence);
          return;
        default:
          return;
      }
    });
  }

  private forget(call: Call, inFlightHere: number): void {
    if (!this.calls.delete(call)) return;
    this.inFlight -= inFlightHere;
  }
}

/** Polls until the condition holds (test helper). */
export async function waitFor(condition: () => boolean, timeoutMs = 5_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
