/**
 * What every module runs on (DESIGN.md §5): the relational database (SQLite or PostgreSQL) with
 * every module's migrations applied, the event bus with its transactional-outbox relay (in-process
 * or Kafka), the metrics registry, the audit log, and the HTTP server (express) that modules'
 * routes and socket.io attach to. main.ts starts it first and stops it last.
 */
import { createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import express, { type Express } from "express";
import { AuditLog } from "../identity/audit-log.js";
import type { CloudConfig } from "./config.js";
import { type Database, openDatabase } from "./database.js";
import { EventBus } from "./event-bus.js";
import { type EventTransport, InProcessTransport, OutboxRelay } from "./event-outbox.js";
import { kafkaSettingsOf } from "./kafka.js";
import { KafkaEventTransport } from "./kafka-events.js";
import { componentLogger, type Logger } from "./logger.js";
import { createRegistry, type Registry } from "./metrics.js";
import type { CloudHttpServer } from "./module.js";
import type { MigrationSet } from "./module-migrations.js";
import { openPostgres } from "./postgres.js";
import { type CloudTls, resolveCloudTls } from "./tls.js";

export interface Platform {
  readonly db: Database;
  readonly bus: EventBus;
  readonly relay: OutboxRelay;
  readonly registry: Registry;
  readonly audit: AuditLog;
  readonly app: Express;
  readonly http: CloudHttpServer;
  /** HTTPS and EdgeSync certificates (platform/tls.ts); absent parts are plain text by explicit opt-out. */
  readonly tls: CloudTls;
  /** Stops the relay and the event transport and closes the database; the HTTP server is closed by live. */
  stop(): Promise<void>;
}

export async function startPlatform(
  config: CloudConfig,
  modules: readonly MigrationSet[],
  logger: Logger,
  options: {
    processMetrics: boolean;
    /** Builds the HTTP(S) server over the app; default: HTTPS with tls.http, plain HTTP without. */
    createHttpServer?: (app: Express, tls: CloudTls) => CloudHttpServer;
  },
): Promise<Platform> {
  const stops: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const fn of stops.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        logger.warn({ err }, "error while stopping the platform");
      }
    }
  };
  try {
    const registry = createRegistry({ defaults: options.processMetrics });
    const bus = new EventBus(componentLogger(logger, "bus"));
    const db = await openRelational(config, modules);
    stops.push(() => db.destroy());
    let transport: EventTransport = new InProcessTransport(bus);
    const kafka = kafkaSettingsOf(config);
    if (config.bus.engine === "kafka" && kafka) {
      const events = new KafkaEventTransport({ ...kafka, eventsTopic: config.bus.events_topic }, bus, componentLogger(logger, "bus:kafka"));
      await events.start();
      stops.push(() => events.stop());
      transport = events;
    }
    const relay = new OutboxRelay(db, transport, componentLogger(logger, "bus:relay"), { pollMs: config.bus.relay_poll_ms });
    relay.start();
    stops.push(() => relay.stop());
    const tls = await resolveCloudTls(config, logger);
    const app = express();
    const http = (options.createHttpServer ?? defaultHttpServer)(app, tls);
    return { db, bus, relay, registry, audit: new AuditLog(db), app, http, tls, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function defaultHttpServer(app: Express, tls: CloudTls): CloudHttpServer {
  return tls.http ? createHttpsServer({ cert: tls.http.cert, key: tls.http.key }, app) : createServer(app);
}

function openRelational(config: CloudConfig, modules: readonly MigrationSet[]): Promise<Database> {
  if (config.database.engine === "postgres" && config.database.url) {
    return openPostgres({ url: config.database.url, schema: config.database.schema, poolSize: config.database.pool_size }, modules);
  }
  return openDatabase(config.data_dir, modules);
}
