/** The commerce services, built once at start (module.ts) and read by the routes. */
import type { Product } from "@bitvelocity/api";
import type { Logger } from "@bitvelocity/common";
import { Counter, Histogram, type Registry } from "prom-client";
import type { CloudConfig } from "../platform/config.js";
import type { Database } from "../platform/database.js";
import type { OutboxRelay } from "../platform/event-outbox.js";
import { Catalog, productOf } from "./catalog.js";
import { CheckoutSaga } from "./checkout-saga.js";
import { EventStore } from "./event-store.js";
import { Inventory } from "./inventory.js";
import { LabelRequester } from "./label-requester.js";
import { OrderService } from "./order-service.js";
import { OrderWriter } from "./order-writer.js";
import { PaymentsClient } from "./payments-client.js";
import { Projections } from "./projections.js";
import { ShelfStock } from "./shelf-stock.js";
import type { Shipping } from "./shipping.js";
import type { CommerceTables } from "./tables.js";

export interface CommerceServices {
  readonly location: string;
  /** The locations stock may be adjusted at: the warehouse, the configured sites, and any location that holds stock. */
  locations(): Promise<string[]>;
  readonly catalog: Catalog;
  readonly inventory: Inventory;
  readonly events: EventStore;
  readonly projections: Projections;
  readonly orders: OrderService;
  readonly saga: CheckoutSaga;
  readonly payments: PaymentsClient;
  readonly shelves: ShelfStock;
  /** The catalog with what is available at the shop's warehouse (`all`: inactive products too). */
  products(all: boolean): Promise<Product[]>;
  /** Shipping labels for confirmed orders, when a carrier is configured. */
  readonly labels: LabelRequester | undefined;
  /** Counts a finished checkout request by the order's status, with its duration. */
  observe(status: string, seconds: number): void;
}

export function buildServices(
  config: CloudConfig,
  database: Database,
  relay: Pick<OutboxRelay, "kick">,
  registry: Registry,
  logger: Logger,
  shipping?: Shipping,
): CommerceServices {
  const c = config.commerce;
  const db = database.withTables<CommerceTables>();
  const catalog = new Catalog(db);
  const inventory = new Inventory(db);
  const events = new EventStore(db);
  const projections = new Projections(db, events);
  const writer = new OrderWriter(db, events, projections, relay);
  const payments = new PaymentsClient(
    {
      url: c.payments_url.replace(/\/+$/, ""),
      timeoutMs: c.payments_timeout_ms,
      retries: c.payments_attempts - 1,
      breakerFailures: c.breaker_failures,
      halfOpenAfterMs: c.breaker_half_open_ms,
    },
    registry,
  );
  const leaseMs = Math.max(c.payments_timeout_ms * (c.payments_attempts + 1) * 4, 10_000);
  const saga = new CheckoutSaga(
    db,
    events,
    writer,
    inventory,
    payments,
    {
      location: c.warehouse,
      reservationTtlMs: c.reservation_ttl_ms,
      leaseMs,
      retryBaseMs: Math.min(500, c.saga_retry_max_ms),
      retryMaxMs: c.saga_retry_max_ms,
      maxDeferrals: 1000,
      pollMs: c.saga_poll_ms,
    },
    logger.child({ part: "saga" }),
  );
  const orders = new OrderService(db, catalog, writer, new Set(config.sites.map((s) => s.id)), leaseMs);
  const labels = shipping
    ? new LabelRequester(
        db,
        events,
        writer,
        shipping,
        new Map(config.sites.map((site) => [site.id, site.name])),
        {
          pollMs: c.saga_poll_ms,
          retryBaseMs: Math.min(500, c.label_retry_max_ms),
          retryMaxMs: c.label_retry_max_ms,
          leaseMs: Math.max(c.carrier_timeout_ms * (c.carrier_attempts + 1) * 4, 10_000),
        },
        logger.child({ part: "labels" }),
      )
    : undefined;
  writer.labels = labels;
  const shelves = new ShelfStock(db, relay, { low: c.shelf_low, high: c.shelf_high }, logger.child({ part: "shelves" }));
  const placed = new Counter({
    name: "bv_commerce_checkouts_total",
    help: "Checkout requests by the order's status when answered (confirmed, cancelled, payment_pending, …)",
    labelNames: ["status"],
    registers: [registry],
  });
  const latency = new Histogram({
    name: "bv_commerce_checkout_seconds",
    help: "Checkout request duration, end to end (saga included)",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    location: c.warehouse,
    async locations() {
      return [...new Set([c.warehouse, ...config.sites.map((site) => site.id), ...(await inventory.locations())])].sort();
    },
    catalog,
    inventory,
    events,
    projections,
    orders,
    saga,
    payments,
    shelves,
    async products(all) {
      const available = await inventory.availableAt(c.warehouse);
      return (await catalog.rows(all)).map((r) => productOf(r, available.get(r.sku) ?? 0));
    },
    labels,
    observe(status, seconds) {
      placed.inc({ status });
      latency.observe(seconds);
    },
  };
}
