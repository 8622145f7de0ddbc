/**
 * The integration module: domain events to the business's other systems. With `amqp.url` set, the
 * alert, edge presence and commerce events are recorded in an outbox and published to a RabbitMQ
 * topic exchange with publisher confirms (docs/amqp-events.md). Off by default.
 */

import type { CloudModule, ModuleContext } from "../platform/module.js";
import { AmqpOutbox } from "./amqp/amqp-outbox.js";
import { ConfirmPublisher } from "./amqp/confirm-publisher.js";
import { ROUTING_KEYS } from "./amqp/routing.js";
import { integrationMigrations } from "./migrations.js";

export interface IntegrationModule extends CloudModule {
  /** The AMQP outbox while RabbitMQ is configured (tests read its pending count). */
  readonly amqp: AmqpOutbox | undefined;
}

export function integrationModule(): IntegrationModule {
  let parts: { outbox: AmqpOutbox; publisher: ConfirmPublisher; offs: (() => void)[] } | undefined;
  return {
    name: "integration",
    migrations: integrationMigrations,
    publishes: [],
    consumes: ["alertUpdated", "edgeConnected", "edgeDisconnected", "orderPlaced", "orderConfirmed", "orderCancelled", "lowStockDetected"],
    async start(ctx: ModuleContext) {
      const { url, exchange, relay_poll_ms } = ctx.config.amqp;
      if (!url) return;
      const publisher = new ConfirmPublisher(url, exchange, ctx.logger);
      const outbox = new AmqpOutbox(ctx.db, publisher, ctx.logger, { pollMs: relay_poll_ms });
      const bus = ctx.bus;
      const k = ROUTING_KEYS;
      // Alerts only when raised, acknowledged or resolved (not every value change of an open alert).
      const lastState = new Map<string, string>();
      const offs = [
        bus.on("alertUpdated", (a) => {
          if (lastState.get(a.id) === a.state) return;
          lastState.set(a.id, a.state);
          if (a.state === "resolved") lastState.delete(a.id);
          outbox.record("alertUpdated", k.alertUpdated, a);
        }),
        bus.on("edgeConnected", (e) => outbox.record("edgeConnected", k.edgeConnected, { ...e, devices: e.devices.length })),
        bus.on("edgeDisconnected", (e) => outbox.record("edgeDisconnected", k.edgeDisconnected, e)),
        bus.on("orderPlaced", (e) => outbox.record("orderPlaced", k.orderPlaced, e)),
        bus.on("orderConfirmed", (e) => outbox.record("orderConfirmed", k.orderConfirmed, e)),
        bus.on("orderCancelled", (e) => outbox.record("orderCancelled", k.orderCancelled, e)),
        bus.on("lowStockDetected", (e) => outbox.record("lowStockDetected", k.lowStockDetected, e)),
      ];
      outbox.start();
      parts = { outbox, publisher, offs };
    },
    async stop() {
      const p = parts;
      parts = undefined;
      if (!p) return;
      for (const off of p.offs) off();
      await p.outbox.stop();
      await p.publisher.close();
    },
    get amqp() {
      return parts?.outbox;
    },
  };
}
