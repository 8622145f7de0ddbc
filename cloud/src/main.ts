/** The composition root (STYLE.md): build the parts from config, start them, stop them in reverse. */
import { createServer } from "node:http";
import type { Socket } from "node:net";
import { listen } from "@bitvelocity/common";
import { AlertEngine, AlertService, AlertStore } from "./alerts/index.js";
import { CommandService, FleetRegistry } from "./fleet/index.js";
import { ApiTokenStore, AuditLog, LoginRateLimiter, SessionStore, UserStore } from "./identity/index.js";
import { EdgeCredentials } from "./ingest/edge-credentials.js";
import { IngestServer } from "./ingest/ingest-server.js";
import { KafkaTelemetryPublisher } from "./ingest/kafka-publisher.js";
import { KafkaStoreWriter } from "./ingest/kafka-store-writer.js";
import { LinkRecords } from "./ingest/link-records.js";
import { LiveHub } from "./live/live-hub.js";
import { SseFanout } from "./live/sse-stream.js";
import type { CloudConfig } from "./platform/config.js";
import { checkDatabase, type Database, openDatabase } from "./platform/database.js";
import { EventBus } from "./platform/event-bus.js";
import { type EventTransport, InProcessTransport, OutboxRelay } from "./platform/event-outbox.js";
import type { KafkaSettings } from "./platform/kafka.js";
import { KafkaEventTransport } from "./platform/kafka-events.js";
import { componentLogger, type Logger, rootLogger } from "./platform/logger.js";
import { createRegistry } from "./platform/metrics.js";
import { openPostgres } from "./platform/postgres.js";
import { InfluxTelemetryStore } from "./telemetry/influx-store.js";
import { SqliteTelemetryStore } from "./telemetry/sqlite-store.js";
import type { TelemetryStore } from "./telemetry/telemetry-store.js";
import { createApp } from "./web/app.js";
import { defaultDashboardDir } from "./web/static-dashboard.js";

export interface CloudOptions {
  readonly logger?: Logger;
  /** Where the built dashboard is; defaults to cloud/dist/dashboard. */
  readonly dashboardDir?: string;
  /** Collect Node process metrics on /metrics (default true). */
  readonly processMetrics?: boolean;
}

export interface CloudHandle {
  readonly ports: { readonly http: number; readonly grpc: number };
  stop(): Promise<void>;
}

export async function startCloud(config: CloudConfig, options: CloudOptions = {}): Promise<CloudHandle> {
  const logger = rootLogger(options.logger);
  const cleanups: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        logger.warn({ err }, "error while stopping");
      }
    }
  };
  try {
    const registry = createRegistry({ defaults: options.processMetrics ?? true });
    const bus = new EventBus(componentLogger(logger, "bus"));
    const db = await openRelational(config);
    cleanups.push(() => db.destroy());
    const telemetry = openTelemetry(config, componentLogger(logger, "telemetry"));
    cleanups.push(() => telemetry.close());

    const users = new UserStore(db);
    await users.seed(config, componentLogger(logger, "identity"));
    const sessionTtlMs = config.session_ttl_hours * 3_600_000;
    const sessions = new SessionStore(db, sessionTtlMs);
    await sessions.purgeExpired();
    const tokens = new ApiTokenStore(db);
    const audit = new AuditLog(db);

    const fleet = new FleetRegistry(
      db,
      bus,
      config.sites,
      config.edges.map((e) => ({ id: e.id, siteId: e.site_id, name: e.name ?? e.id })),
      componentLogger(logger, "fleet"),
    );
    await fleet.start();
    cleanups.push(() => fleet.stop());
    const kafka = kafkaSettings(config);
    let transport: EventTransport = new InProcessTransport(bus);
    if (config.bus.engine === "kafka" && kafka) {
      const events = new KafkaEventTransport({ ...kafka, eventsTopic: config.bus.events_topic }, bus, componentLogger(logger, "bus:kafka"));
      await events.start();
      cleanups.push(() => events.stop());
      transport = events;
    }
    const relay = new OutboxRelay(db, transport, componentLogger(logger, "bus:relay"), { pollMs: config.bus.relay_poll_ms });
    relay.start();
    cleanups.push(() => relay.stop());
    const commands = new CommandService(db, bus, fleet, componentLogger(logger, "commands"), relay);
    commands.start();
    cleanups.push(() => commands.stop());

    const alertStore = new AlertStore(db);
    const alertEngine = new AlertEngine(alertStore, bus, fleet, componentLogger(logger, "alerts"), registry);
    await alertEngine.start();
    cleanups.push(() => alertEngine.stop());
    const alerts = new AlertService(alertStore, alertEngine);
    const sse = new SseFanout({ bus, throttleMs: config.live.throttle_ms, maxBuffered: config.live.max_buffered, registry });
    cleanups.push(() => sse.close());

    const records = new LinkRecords(db);
    const credentials = new EdgeCredentials(
      db,
      config.edges.map((e) => ({ id: e.id, siteId: e.site_id, tokenHash: e.token_hash })),
    );
    await credentials.load();

    let committer: IngestServerStore = telemetry;
    if (config.ingest.via === "kafka" && kafka) {
      const publisher = new KafkaTelemetryPublisher(kafka, componentLogger(logger, "ingest:kafka"));
      await publisher.start();
      cleanups.push(() => publisher.stop());
      committer = publisher;
    }
    if (config.ingest.store_writer && kafka) {
      const writer = new KafkaStoreWriter({
        settings: kafka,
        store: telemetry,
        bus,
        // A revoked edge's messages are refused like an unknown edge's.
        edge: (id) => {
          const found = credentials.lookup(id);
          return found.status === "ok" ? found.edge : undefined;
        },
        records,
        registry,
        logger: componentLogger(logger, "ingest:store-writer"),
      });
      await writer.start();
      cleanups.push(() => writer.stop());
    }

    const ingest = new IngestServer({
      bus,
      store: committer,
      records,
      credentials,
      limits: {
        credit: config.ingest.credit,
        maxBatchReadings: config.ingest.max_batch_readings,
        maxBatchBytes: config.ingest.max_batch_bytes,
      },
      keepaliveMs: config.ingest.keepalive_ms,
      registry,
      logger: componentLogger(logger, "ingest"),
    });
    cleanups.push(() => ingest.stop());

    const app = createApp({
      users,
      sessions,
      tokens,
      audit,
      alerts,
      sse,
      loginLimiter: new LoginRateLimiter(),
      sessionTtlMs,
      fleet,
      commands,
      telemetry,
      records,
      edgeAccess: ingest,
      registry,
      health: async () => ({ database: await checkDatabase(db), telemetry: await telemetry.check() }),
      dashboardDir: options.dashboardDir ?? defaultDashboardDir(),
      logger: componentLogger(logger, "web"),
    });
    const http = createServer(app);
    const live = new LiveHub(http, {
      bus,
      sessions,
      tokens,
      directory: fleet,
      throttleMs: config.live.throttle_ms,
      maxBuffered: config.live.max_buffered,
      registry,
      logger: componentLogger(logger, "live"),
    });
    if (config.live.redis_url) {
      await live.joinCluster({
        redisUrl: config.live.redis_url,
        channel: config.live.redis_channel,
        logger: componentLogger(logger, "cluster"),
      });
    }
    // Upgraded (websocket) connections are not tracked by the HTTP server; a browser that stopped
    // reading would hold the close handshake for 30 s, so stop destroys every connection.
    const connections = new Set<Socket>();
    http.on("connection", (socket: Socket) => {
      connections.add(socket);
      socket.once("close", () => connections.delete(socket));
    });
    // Closing socket.io also closes the HTTP server it is attached to.
    cleanups.push(async () => {
      const closed = live.close();
      for (const socket of connections) socket.destroy();
      await closed;
    });

    const grpcPort = await ingest.listen(config.grpc.host, config.grpc.port);
    logger.info({ listener: "grpc", port: grpcPort }, "listening");
    const httpPort = await listen(http, {
      host: config.http.host,
      port: config.http.port,
      what: "HTTP",
      configKey: "http.port",
      envVar: "BV_HTTP_PORT",
    });
    logger.info({ listener: "http", port: httpPort }, "listening");

    let stopping: Promise<void> | undefined;
    return {
      ports: { http: httpPort, grpc: grpcPort },
      stop: () => {
        stopping ??= stopAll().then(() => logger.info("stopped"));
        return stopping;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

type IngestServerStore = ConstructorParameters<typeof IngestServer>[0]["store"];

function openRelational(config: CloudConfig): Promise<Database> {
  if (config.database.engine === "postgres" && config.database.url) {
    return openPostgres({ url: config.database.url, schema: config.database.schema, poolSize: config.database.pool_size });
  }
  return openDatabase(config.data_dir);
}

function openTelemetry(config: CloudConfig, logger: Logger): TelemetryStore {
  const influx = config.telemetry.influx;
  if (config.telemetry.engine === "influx" && influx) {
    return new InfluxTelemetryStore({
      url: influx.url,
      queryUrl: influx.query_url,
      token: influx.token,
      org: influx.org,
      bucket: influx.bucket,
      maxRetries: influx.max_retries,
      maxPending: influx.max_pending,
      forceFlush: influx.force_flush,
      logger,
    });
  }
  return SqliteTelemetryStore.open(config.data_dir);
}

function kafkaSettings(config: CloudConfig): KafkaSettings | undefined {
  const k = config.kafka;
  if (!k) return undefined;
  return {
    brokers: k.brokers,
    clientId: k.client_id,
    telemetryTopic: k.telemetry_topic,
    groupId: k.group_id,
    sessionTimeoutMs: k.session_timeout_ms,
  };
}
