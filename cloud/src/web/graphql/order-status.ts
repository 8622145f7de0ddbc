/**
 * An order's statuses as an async iterator (the orderStatus subscription). Pushed by the bus: each
 * of the order's events (orderPlaced, orderProgressed, orderConfirmed, orderCancelled, which the
 * outbox relay emits after commit) makes it read the order's status history once and send the
 * statuses not sent yet. It listens before the first read, so no change falls between the two;
 * the history comes from the event stream, so a fast saga skips no status. It completes after a
 * final status: `cancelled`, or `delivered` when a warehouse sends shipment updates (picked, shipped
 * and delivered arrive as orderProgressed), else `confirmed`, after which nothing changes the order.
 * Nothing polls: without an event there is no read.
 */
import type { OrderStatus } from "@bitvelocity/api";
import type { OrderStatusChange } from "../../commerce/index.js";
import type { EventBus } from "../../platform/event-bus.js";

/** Final statuses without a warehouse integration, and with one. */
export const CONFIRMED_FINAL: ReadonlySet<OrderStatus> = new Set(["confirmed", "cancelled"]);
export const FULFILLED_FINAL: ReadonlySet<OrderStatus> = new Set(["delivered", "cancelled"]);

type Next = IteratorResult<{ orderStatus: OrderStatusChange }>;

export function orderStatusChanges(
  bus: EventBus,
  history: (orderId: string) => Promise<OrderStatusChange[]>,
  orderId: string,
  finalStatuses: ReadonlySet<OrderStatus> = CONFIRMED_FINAL,
): AsyncIterableIterator<{ orderStatus: OrderStatusChange }> {
  const queue: OrderStatusChange[] = [];
  let sent = 0;
  let final = false;
  let closed = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  // One read at a time, in order: events arriving during a read queue one more read after it.
  let reading: Promise<void> = Promise.resolve();

  const refresh = () => {
    reading = reading.then(async () => {
      if (closed || final) return;
      try {
        const changes = await history(orderId);
        for (const change of changes.slice(sent)) {
          queue.push(change);
          if (finalStatuses.has(change.status)) final = true;
        }
        sent = Math.max(sent, changes.length);
      } catch (err) {
        failure = err;
      }
      wake?.();
    });
  };
  const mine = (e: { orderId: string }) => {
    if (e.orderId === orderId) refresh();
  };
  const offs = [
    bus.on("orderPlaced", mine),
    bus.on("orderProgressed", mine),
    bus.on("orderConfirmed", mine),
    bus.on("orderCancelled", mine),
  ];
  const close = () => {
    closed = true;
    for (const off of offs) off();
    wake?.();
  };
  refresh();

  const iterator: AsyncIterableIterator<{ orderStatus: OrderStatusChange }> = {
    async next(): Promise<Next> {
      for (;;) {
        const change = queue.shift();
        if (change && !closed) return { value: { orderStatus: change }, done: false };
        if (failure !== undefined) {
          close();
          throw failure;
        }
        if (closed || final) {
          close();
          return { value: undefined, done: true };
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
    async return(): Promise<Next> {
      close();
      return { value: undefined, done: true };
    },
    async throw(err): Promise<Next> {
      close();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
