/**
 * The EdgeSync gRPC server: accepts edge streams, keeps one live session per edge (a new stream
 * replaces the old one), and forwards `commandRequested` events to the edge's stream.
 */
import { isAddressInUse, type Logger, portInUseError, verifySecret } from "@bitvelocity/common";
import { type CloudMessage, type EdgeMessage, EdgeSyncService, type TelemetryBatch } from "@bitvelocity/proto";
import { Server, ServerCredentials, type ServerDuplexStream, status } from "@grpc/grpc-js";
import type { EventBus } from "../platform/event-bus.js";
import type { CloudTls } from "../platform/tls.js";
import type { DeviceGate } from "./device-gate.js";
import type { CredentialLookup, EdgeCredentials } from "./edge-credentials.js";
import { EdgeSession, type SessionHost } from "./edge-session.js";
import type { IngestMetrics } from "./ingest-metrics.js";
import type { LinkRecords } from "./link-records.js";
import type { EdgeCredential, IngestLimits, ReadingCommitter } from "./ports.js";

export interface IngestServerOptions {
  readonly bus: EventBus;
  readonly store: ReadingCommitter;
  readonly records: LinkRecords;
  readonly credentials: EdgeCredentials;
  readonly limits: IngestLimits;
  /** Keepalive ping interval and timeout per edge connection (default 20 s). */
  readonly keepaliveMs?: number;
  readonly metrics: IngestMetrics;
  /** Which devices each edge may speak for. */
  readonly gate: DeviceGate;
  readonly logger: Logger;
}

/** HTTP/2 window for a full credit window of the largest batches (bounded by HTTP/2's 2^31 - 1). */
export function flowControlWindow(limits: IngestLimits): number {
  return Math.min(2 ** 31 - 1, Math.max(65_535, Math.ceil(limits.credit * limits.maxBatchBytes * 1.1)));
}

/** EdgeSync, with the size of each batch's message noted as it is decoded. */
function measuredService(sizes: WeakMap<TelemetryBatch, number>): typeof EdgeSyncService {
  const sync = EdgeSyncService.sync;
  return {
    sync: {
      ...sync,
      requestDeserialize: (value: Buffer): EdgeMessage => {
        const msg = sync.requestDeserialize(value);
        if (msg.kind?.$case === "batch") sizes.set(msg.kind.batch, value.length);
        return msg;
      },
    },
  };
}

export class IngestServer implements SessionHost {
  readonly bus: EventBus;
  readonly store: ReadingCommitter;
  readonly records: LinkRecords;
  readonly limits: IngestLimits;
  readonly metrics: IngestMetrics;
  readonly gate: DeviceGate;
  readonly logger: Logger;
  private readonly server: Server;
  private readonly credentials: EdgeCredentials;
  private readonly sessions = new Map<string, EdgeSession>();
  private readonly all = new Set<EdgeSession>();
  private readonly unsubscribe: () => void;
  /** Bytes of the EdgeMessage each received batch came in (a batch is never re-encoded to be measured). */
  private readonly wireBytes = new WeakMap<TelemetryBatch, number>();

  constructor(options: IngestServerOptions) {
    this.bus = options.bus;
    this.store = options.store;
    this.records = options.records;
    this.limits = options.limits;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.gate = options.gate;
    this.credentials = options.credentials;
    // Oversize batches are refused by our own check (RESOURCE_EXHAUSTED); the transport limit
    // only guards memory against something far larger.
    const maxMessage = Math.max(4 * 1024 * 1024, options.limits.maxBatchBytes * 2);
    // The server pings too: an edge that lost power or network never closes its stream, and without
    // pings (grpc-js defaults to 2 h) the cloud would show it connected until it comes back.
    const keepaliveMs = options.keepaliveMs ?? 20_000;
    this.server = new Server({
      "grpc.max_receive_message_length": maxMessage,
      // The HTTP/2 receive window (per stream and per connection) holds the edge's whole credit
      // window: with the 64 KiB default an edge waits for a WINDOW_UPDATE inside every batch, and
      // none comes while a commit blocks the event loop, so batches never queue behind a commit.
      // grpc-js reads this option only on the client; patches/@grpc+grpc-js+*.patch adds it to the
      // server (grpc/grpc-node#3058 upstream).
      "grpc-node.flow_control_window": flowControlWindow(options.limits),
      "grpc.keepalive_permit_without_calls": 1,
      "grpc.keepalive_time_ms": keepaliveMs,
      "grpc.keepalive_timeout_ms": keepaliveMs,
    });
    this.server.addService(measuredService(this.wireBytes), {
      sync: (call: ServerDuplexStream<EdgeMessage, CloudMessage>) => {
        const session = new EdgeSession(call, this);
        this.all.add(session);
        call.on("close", () => this.all.delete(session));
        session.start();
      },
    });
    const offCommands = this.bus.on("commandRequested", (cmd) => {
      this.sessions.get(cmd.edgeId)?.sendCommand(cmd);
    });
    const offConfig = this.bus.on("edgeConfigRequested", (update) => {
      this.sessions.get(update.edgeId)?.sendConfig(update);
    });
    const offReleases = this.bus.on("releaseOffered", (offer) => {
      this.sessions.get(offer.edgeId)?.sendReleaseOffer(offer);
    });
    this.unsubscribe = () => {
      offCommands();
      offConfig();
      offReleases();
    };
  }

  messageBytes(batch: TelemetryBatch): number | undefined {
    return this.wireBytes.get(batch);
  }

  lookup(edgeId: string): CredentialLookup {
    return this.credentials.lookup(edgeId);
  }

  /** The edge's site when `token` is its current credential (package downloads, cloud/src/releases). */
  authenticate(edgeId: string, token: string): { siteId: string } | undefined {
    const found = this.credentials.lookup(edgeId);
    return found.status === "ok" && verifySecret(token, found.edge.tokenHash) ? { siteId: found.edge.siteId } : undefined;
  }

  /** Lets an edge enrolled at run time (a claimed edge) authenticate. */
  enroll(edge: EdgeCredential): void {
    this.credentials.enroll(edge);
  }

  /** Issues a new token for the edge (returned once) and ends its stream: the old token no longer works. */
  async rotateToken(edgeId: string, by: string): Promise<string> {
    const token = await this.credentials.rotate(edgeId, by);
    this.sessions.get(edgeId)?.fail(status.UNAUTHENTICATED, "the edge's token was rotated");
    this.logger.info({ edgeId, by }, "edge token rotated");
    return token;
  }

  /** Refuses the edge from now on and ends its stream. */
  async revoke(edgeId: string, by: string): Promise<void> {
    await this.credentials.revoke(edgeId, by);
    this.sessions.get(edgeId)?.fail(status.PERMISSION_DENIED, "the edge's credentials were revoked");
    this.logger.info({ edgeId, by }, "edge credentials revoked");
  }

  attach(session: EdgeSession): void {
    const edgeId = session.edgeId!;
    const old = this.sessions.get(edgeId);
    this.sessions.set(edgeId, session);
    this.metrics.edgesConnected.set(this.sessions.size);
    if (old && old !== session) old.fail(status.ABORTED, "replaced by a newer stream from the same edge");
  }

  detach(session: EdgeSession): boolean {
    const edgeId = session.edgeId;
    if (edgeId === undefined || this.sessions.get(edgeId) !== session) return false;
    this.sessions.delete(edgeId);
    this.metrics.edgesConnected.set(this.sessions.size);
    return true;
  }

  isConnected(edgeId: string): boolean {
    return this.sessions.has(edgeId);
  }

  /** Binds host:port (0 picks a free port); resolves to the bound port. */
  listen(host: string, port: number, tls?: CloudTls["grpc"]): Promise<number> {
    // TLS unless grpc.insecure; with a client CA every edge must present a certificate it signed.
    const creds = tls
      ? ServerCredentials.createSsl(tls.clientCa ?? null, [{ private_key: tls.key, cert_chain: tls.cert }], tls.clientCa !== undefined)
      : ServerCredentials.createInsecure();
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${port}`, creds, (err, bound) => {
        if (err)
          reject(
            isAddressInUse(err) ? portInUseError({ what: "gRPC", host, port, configKey: "grpc.port", envVar: "BV_GRPC_PORT" }, err) : err,
          );
        else resolve(bound);
      });
    });
  }

  async stop(graceMs = 2000): Promise<void> {
    this.unsubscribe();
    for (const session of [...this.all]) session.fail(status.UNAVAILABLE, "the cloud is shutting down");
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
