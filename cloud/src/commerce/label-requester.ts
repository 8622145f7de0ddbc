/**
 * Shipping labels for confirmed orders with physical goods, through the Shipping port.
 * The order writer records that a label is owed (commerce_labels, in the confirmation's
 * transaction); this runner works through what is due, one order at a time per order:
 *   LabelRequested (first attempt) → carrier call → Labelled (tracking number) — or LabelFailed.
 * - The carrier is idempotent by order id, so a call repeated after a crash or a lost answer
 *   yields the same tracking number; two runners on one order (two nodes) are settled by the
 *   event store's optimistic concurrency: one appends, the other re-reads and sees it labelled.
 * - Carrier unavailable (kind "transient": down, timeout, soap:Server fault, breaker open):
 *   LabelFailed { retrying } and the order is due again after a backoff (doubling, capped);
 *   the order stays confirmed. A refusal (soap:Client fault) is LabelFailed for good.
 * - The schedule row is written in the same transaction as the event it follows.
 */
import { BvError, type Logger } from "@bitvelocity/common";
import type { Kysely, Transaction } from "kysely";
import { ConcurrencyError, type EventStore } from "./event-store.js";
import { fold, type OrderEvent, type OrderState } from "./order.js";
import type { LabelQueue, OrderWriter, SagaSchedule } from "./order-writer.js";
import { parcelsOf, type Shipping } from "./shipping.js";
import type { CommerceTables } from "./tables.js";

export interface LabelOptions {
  readonly pollMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** A label call not finished after this long is due again (a crashed runner). */
  readonly leaseMs: number;
}

type Row = { status: "pending" | "done" | "failed"; attempts: number; nextRunAt: number };

export class LabelRequester implements LabelQueue {
  private readonly running = new Map<string, Promise<OrderState>>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<CommerceTables>,
    private readonly store: EventStore,
    private readonly writer: OrderWriter,
    private readonly shipping: Shipping,
    private readonly siteNames: ReadonlyMap<string, string>,
    private readonly options: LabelOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.poll(), this.options.pollMs);
    this.timer.unref();
    this.poll();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
    await Promise.allSettled([...this.running.values()]);
  }

  /** An order owes a label now (called after the confirmation committed). */
  due(orderId: string): void {
    if (!this.timer) return;
    this.run(orderId).catch((err: unknown) => this.logger.warn({ err, orderId }, "label request failed; the poller retries it"));
  }

  /** Requests the order's label unless it has one; one runner per order on this node. */
  run(orderId: string): Promise<OrderState> {
    const current = this.running.get(orderId);
    if (current) return current;
    const p = this.drive(orderId).finally(() => this.running.delete(orderId));
    this.running.set(orderId, p);
    return p;
  }

  private poll(): void {
    if (this.polling || !this.timer) return;
    this.polling = this.runDue()
      .catch((err: unknown) => this.logger.warn({ err }, "label poll failed; retrying at the next poll"))
      .finally(() => {
        this.polling = undefined;
      });
  }

  private async runDue(): Promise<void> {
    const due = await this.db
      .selectFrom("commerce_labels")
      .select("order_id")
      .where("status", "=", "pending")
      .where("next_run_at", "<=", Date.now())
      .orderBy("next_run_at")
      .limit(100)
      .execute();
    // One at a time: while the carrier is down every call would fail the same way (and the breaker answers fast).
    for (const r of due) {
      if (!this.timer) return;
      await this.run(r.order_id).catch((err: unknown) => this.logger.warn({ err, orderId: r.order_id }, "label request failed"));
    }
  }

  private async load(orderId: string): Promise<OrderState> {
    return fold(orderId, await this.store.load<OrderEvent>(orderId));
  }

  private async drive(orderId: string): Promise<OrderState> {
    for (let i = 0; i < 10; i++) {
      try {
        return await this.attempt(await this.load(orderId));
      } catch (err) {
        if (!(err instanceof ConcurrencyError)) throw err;
      }
    }
    return this.load(orderId);
  }

  /** Saga schedule after a label event: the saga is finished with a confirmed order. */
  private readonly sagaDone = (): SagaSchedule => ({ status: "done", nextRunAt: 0 });

  private async attempt(state: OrderState): Promise<OrderState> {
    let s = state;
    const placed = s.placed;
    if (!placed || s.status !== "confirmed" || s.label.status === "labelled" || s.label.status === "failed") {
      await this.schedule(this.db, s.id, {
        status: s.label.status === "failed" ? "failed" : "done",
        attempts: s.label.attempts,
        nextRunAt: 0,
      });
      return s;
    }
    const parcels = parcelsOf(placed.lines);
    const lease: Row = { status: "pending", attempts: s.label.attempts, nextRunAt: Date.now() + this.options.leaseMs };
    if (s.label.status === "none") {
      s = await this.writer.write(
        s,
        async (tx) => {
          await this.schedule(tx, s.id, lease);
          return [{ type: "LabelRequested", parcels: parcels.length, siteId: placed.siteId }];
        },
        this.sagaDone,
      );
    } else {
      await this.schedule(this.db, s.id, lease);
    }
    const attempt = s.label.attempts + 1;
    let label: Awaited<ReturnType<Shipping["createShipment"]>>;
    try {
      label = await this.shipping.createShipment({
        orderId: s.id,
        shipTo: { siteId: placed.siteId, name: this.siteNames.get(placed.siteId) ?? placed.siteId },
        parcels,
      });
    } catch (err) {
      const retrying = err instanceof BvError && err.kind === "transient";
      if (!(err instanceof BvError)) this.logger.warn({ err, orderId: s.id }, "unexpected error from the carrier");
      const reason = err instanceof Error ? err.message : String(err);
      const delay = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** Math.min(attempt - 1, 16));
      const row: Row = retrying
        ? { status: "pending", attempts: attempt, nextRunAt: Date.now() + delay }
        : { status: "failed", attempts: attempt, nextRunAt: 0 };
      const current = s;
      return this.writer.write(
        current,
        async (tx) => {
          await this.schedule(tx, current.id, row);
          return [{ type: "LabelFailed", reason, attempt, retrying }];
        },
        this.sagaDone,
      );
    }
    const current = s;
    return this.writer.write(
      current,
      async (tx) => {
        await this.schedule(tx, current.id, { status: "done", attempts: attempt, nextRunAt: 0 });
        return [{ type: "Labelled", trackingNumber: label.trackingNumber, service: label.service, label: label.label }];
      },
      this.sagaDone,
    );
  }

  private async schedule(db: Kysely<CommerceTables> | Transaction<CommerceTables>, orderId: string, row: Row): Promise<void> {
    const values = { status: row.status, attempts: row.attempts, next_run_at: row.nextRunAt, updated_at: Date.now() };
    await db
      .insertInto("commerce_labels")
      .values({ order_id: orderId, ...values })
      .onConflict((oc) => oc.column("order_id").doUpdateSet(values))
      .execute();
  }
}
