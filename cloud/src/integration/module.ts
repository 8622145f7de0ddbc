/**
 * The integration module: domain events to the business's other systems. With `amqp.url` set, the
 * alert, edge presence and commerce events are recorded in an outbox and published to a RabbitMQ
 * topic exchange with publisher confirms (docs/amqp-events.md). With `amqp.fulfilment_queue` set too,
 * the warehouse's shipment updates are consumed from that queue and handed to commerce through the
 * fulfilment port (docs/event-contracts/fulfilment.md). Off by default.
 */

import type { CloudModule, ModuleContext } from "../platform/module.js";
import { AmqpOutbox } from "./amqp/amqp-outbox.js";
import { ConfirmPublisher } from "./amqp/confirm-publisher.js";
import { FulfilmentConsumer } from "./amqp/fulfilment-consumer.js";
import { FulfilmentHandler } from "./amqp/fulfilment-handler.js";
import { ROUTING_KEYS } from "./amqp/routing.js";
import { integrationMigrations } from "./migrations.js";
import type { FulfilmentOrders } from "./ports.js";

export interface IntegrationModule extends CloudModule {
  /** The AMQP outbox while RabbitMQ is configured (tests read its pending count). */
  readonly amqp: AmqpOutbox | undefined;
  /** The fulfilment consumer while `amqp.fulfilment_queue` is configured. */
  readonly fulfilment: { consumer: FulfilmentConsumer; handler: FulfilmentHandler } | undefined;
}

export interface IntegrationPorts {
  /** Commerce's shipment command. */
  readonly orders: () => FulfilmentOrders;
}

export function integrationModule(ports: IntegrationPorts): IntegrationModule {
  let parts:
    | {
        outbox: AmqpOutbox;
        publisher: ConfirmPublisher;
        offs: (() => void)[];
        fulfilment: { consumer: FulfilmentConsumer; handler: FulfilmentHandler } | undefined;
      }
    | undefined;
  return {
    name: "integration",
    migrations: integrationMigrations,
    publishes: [],
    consumes: ["alertUpdated", "edgeConnected", "edgeDisconnected", "orderPlaced", "orderConfirmed", "orderCancelled", "lowStockDetected"],
    async start(ctx: ModuleContext) {
      const { url, exchange, relay_poll_ms, ...f } = ctx.config.amqp;
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
      let fulfilment: { consumer: FulfilmentConsumer; handler: FulfilmentHandler } | undefined;
      if (f.fulfilment_queue) {
        const handler = new FulfilmentHandler(ctx.db, ports.orders(), f.reorder_wait_ms);
        const consumer = new FulfilmentConsumer(
          {
            url,
            exchange: f.fulfilment_exchange,
            queue: f.fulfilment_queue,
            deadLetterExchange: f.dead_letter_exchange,
            prefetch: f.prefetch,
            maxAttempts: f.max_attempts,
            sweepMs: Math.max(100, Math.min(10_000, Math.floor(f.reorder_wait_ms / 2))),
          },
          handler,
          ctx.logger,
          ctx.registry,
        );
        consumer.start();
        fulfilment = { consumer, handler };
      }
      parts = { outbox, publisher, offs, fulfilment };
    },
    async stop() {
      const p = parts;
      parts = undefined;
      if (!p) return;
      for (const off of p.offs) off();
      await p.fulfilment?.consumer.stop();
      await p.outbox.stop();
      await p.publisher.close();
    },
    get amqp() {
      return parts?.outbox;
    },
    get fulfilment() {
      return parts?.fulfilment;
    },
  };
}
