/** The composition root (STYLE.md): build the parts from config, start them, stop them in reverse. */
import { createServer } from "node:http";
import type { Socket } from "node:net";
import { listen } from "@bitvelocity/common";
import { AlertEngine, AlertService, AlertStore } from "./alerts/index.js";
import { CommandService, FleetRegistry } from "./fleet/index.js";
import { ApiTokenStore, AuditLog, LoginRateLimiter, SessionStore, UserStore } from "./identity/index.js";
import { EdgeCredentials } from "./ingest/edge-credentials.js";
import { IngestServer } from "./ingest/ingest-server.js";
import { LinkRecords } from "./ingest/link-records.js";
import { LiveHub } from "./live/live-hub.js";
import { SseFanout } from "./live/sse-stream.js";
import type { CloudConfig } from "./platform/config.js";
import { checkDatabase, openDatabase } from "./platform/database.js";
import { EventBus } from "./platform/event-bus.js";
import { componentLogger, type Logger, rootLogger } from "./platform/logger.js";
import { createRegistry } from "./platform/metrics.js";
import { SqliteTelemetryStore } from "./telemetry/sqlite-store.js";
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
    const db = await openDatabase(config.data_dir);
    cleanups.push(() => db.destroy());
    const telemetry = SqliteTelemetryStore.open(config.data_dir);
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
    const commands = new CommandService(db, bus, fleet, componentLogger(logger, "commands"));
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
    const ingest = new IngestServer({
      bus,
      store: telemetry,
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
