/**
 * What the integration module needs from other domains, filled by main.ts. The fulfilment port is
 * commerce's shipment command (commerce/shipments.ts): stages only move forward; `early` means a
 * stage before it is missing, `stale` that the order has reached or passed it.
 */
export interface FulfilmentUpdate {
  readonly orderId: string;
  readonly stage: "picked" | "shipped" | "delivered";
  readonly messageId: string;
  readonly detail: string;
  readonly at: number;
  /** Apply although an earlier stage is missing. */
  readonly allowGap?: boolean;
}

export type FulfilmentOutcome = { status: "applied" | "stale" | "early" } | { status: "rejected"; reason: string };

export interface FulfilmentOrders {
  record(update: FulfilmentUpdate): Promise<FulfilmentOutcome>;
}
