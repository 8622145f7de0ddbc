/** Everything the HTTP layer serves from, built in main.ts. */
import type { Router } from "express";
import type { AlertService } from "../alerts/index.js";
import type { CommandService, FleetRegistry } from "../fleet/index.js";
import type { ApiTokenStore, AuditLog, LoginRateLimiter, SessionStore, UserStore } from "../identity/index.js";
import type { LinkRecords } from "../ingest/link-records.js";
import type { SseFanout } from "../live/sse-stream.js";
import type { Logger } from "../platform/logger.js";
import type { Registry } from "../platform/metrics.js";
import type { TelemetryStore } from "../telemetry/telemetry-store.js";

export interface WebDeps {
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly tokens: ApiTokenStore;
  readonly audit: AuditLog;
  readonly alerts: AlertService;
  readonly sse: SseFanout;
  /** Failed logins per username + address. */
  readonly loginLimiter: LoginRateLimiter;
  /** Failed logins per address, whatever the username. */
  readonly addressLimiter: LoginRateLimiter;
  /** Origins besides the cloud's own whose pages may use a session (http.allowed_origins). */
  readonly allowedOrigins: readonly string[];
  readonly sessionTtlMs: number;
  readonly fleet: FleetRegistry;
  readonly commands: CommandService;
  readonly telemetry: TelemetryStore;
  /** Gap records and dead letters the edges' links stored. */
  readonly records: LinkRecords;
  /** Rotating and revoking edge tokens (admin). */
  readonly edgeAccess: {
    rotateToken(edgeId: string, by: string): Promise<string>;
    revoke(edgeId: string, by: string): Promise<void>;
  };
  readonly registry: Registry;
  readonly health: () => Promise<Record<string, boolean>>;
  /** The routes of the modules that declare some (mounted under /api behind the session guard). */
  readonly moduleRoutes: readonly Router[];
  /** The modules' public routes (mounted at the root, before the session guard). */
  readonly publicModuleRoutes?: readonly Router[];
  /** Folder with the built dashboard (index.html + assets). */
  readonly dashboardDir: string;
  readonly logger: Logger;
}
