/**
 * The shipment command commerce offers the warehouse integration (main.ts wires it to the
 * integration module's fulfilment port): a shipment update (picked, shipped, delivered) appends
 * OrderPicked / OrderShipped / OrderDelivered to the order's stream, so its status and timeline
 * show it. Stages only move forward: an update for a stage the order has reached or passed is
 * `stale` (which also makes a re-delivered update harmless); one that skips a stage is `early`
 * (the caller may hold it until its predecessor arrives, or apply it with `allowGap`).
 */
import type { OrderStatus } from "@bitvelocity/api";
import { ConcurrencyError, type EventStore } from "./event-store.js";
import { fold, type OrderEvent } from "./order.js";
import type { OrderWriter } from "./order-writer.js";

export type ShipmentStage = "picked" | "shipped" | "delivered";

export interface ShipmentUpdate {
  readonly orderId: string;
  readonly stage: ShipmentStage;
  /** The warehouse's message id (kept on the event). */
  readonly messageId: string;
  readonly detail: string;
  /** When the warehouse says it happened (ms since the epoch). */
  readonly at: number;
  /** Apply even though an earlier stage is missing (it is then never recorded). */
  readonly allowGap?: boolean;
}

export type ShipmentOutcome =
  | { status: "applied" | "stale" | "early" }
  | { status: "rejected"; reason: "unknown order" | "order not confirmed" };

const RANK: Partial<Record<OrderStatus, number>> = { confirmed: 0, picked: 1, shipped: 2, delivered: 3 };
const STAGE_RANK: Record<ShipmentStage, number> = { picked: 1, shipped: 2, delivered: 3 };
const EVENT_OF = { picked: "OrderPicked", shipped: "OrderShipped", delivered: "OrderDelivered" } as const;

export class Shipments {
  constructor(
    private readonly events: EventStore,
    private readonly writer: OrderWriter,
  ) {}

  async record(u: ShipmentUpdate): Promise<ShipmentOutcome> {
    for (let attempt = 0; ; attempt++) {
      const s = fold(u.orderId, await this.events.load<OrderEvent>(u.orderId));
      if (!s.placed) return { status: "rejected", reason: "unknown order" };
      const rank = RANK[s.status];
      if (rank === undefined) return { status: "rejected", reason: "order not confirmed" };
      const wanted = STAGE_RANK[u.stage];
      if (wanted <= rank) return { status: "stale" };
      if (wanted > rank + 1 && !u.allowGap) return { status: "early" };
      try {
        const event: OrderEvent = { type: EVENT_OF[u.stage], messageId: u.messageId, detail: u.detail, reportedAt: u.at };
        await this.writer.write(
          s,
          () => [event],
          () => ({ status: "done", nextRunAt: 0 }),
        );
        return { status: "applied" };
      } catch (err) {
        // Another writer appended to the stream first: read it again and decide again.
        if (!(err instanceof ConcurrencyError) || attempt >= 4) throw err;
      }
    }
  }
}
