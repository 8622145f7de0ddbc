/** Which bus events go to RabbitMQ, under which routing key (`<domain>.<event>`; docs/amqp-events.md). */
import type { CloudEvents } from "../../platform/events.js";

export const ROUTING_KEYS = {
  alertUpdated: "alerts.alert-updated",
  edgeConnected: "fleet.edge-online",
  edgeDisconnected: "fleet.edge-offline",
  orderPlaced: "commerce.order-placed",
  orderConfirmed: "commerce.order-confirmed",
  orderCancelled: "commerce.order-cancelled",
  lowStockDetected: "commerce.low-stock",
} as const satisfies Partial<Record<keyof CloudEvents, string>>;

export type PublishedEvent = keyof typeof ROUTING_KEYS;
