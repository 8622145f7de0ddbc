/** What the GraphQL adapter serves from: the same services and ports the REST routes use (built in main.ts). */
import type { AlertService } from "../../alerts/index.js";
import type { Checkout, CommerceServices } from "../../commerce/index.js";
import type { CommandService, FleetRegistry } from "../../fleet/index.js";
import type { ApiTokenStore, AuditLog, Principal, SessionStore } from "../../identity/index.js";
import type { EventBus } from "../../platform/event-bus.js";
import type { Logger } from "../../platform/logger.js";
import type { Registry } from "../../platform/metrics.js";
import type { TelemetryStore } from "../../telemetry/telemetry-store.js";
import type { Loaders } from "./loaders.js";

export interface GraphqlDeps {
  readonly sessions: SessionStore;
  readonly tokens: ApiTokenStore;
  readonly audit: AuditLog;
  readonly alerts: AlertService;
  readonly fleet: FleetRegistry;
  readonly commands: CommandService;
  readonly telemetry: TelemetryStore;
  /** Commerce's read services (catalog, stock, order read models) and its checkout entry point. */
  readonly commerce: CommerceServices;
  readonly checkout: Checkout;
  readonly bus: EventBus;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Origins besides the cloud's own whose pages may use a session cookie here (http.allowed_origins). */
  readonly allowedOrigins?: readonly string[];
  /**
   * A warehouse sends shipment updates (amqp.fulfilment_queue): an order then moves on after
   * `confirmed` (picked, shipped, delivered) and orderStatus follows it to `delivered`.
   */
  readonly fulfilment?: boolean;
}

/** Per operation: who asks, and the batching loaders (fresh per request, so nothing leaks between users). */
export interface GraphqlContext {
  readonly user: Principal;
  readonly loaders: Loaders;
}
