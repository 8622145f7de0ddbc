/**
 * OPC UA client connector (node-opcua-client, loaded only when configured). Recovery is ours:
 * whatever is lost (server restart, network, session, subscription), the whole client is torn
 * down and rebuilt from the configured tag model — connect, session, subscription, monitored
 * items — with backoff. Subscription transfer (Part 4 §5.13.7) is deliberately not relied on.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Backoff, BvError, errorMessage, isBvError, type Logger, sleep } from "@bitvelocity/common";
import { deviceType, type MetricDef } from "@bitvelocity/devices";
import { OPCUACertificateManager } from "node-opcua-certificate-manager";
import {
  AttributeIds,
  type ClientSession,
  type ClientSubscription,
  DataChangeFilter,
  DataChangeTrigger,
  type DataType,
  DeadbandType,
  MessageSecurityMode,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  type UserIdentityInfo,
  UserTokenType,
} from "node-opcua-client";
import type {
  CommandOutcome,
  Connector,
  ConnectorContext,
  ConnectorDevice,
  ConnectorSink,
  ConnectorStatus,
  DeviceCommand,
} from "../connector.js";
import { type ConnectorMetrics, connectorMetrics } from "../metrics.js";
import { ChangeBatcher, commandWrites, toMetricValue } from "./codec.js";
import { type MonitoredPoint, nodesOf, type OpcuaConfig } from "./schema.js";

interface Point extends MonitoredPoint {
  readonly deviceId: string;
  readonly def: MetricDef;
}

export class OpcuaConnector implements Connector {
  readonly id: string;
  readonly devices: readonly ConnectorDevice[];
  private readonly points: Point[] = [];
  private readonly logger: Logger;
  private readonly metrics: ConnectorMetrics;
  private readonly pkiDir: string;
  private readonly abort = new AbortController();
  private session: ClientSession | undefined;
  private connected = false;
  private lastError: string | undefined;
  private loop: Promise<void> | undefined;
  private sink: ConnectorSink | undefined;
  private readonly dataTypes = new Map<string, DataType>();

  constructor(
    private readonly config: OpcuaConfig,
    context: ConnectorContext,
  ) {
    this.id = config.id;
    this.logger = context.logger;
    this.metrics = connectorMetrics(context.registry);
    this.pkiDir = join(context.dataDir, "pki", "opcua");
    this.devices = config.devices.map((d) => {
      const type = deviceType(d.type);
      if (!type) throw new BvError("CONFIG_INVALID", "fatal", `unknown device type ${d.type}`);
      for (const p of nodesOf(d)) {
        const def = type.metrics.find((m) => m.name === p.metric);
        if (def) this.points.push({ ...p, deviceId: d.id, def });
      }
      return { id: d.id, type, name: d.name ?? d.id };
    });
  }

  async start(sink: ConnectorSink, signal: AbortSignal): Promise<void> {
    this.sink = sink;
    signal.addEventListener("abort", () => this.abort.abort(), { once: true });
    this.loop = this.run().catch((err: unknown) => this.logger.error({ err }, "opcua loop ended"));
  }

  status(): ConnectorStatus {
    return { connected: this.connected, ...(this.lastError ? { lastError: this.lastError } : {}) };
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  async write(command: DeviceCommand): Promise<CommandOutcome> {
    const device = this.devices.find((d) => d.id === command.deviceId);
    if (!device) return { status: "failed", code: "OPCUA_UNKNOWN_DEVICE", message: `${command.deviceId} is not on ${this.id}` };
    const planned = commandWrites(device.type.protocols.opcua?.commands ?? [], command.name, command.params);
    if ("problem" in planned) return { status: "failed", code: "OPCUA_NO_MAPPING", message: planned.problem };
    const session = this.session;
    if (!session) return { status: "failed", code: "OPCUA_SESSION_CLOSED", message: `${this.config.endpoint} is not connected` };
    try {
      for (const w of planned.writes) {
        const dataType = await this.dataTypeOf(session, w.nodeId);
        const status = await session.write({
          nodeId: w.nodeId,
          attributeId: AttributeIds.Value,
          value: { value: { dataType, value: w.value } },
        });
        if (!status.isGood()) throw new BvError("OPCUA_WRITE_REFUSED", "protocol", `write to ${w.nodeId} refused: ${status.name}`);
      }
      this.metrics.writes.inc({ connector: this.id, result: "ok" });
      return { status: "succeeded", result: { ...command.params } };
    } catch (err) {
      this.metrics.writes.inc({ connector: this.id, result: "failed" });
      return { status: "failed", message: errorMessage(err), code: isBvError(err) ? err.code : "OPCUA_WRITE_FAILED" };
    }
  }

  private async dataTypeOf(session: ClientSession, nodeId: string): Promise<DataType> {
    const known = this.dataTypes.get(nodeId);
    if (known !== undefined) return known;
    const dv = await session.read({ nodeId, attributeId: AttributeIds.DataType });
    if (!dv.statusCode.isGood())
      throw new BvError("OPCUA_NODE_UNKNOWN", "protocol", `cannot read the data type of ${nodeId}: ${dv.statusCode.name}`);
    // Built-in types live in namespace 0 with their DataType enum value as the numeric id (Part 6 §5.1.2).
    const dataType = (dv.value.value as { value: number }).value as DataType;
    this.dataTypes.set(nodeId, dataType);
    return dataType;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const backoff = new Backoff({ initialMs: this.config.reconnect_initial_ms, maxMs: this.config.reconnect_max_ms });
    const certificateManager = new OPCUACertificateManager({
      rootFolder: this.pkiDir,
      automaticallyAcceptUnknownCertificate: this.config.accept_unknown_server_certificate,
    });
    mkdirSync(this.pkiDir, { recursive: true });
    await certificateManager.initialize();
    while (!signal.aborted) {
      const lost = new AbortController();
      const client = OPCUAClient.create({
        applicationName: "bv-edge",
        endpointMustExist: false,
        securityMode: MessageSecurityMode[this.config.security_mode],
        securityPolicy: SecurityPolicy[this.config.security_policy],
        // One try per attempt: reconnection is this loop's job, not the library's.
        connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
        keepSessionAlive: true,
        requestedSessionTimeout: this.config.session_timeout_ms,
        clientCertificateManager: certificateManager,
        transportTimeout: 5000,
      });
      const onLost = (why: string) => () => {
        if (!lost.signal.aborted) this.logger.warn({ why }, "opcua link lost; rebuilding the session");
        lost.abort();
      };
      client.on("connection_lost", onLost("connection lost"));
      client.on("close", onLost("connection closed"));
      try {
        await this.connect(client, lost);
        backoff.reset();
        await waitFor(AbortSignal.any([signal, lost.signal]));
      } catch (err) {
        this.noteError(err);
      } finally {
        this.setConnected(false);
        this.session = undefined;
        await client.disconnect().catch(() => undefined);
      }
      // Needs a human (untrusted certificate, refused login): retry only at the slowest pace.
      const human = this.lastError === "OPCUA_CERT_UNTRUSTED" || this.lastError === "OPCUA_AUTH_FAILED";
      if (!signal.aborted) await sleep(human ? this.config.reconnect_max_ms : backoff.next(), signal);
    }
    for (const d of this.devices) this.sink?.presence(d.id, false, "stopped");
  }

  private async connect(client: OPCUAClient, lost: AbortController): Promise<void> {
    try {
      await client.connect(this.config.endpoint);
    } catch (err) {
      throw this.classify(err);
    }
    const session = await client.createSession(this.identity()).catch((err: unknown) => {
      throw this.classify(err);
    });
    this.session = session;
    session.on("session_closed", () => lost.abort());
    const subscription = await session.createSubscription2({
      requestedPublishingInterval: this.config.publishing_interval_ms,
      requestedLifetimeCount: 60,
      requestedMaxKeepAliveCount: 5,
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
      priority: 1,
    });
    subscription.on("terminated", () => lost.abort());
    this.lastError = undefined;
    await this.monitor(subscription, lost);
    this.setConnected(true);
    this.metrics.reconnects.inc({ connector: this.id });
    this.logger.info({ endpoint: this.config.endpoint, items: this.points.length }, "opcua session ready");
  }

  /** Monitored items, grouped by identical monitoring parameters; a node the server does not know is a clear error. */
  private async monitor(subscription: ClientSubscription, lost: AbortController): Promise<void> {
    let lastHeard = performance.now();
    subscription.on("keepalive", () => {
      lastHeard = performance.now();
    });
    const watchdog = setInterval(
      () => {
        if (performance.now() - lastHeard > this.config.watchdog_ms) {
          this.lastError = "OPCUA_SUBSCRIPTION_SILENT";
          lost.abort();
        }
      },
      Math.min(1000, this.config.watchdog_ms / 2),
    );
    lost.signal.addEventListener("abort", () => clearInterval(watchdog), { once: true });
    const batcher = new ChangeBatcher((deviceId, values, timeMs) => {
      void this.sink?.values(deviceId, values, timeMs).catch((err: unknown) => {
        // The outbox refused it (back-pressure or closing): counted, not logged per reading.
        this.metrics.reads.inc({ connector: this.id, result: "not_committed" });
        this.logger.debug({ err: errorMessage(err), deviceId }, "reading not committed");
      });
    });
    const groups = new Map<string, Point[]>();
    for (const p of this.points) {
      const key = JSON.stringify([p.samplingIntervalMs, p.queueSize, p.deadband]);
      groups.set(key, [...(groups.get(key) ?? []), p]);
    }
    const unknown: string[] = [];
    const online = new Set<string>();
    for (const points of groups.values()) {
      const first = points[0] as Point;
      const group = await subscription.monitorItems(
        points.map((p) => ({ nodeId: p.nodeId, attributeId: AttributeIds.Value })),
        {
          samplingInterval: first.samplingIntervalMs ?? this.config.sampling_interval_ms,
          queueSize: first.queueSize ?? this.config.queue_size,
          discardOldest: true,
          ...(first.deadband
            ? {
                filter: new DataChangeFilter({
                  trigger: DataChangeTrigger.StatusValue,
                  deadbandType: first.deadband.type === "percent" ? DeadbandType.Percent : DeadbandType.Absolute,
                  deadbandValue: first.deadband.value,
                }),
              }
            : {}),
        },
        TimestampsToReturn.Both,
      );
      group.monitoredItems.forEach((item, i) => {
        const p = points[i] as Point;
        const status = item.statusCode;
        if (status && !status.isGood()) unknown.push(`${p.deviceId}.${p.metric} (${p.nodeId}): ${status.name}`);
        else online.add(p.deviceId);
      });
      group.on("changed", (_item, dataValue, index) => {
        lastHeard = performance.now();
        const p = points[index];
        if (!p) return;
        if (!dataValue.statusCode.isGood()) {
          this.metrics.reads.inc({ connector: this.id, result: "bad_status" });
          return;
        }
        const value = toMetricValue(p.def, dataValue.value.value);
        if (value === undefined) {
          this.metrics.reads.inc({ connector: this.id, result: "frame" });
          return;
        }
        this.metrics.reads.inc({ connector: this.id, result: "ok" });
        batcher.add(p.deviceId, p.metric, value, dataValue.sourceTimestamp?.getTime());
      });
    }
    if (unknown.length > 0) {
      this.lastError = "OPCUA_NODE_UNKNOWN";
      this.logger.error({ nodes: unknown }, "the server refused some monitored items; check the node ids (bv-edge opcua browse)");
    }
    for (const d of this.devices) this.sink?.presence(d.id, online.has(d.id), online.has(d.id) ? "subscribed" : "no node accepted");
    lost.signal.addEventListener("abort", () => {
      for (const d of this.devices) this.sink?.presence(d.id, false, "session lost");
    });
  }

  private identity(): UserIdentityInfo {
    const auth = this.config.auth;
    if (auth.type === "username") {
      const password = process.env[auth.password_env];
      if (password === undefined) throw new BvError("OPCUA_AUTH_MISSING", "human", `environment variable ${auth.password_env} is not set`);
      return { type: UserTokenType.UserName, userName: auth.username, password };
    }
    if (auth.type === "certificate") {
      const certificateData = readFileSync(auth.certificate_file);
      const privateKey = readFileSync(auth.private_key_file, "utf8");
      return { type: UserTokenType.Certificate, certificateData, privateKey } as UserIdentityInfo;
    }
    return { type: UserTokenType.Anonymous };
  }

  /** Turns the library's errors into our codes; an untrusted server certificate says how to trust it. */
  private classify(err: unknown): BvError {
    const message = errorMessage(err);
    if (/certificate/i.test(message) && /(untrusted|not trusted|rejected|BadCertificate)/i.test(message)) {
      return new BvError(
        "OPCUA_CERT_UNTRUSTED",
        "human",
        `the server certificate of ${this.config.endpoint} is not trusted: move its file from ${join(this.pkiDir, "rejected")} to ${join(this.pkiDir, "trusted", "certs")}, or set accept_unknown_server_certificate: true (${message})`,
        { cause: err },
      );
    }
    if (/BadIdentityToken|BadUserAccessDenied|access denied/i.test(message))
      return new BvError("OPCUA_AUTH_FAILED", "human", `login to ${this.config.endpoint} refused: ${message}`, { cause: err });
    return new BvError("OPCUA_CONNECT_FAILED", "transient", `cannot connect to ${this.config.endpoint}: ${message}`, { cause: err });
  }

  private noteError(err: unknown): void {
    const code = isBvError(err) ? err.code : "OPCUA_SESSION_CLOSED";
    // One line per new problem, not one per retry.
    if (code !== this.lastError) this.logger.warn({ code, err: errorMessage(err) }, "opcua connection attempt failed");
    this.lastError = code;
  }

  private setConnected(up: boolean): void {
    this.connected = up;
    this.metrics.connected.set({ connector: this.id }, up ? 1 : 0);
  }
}

function waitFor(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
