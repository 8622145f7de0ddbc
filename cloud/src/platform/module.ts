/**
 * The shape of a cloud domain (DESIGN.md §8): one folder, one exported module object. The
 * composition root (main.ts) holds a list of modules plus the platform; it applies every module's
 * migrations (platform/module-migrations.ts), starts the modules in list order, mounts their routes
 * under /api behind the session guard, and stops them in reverse order.
 *
 * A module never imports another domain. What it needs from another domain it declares as a port
 * (an interface in its own folder) that main.ts fills; what it tells other domains it publishes as
 * an event on the bus (through the transactional outbox when the event reports a state change).
 */
import type { Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Router } from "express";
import type { Migration } from "kysely";
import type { AuditLog } from "../identity/audit-log.js";
import type { CloudConfig } from "./config.js";
import type { Database } from "./database.js";
import type { EventBus } from "./event-bus.js";
import type { OutboxRelay } from "./event-outbox.js";
import type { CloudEvents } from "./events.js";
import type { Logger } from "./logger.js";
import type { Registry } from "./metrics.js";
import type { CloudTls } from "./tls.js";

/** The cloud's HTTP server: HTTPS unless http.insecure. */
export type CloudHttpServer = HttpServer | HttpsServer;

/** What the platform gives every module at start. */
export interface ModuleContext {
  readonly config: CloudConfig;
  /** cloud.db (SQLite or PostgreSQL), already migrated; narrow it with `db.withTables<T>()`. */
  readonly db: Database;
  readonly bus: EventBus;
  /** Nudge it after appending events so they are published without waiting for the poll. */
  readonly relay: OutboxRelay;
  readonly registry: Registry;
  readonly audit: AuditLog;
  /** The cloud's HTTP server (not yet listening while modules start); socket.io attaches to it. */
  readonly http: CloudHttpServer;
  /** The certificates EdgeSync serves (and checks edge client certificates against). */
  readonly tls: CloudTls;
  /** This module's logger (`cloud:<name>`). */
  readonly logger: Logger;
}

export interface CloudModule {
  /** Folder name; also the key its applied migrations are recorded under. */
  readonly name: string;
  /**
   * This module's own tables, applied in key order (name them `0001_…`, `0002_…`). Portable SQL
   * only: the same list runs on SQLite and PostgreSQL.
   */
  readonly migrations: Readonly<Record<string, Migration>>;
  /** Events this module emits and listens to (checked by the event-contract test). */
  readonly publishes: readonly (keyof CloudEvents)[];
  readonly consumes: readonly (keyof CloudEvents)[];
  /** Builds the module's services and subscribes to the bus. A throw aborts the cloud's start. */
  start(ctx: ModuleContext): Promise<void>;
  /** Routes mounted under `/api` behind the session guard (paths start with `/`). */
  routes?(): Router;
  /** Routes mounted at the root without a session (e.g. what an unclaimed edge fetches); keep them few. */
  publicRoutes?(): Router;
  /** Idempotent; called in reverse start order. */
  stop(): Promise<void>;
}

/** For a module's accessors: its services exist only between start and stop. */
export function started<T>(value: T | undefined, module: string, what: string): T {
  if (value === undefined) throw new Error(`module ${module} is not started: ${what} is not available`);
  return value;
}
