/**
 * The commerce module: catalog, inventory with reservations, orders as an event-sourced aggregate
 * with CQRS read models, the checkout saga, payments behind a circuit breaker, and live shelf
 * stock. It talks to other domains only through events: it announces orders and asks fleet for
 * purchased devices (devicesPurchased), hears back (devicesProvisioned), and reads smart-shelf
 * counts from readingsCommitted. Confirmed orders with physical goods get a shipping label from the
 * carrier through the Shipping port (shipping.ts, label-requester.ts).
 */
import type { AuditLog } from "../identity/audit-log.js";
import { type CloudModule, type ModuleContext, started } from "../platform/module.js";
import { type Checkout, checkout } from "./checkout.js";
import { ConcurrencyError } from "./event-store.js";
import { commerceMigrations } from "./migrations.js";
import { fold, type OrderEvent } from "./order.js";
import { OrderWriter } from "./order-writer.js";
import { commerceRouter } from "./routes.js";
import { buildServices, type CommerceServices } from "./services.js";
import { Shipments } from "./shipments.js";
import type { Shipping } from "./shipping.js";
import type { CommerceTables } from "./tables.js";

export interface CommerceModule extends CloudModule {
  readonly services: CommerceServices;
  /** The checkout entry point (REST and GraphQL place orders through it). */
  readonly checkout: Checkout;
  /** The shipment command (warehouse updates: picked, shipped, delivered). */
  readonly shipments: Shipments;
}

export interface CommercePorts {
  /** The carrier that makes shipping labels (main.ts fills it when commerce.carrier_url is set). */
  readonly shipping?: (ctx: ModuleContext) => Shipping | undefined;
}

export function commerceModule(ports: CommercePorts = {}): CommerceModule {
  let parts: { services: CommerceServices; audit: AuditLog; shipments: Shipments; off: (() => void)[] } | undefined;
  const get = () => started(parts, "commerce", "the commerce services");
  const entry = checkout(
    () => get().services,
    () => get().audit,
  );
  return {
    name: "commerce",
    migrations: commerceMigrations,
    publishes: [
      "orderPlaced",
      "orderProgressed",
      "orderConfirmed",
      "orderCancelled",
      "devicesPurchased",
      "provisionedDevicesRevoked",
      "lowStockDetected",
    ],
    consumes: ["devicesProvisioned", "readingsCommitted"],
    async start(ctx: ModuleContext) {
      const services = buildServices(ctx.config, ctx.db, ctx.relay, ctx.registry, ctx.logger, ports.shipping?.(ctx));
      const added = await services.catalog.seed();
      for (const sku of added) await services.inventory.seed(sku, services.location, ctx.config.commerce.seed_stock);
      if (added.length > 0) ctx.logger.info({ products: added.length, location: services.location }, "catalog seeded");
      const writer = new OrderWriter(ctx.db.withTables<CommerceTables>(), services.events, services.projections, ctx.relay);
      const off = [
        ctx.bus.on("readingsCommitted", (e) => services.shelves.onReadings(e)),
        ctx.bus.on("devicesProvisioned", async (e) => {
          // Fleet created the identities: record it on the order's timeline (once per order).
          for (let attempt = 0; attempt < 5; attempt++) {
            const s = fold(e.orderId, await services.events.load<OrderEvent>(e.orderId));
            if (!s.placed || s.devicesProvisioned > 0) return;
            try {
              await writer.write(
                s,
                () => [{ type: "DevicesProvisioned", devices: [...e.devices] }],
                (n) => (n.terminal ? { status: "done", nextRunAt: 0 } : { status: "active", nextRunAt: Date.now() }),
              );
              return;
            } catch (err) {
              if (!(err instanceof ConcurrencyError)) throw err;
            }
          }
        }),
      ];
      services.saga.start();
      services.labels?.start();
      parts = { services, audit: ctx.audit, shipments: new Shipments(services.events, writer), off };
    },
    routes() {
      return commerceRouter(
        () => get().services,
        () => get().audit,
        () => entry,
      );
    },
    async stop() {
      const p = parts;
      parts = undefined;
      if (!p) return;
      for (const off of p.off) off();
      await p.services.labels?.stop();
      await p.services.saga.stop();
      p.services.payments.close();
    },
    get services() {
      return get().services;
    },
    get shipments() {
      return get().shipments;
    },
    get checkout() {
      get();
      return entry;
    },
  };
}
