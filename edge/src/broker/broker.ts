/**
 * The embedded MQTT broker (aedes 1.2) for local devices, over TCP and over WebSocket. It is the
 * DeviceGateway for MQTT devices: commands go out on `bv/{id}/cmd`, results come back on
 * `bv/{id}/cmd/result`, presence follows connects and disconnects.
 */
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createTcpServer, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "@bitvelocity/common";
import { BvError, closeServer, listen } from "@bitvelocity/common";
import { type CommandMessage, type CommandResultMessage, encodeCommand, topicFor } from "@bitvelocity/devices";
import { Aedes, type Client } from "aedes";
import type { Registry } from "prom-client";
import type { WebSocketServer } from "ws";
import type { DeviceGateway, DeviceInfo, PresenceChange } from "../commands/device-gateway.js";
import type { DeviceConfig } from "../config.js";
import type { ReadingSink } from "../pipeline/sink.js";
import { DeviceDirectory } from "./directory.js";
import { type ConnectionGate, connectionGate, type HotBrokerLimits } from "./gate.js";
import type { DirectPublish } from "./guard/direct.js";
import type { GuardedStream } from "./guard/guarded-stream.js";
import { type BrokerLimitsConfig, type BrokerTlsConfig, defaultBrokerLimits } from "./limits.js";
import { brokerMetrics } from "./metrics.js";
import { uncachePacketNumbers } from "./packet-numbers.js";
import { type AccessPolicy, devicePolicy } from "./policy.js";
import { type SubscriptionMatcher, unsubscribedCheck } from "./subscribers.js";
import { startTlsListener } from "./tls.js";

/** aedes' per-client keepalive (lib/handlers/connect.js), refreshed on every packet it handles. */
interface AedesKeepalive {
  _keepaliveInterval: number;
  _keepaliveTimer: NodeJS.Timeout | null;
}

/** A PUBLISH on the direct route is a packet too [MQTT-3.1.2-24]: the keepalive starts again. */
function refreshKeepalive(client: AedesKeepalive): void {
  if (client._keepaliveInterval > 0) client._keepaliveTimer?.refresh();
}

export interface BrokerOptions {
  readonly host: string;
  readonly port: number;
  /** null: no MQTT over WebSocket. */
  readonly wsPort: number | null;
  readonly devices: readonly DeviceConfig[];
  readonly sink: ReadingSink;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Defaults: `mqtt.limits` defaults of the config schema. */
  readonly limits?: BrokerLimitsConfig;
  /** MQTTS listener; absent: none. Relative file names resolve against the working directory. */
  readonly tls?: BrokerTlsConfig;
  /** Defaults to the per-device policy; the open one is for conformance and fuzz runs only. */
  readonly policy?: AccessPolicy;
}

export interface BrokerPorts {
  readonly mqtt: number;
  readonly ws: number | null;
  readonly tls: number | null;
}

export class MqttBroker implements DeviceGateway {
  private readonly directory: DeviceDirectory;
  private readonly resultListeners = new Set<(deviceId: string, result: CommandResultMessage) => void>();
  private aedes: Aedes | undefined;
  private tcp: Server | undefined;
  private http: HttpServer | undefined;
  private wss: WebSocketServer | undefined;
  private tlsServer: Server | undefined;
  private gate: ConnectionGate | undefined;

  constructor(private readonly options: BrokerOptions) {
    this.directory = new DeviceDirectory(options.devices);
  }

  async start(): Promise<BrokerPorts> {
    const { logger } = this.options;
    const metrics = brokerMetrics(this.options.registry, () => this.aedes?.connectedClients ?? 0);
    const limits = this.options.limits ?? defaultBrokerLimits;
    const hooks = (this.options.policy ?? devicePolicy)({
      directory: this.directory,
      sink: this.options.sink,
      metrics,
      logger,
      onCommandResult: (deviceId, result) => this.emitResult(deviceId, result),
    });
    const gate = connectionGate(limits, metrics, logger);
    this.gate = gate;
    uncachePacketNumbers();
    const aedes = await Aedes.createBroker({
      ...hooks,
      // Whatever the policy answers, the connection's slot for this PUBLISH is freed once it has
      // (for telemetry: once the reading is committed), so the next waiting PUBLISH may pass.
      authorizePublish: (client, packet, done) =>
        hooks.authorizePublish(client, packet, (err) => {
          (client?.conn as unknown as Partial<GuardedStream> | undefined)?.publishHandled?.();
          done(err);
        }),
      persistence: gate.persistence,
      drainTimeout: 30_000,
      connectTimeout: limits.connect_timeout_ms,
      maxClientsIdLength: limits.max_client_id_length,
      maxInflightInbound: limits.max_inflight,
      maxTopicLevels: limits.max_topic_levels + 1,
    });
    this.aedes = aedes;
    const direct = hooks.direct;
    // A topic someone subscribes to goes through aedes, which routes it; aedes' subscriptions live
    // in its emitter's matcher (mqemitter's Qlobber).
    const unsubscribed = unsubscribedCheck((aedes as unknown as { mq: { _matcher: SubscriptionMatcher } }).mq._matcher);
    const publish: DirectPublish | undefined = direct && {
      takes: (clientId, topic) => direct.takes(clientId, topic) && unsubscribed(topic),
      handle: direct.handle,
    };
    const accept = (stream: Socket | Duplex, remote: string | undefined, identity?: string) => {
      const guarded = gate.admit(stream, remote, identity);
      if (!guarded) return;
      const client = aedes.handle(guarded) as unknown as AedesKeepalive;
      if (publish) guarded.route({ publish, activity: () => refreshKeepalive(client) });
    };
    aedes.on("publish", (packet, client: Client | null) => {
      if (client && packet.retain) (client.conn as unknown as Partial<GuardedStream>).publishSettled?.();
    });
    aedes.on("client", (client: Client) => this.directory.connected(client.id, client, Date.now()));
    aedes.on("clientDisconnect", (client: Client) => this.directory.disconnected(client.id, client, Date.now(), "disconnected"));
    aedes.on("clientError", (client: Client, err: Error) => logger.debug({ clientId: client.id, err: err.message }, "client error"));
    aedes.on("connectionError", (client: Client, err: Error) =>
      logger.debug({ clientId: client.id, err: err.message }, "connection error"),
    );

    this.tcp = createTcpServer((socket) => accept(socket, socket.remoteAddress));
    const mqtt = await listen(this.tcp, {
      host: this.options.host,
      port: this.options.port,
      what: "MQTT",
      configKey: "mqtt.port",
      envVar: "BV_MQTT_PORT",
    });
    logger.info({ listener: "mqtt", port: mqtt }, "listening");

    let ws: number | null = null;
    if (this.options.wsPort !== null) {
      // Loaded once the MQTT listener accepts: devices over TCP do not wait for the WebSocket library.
      const { createWebSocketStream, WebSocketServer } = await import("ws");
      this.http = createHttpServer((_req, res) => {
        res.writeHead(426, { "content-type": "text/plain" }).end("MQTT over WebSocket only\n");
      });
      this.wss = new WebSocketServer({ server: this.http });
      this.wss.on("connection", (socket, req) => {
        const stream = createWebSocketStream(socket);
        stream.on("error", () => socket.terminate());
        accept(stream, req.socket.remoteAddress);
      });
      ws = await listen(this.http, {
        host: this.options.host,
        port: this.options.wsPort,
        what: "MQTT over WebSocket",
        configKey: "mqtt.ws_port",
        envVar: "BV_MQTT_WS_PORT",
      });
      logger.info({ listener: "ws", port: ws }, "listening");
    }

    let tls: number | null = null;
    if (this.options.tls) {
      const started = await startTlsListener(this.options.host, this.options.tls, accept);
      this.tlsServer = started.server;
      tls = started.port;
      logger.info({ listener: "mqtts", port: tls, clientCertificates: this.options.tls.require_client_cert }, "listening");
    }
    return { mqtt, ws, tls };
  }

  /** Stops accepting, disconnects every client, closes the listeners. */
  async stop(): Promise<void> {
    this.gate?.stop();
    const closing = [this.tcp, this.http, this.tlsServer].filter((s): s is Server => s !== undefined).map(closeServer);
    for (const client of this.wss?.clients ?? []) client.terminate();
    this.wss?.close();
    const aedes = this.aedes;
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await Promise.all(closing);
  }

  get running(): boolean {
    return this.aedes !== undefined && !this.aedes.closed;
  }

  /** Remote configuration, applied hot: the device list, and the limits that allow it (gate.ts). */
  reconfigure(devices: readonly DeviceConfig[], limits: HotBrokerLimits): void {
    for (const connection of this.directory.replace(devices)) (connection as Client).close();
    this.gate?.retune(limits);
  }

  devices(): DeviceInfo[] {
    return this.directory.list();
  }

  onlineCount(): number {
    return this.directory.onlineCount();
  }

  sendCommand(deviceId: string, command: CommandMessage): Promise<void> {
    if (!this.directory.get(deviceId)) {
      return Promise.reject(new BvError("DEVICE_UNKNOWN", "protocol", `no device ${deviceId} is configured on this edge`));
    }
    const aedes = this.aedes;
    if (!aedes || aedes.closed) return Promise.reject(new BvError("BROKER_STOPPED", "transient", "the MQTT broker is not running"));
    return new Promise((resolve, reject) => {
      aedes.publish(
        {
          cmd: "publish",
          topic: topicFor(deviceId, "command"),
          payload: Buffer.from(encodeCommand(command)),
          qos: 1,
          retain: false,
          dup: false,
        },
        (err) => (err ? reject(new BvError("COMMAND_PUBLISH_FAILED", "transient", err.message, { cause: err })) : resolve()),
      );
    });
  }

  onCommandResult(listener: (deviceId: string, result: CommandResultMessage) => void): () => void {
    this.resultListeners.add(listener);
    return () => this.resultListeners.delete(listener);
  }

  onPresence(listener: (change: PresenceChange) => void): () => void {
    return this.directory.onPresence(listener);
  }

  private emitResult(deviceId: string, result: CommandResultMessage): void {
    for (const listener of this.resultListeners) {
      try {
        listener(deviceId, result);
      } catch (err) {
        this.options.logger.error({ err }, "command result listener failed");
      }
    }
  }
}
