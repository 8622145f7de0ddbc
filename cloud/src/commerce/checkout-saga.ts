/**
 * The checkout saga, orchestrated: reserve stock → authorize payment → request the purchased
 * devices from fleet (event devicesPurchased) → take the reserved stock → capture → confirm.
 * Its state is the order's event stream (order.ts): each step reads the fold, does one thing and
 * appends what happened, so after a crash `run` carries on from the step the stream says is next.
 *
 * - Every provider call carries a key derived from the order and the step (`<order>:authorize`),
 *   so a step repeated after a crash or a retry never charges twice.
 * - Every provider call has a timeout (payments-client.ts); database steps are one transaction.
 * - Payments unavailable (provider down or breaker open): the order waits (PaymentDeferred,
 *   status payment_pending) and the poller runs it again with backoff; its reservation is kept.
 * - A step that fails for good appends CheckoutFailed; the saga then compensates in reverse:
 *   revoke provisioned devices → void (or refund) the payment → release (or return) the stock →
 *   OrderCancelled.
 * - Two runners on one order (this node's poller and a request, or two nodes): the event store's
 *   optimistic concurrency lets one append; the other re-reads and sees the step done.
 */
import type { Logger } from "@bitvelocity/common";
import type { Kysely, Transaction } from "kysely";
import { ConcurrencyError, type EventStore } from "./event-store.js";
import type { Inventory } from "./inventory.js";
import { fold, type OrderEvent, type OrderState } from "./order.js";
import type { OrderWriter, SagaSchedule } from "./order-writer.js";
import { PaymentRefused, type PaymentsClient, PaymentsUnavailable } from "./payments-client.js";
import type { CommerceTables } from "./tables.js";

export interface SagaOptions {
  readonly location: string;
  readonly reservationTtlMs: number;
  /** A running saga not finished after this long is picked up again by the poller (crash). */
  readonly leaseMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** Give up (compensate, cancel) after this many payment deferrals. */
  readonly maxDeferrals: number;
  readonly pollMs: number;
}

/** The order after the step, or "wait": the saga stops until the poller runs it again. */
type StepOutcome = OrderState | "wait";

export class CheckoutSaga {
  private readonly running = new Map<string, Promise<OrderState>>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<CommerceTables>,
    private readonly store: EventStore,
    private readonly writer: OrderWriter,
    private readonly inventory: Inventory,
    private readonly payments: PaymentsClient,
    private readonly options: SagaOptions,
    private readonly logger: Logger,
  ) {}

  /** Resumes every unfinished saga (after a crash), then polls for due ones. */
  start(): void {
    this.timer = setInterval(() => this.poll(true), this.options.pollMs);
    this.timer.unref();
    this.poll(false);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
    await Promise.allSettled([...this.running.values()]);
  }

  /** Sagas not finished (for /metrics and the payments view). */
  async pending(): Promise<number> {
    const row = await this.db
      .selectFrom("commerce_sagas")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("status", "=", "waiting")
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Runs the order's saga until it is finished or has to wait; one runner per order on this node. */
  run(orderId: string): Promise<OrderState> {
    const current = this.running.get(orderId);
    if (current) return current;
    const p = this.drive(orderId).finally(() => this.running.delete(orderId));
    this.running.set(orderId, p);
    return p;
  }

  private poll(dueOnly: boolean): void {
    if (this.polling || !this.timer) return;
    this.polling = this.runDue(dueOnly)
      .catch((err: unknown) => this.logger.warn({ err }, "saga poll failed; retrying at the next poll"))
      .finally(() => {
        this.polling = undefined;
      });
  }

  private async runDue(dueOnly: boolean): Promise<void> {
    const now = Date.now();
    let q = this.db.selectFrom("commerce_sagas").select("order_id").where("status", "!=", "done").orderBy("next_run_at").limit(200);
    if (dueOnly) q = q.where("next_run_at", "<=", now);
    const due = await q.execute();
    // Abandoned reservations (a saga that can no longer run them): fail the order, which releases them.
    // Not an order this poll resumes: its saga may have sent a provider call whose answer a crash
    // lost, and only the saga, repeating that call under its key, learns the authorization to undo.
    // Nor an order whose saga another node is running (its lease is live): that node may be waiting
    // for the provider's answer to an authorize, and an order failed under it would lose the
    // authorization its compensation has to void. That saga meets the expiry itself when it takes
    // the stock (the capture is then refunded), or its lease lapses and a poll resumes it.
    const resuming = new Set(due.map((r) => r.order_id));
    const expired = (await this.inventory.expiredOrders(now)).filter((id) => !this.running.has(id) && !resuming.has(id));
    const leased = await this.leased(expired, now);
    for (const id of expired) if (!leased.has(id)) await this.failIfHeld(id, "reservation expired");
    await Promise.allSettled(due.map((r) => this.run(r.order_id)));
  }

  /** Of these orders, those whose saga a runner holds (status active, lease not lapsed). */
  private async leased(orderIds: readonly string[], now: number): Promise<Set<string>> {
    if (orderIds.length === 0) return new Set();
    const rows = await this.db
      .selectFrom("commerce_sagas")
      .select("order_id")
      .where("order_id", "in", orderIds)
      .where("status", "=", "active")
      .where("next_run_at", ">", now)
      .execute();
    return new Set(rows.map((r) => r.order_id));
  }

  private async failIfHeld(orderId: string, reason: string): Promise<void> {
    const s = await this.load(orderId);
    // An authorized order is left to its saga (the poller resumes it; its stock stays held): failing
    // it here could race a capture already sent to the provider whose record is not written yet.
    if (s.terminal || s.failure || s.stockCommitted || s.authorizationId) return;
    try {
      await this.writer.write(
        s,
        () => [{ type: "CheckoutFailed", step: "reserve", reason }],
        () => this.scheduleNow(),
      );
    } catch (err) {
      if (!(err instanceof ConcurrencyError)) throw err;
    }
  }

  private async load(orderId: string): Promise<OrderState> {
    return fold(orderId, await this.store.load<OrderEvent>(orderId));
  }

  private async drive(orderId: string): Promise<OrderState> {
    // The fold stays in memory between steps (each write returns it); the stream is read again
    // only when another runner appended first.
    let s = await this.load(orderId);
    for (let i = 0; i < 50; i++) {
      if (s.terminal || !s.placed) return s;
      try {
        const next = await this.step(s);
        if (next === "wait") return this.load(orderId);
        s = next;
      } catch (err) {
        if (!(err instanceof ConcurrencyError)) throw err;
        s = await this.load(orderId);
      }
    }
    this.logger.warn({ orderId }, "saga did not settle in 50 steps; the poller resumes it");
    return this.load(orderId);
  }

  private scheduleNow(): SagaSchedule {
    return { status: "active", nextRunAt: Date.now() + this.options.leaseMs };
  }

  /** Done when terminal, else leased for a while (a crash leaves it due to the poller). */
  private readonly next = (s: OrderState): SagaSchedule =>
    s.terminal ? { status: "done", nextRunAt: 0 } : { status: "active", nextRunAt: Date.now() + this.options.leaseMs };

  /**
   * One step: the first thing the fold says is not done yet. Steps that need no wait share a
   * transaction: the device request is written with the authorization, and the stock is taken
   * in the capture's transaction (if the reservation expired meanwhile, the capture is refunded).
   */
  private async step(s: OrderState): Promise<StepOutcome> {
    const placed = s.placed!;
    if (s.failure !== null) return this.compensate(s);
    if (!s.reserved) return this.reserve(s);
    const devices = placed.lines.filter((l) => l.kind === "device" && l.deviceType !== null);
    const deviceRequest = (): OrderEvent[] =>
      devices.length > 0 && !s.devicesRequested
        ? [{ type: "DevicesRequested", devices: devices.map((l) => ({ deviceType: l.deviceType!, quantity: l.quantity })) }]
        : [];
    if (!s.authorizationId) {
      return this.pay(
        s,
        "authorize",
        () => this.payments.authorize(`${s.id}:authorize`, s.id, placed.totalMinor, placed.currency),
        async (r) => [{ type: "PaymentAuthorized", authorizationId: r.authorizationId }, ...deviceRequest()],
      );
    }
    if (deviceRequest().length > 0) return this.writer.write(s, deviceRequest, this.next);
    const authorizationId = s.authorizationId;
    return this.pay(
      s,
      "capture",
      () => this.payments.capture(`${s.id}:capture`, authorizationId),
      async (_r, tx) => {
        if (s.stockCommitted) return [{ type: "PaymentCaptured" }, { type: "OrderConfirmed" }];
        if (await this.inventory.commit(tx, s.id, Date.now()))
          return [{ type: "StockCommitted" }, { type: "PaymentCaptured" }, { type: "OrderConfirmed" }];
        return [{ type: "PaymentCaptured" }, { type: "CheckoutFailed", step: "commit-stock", reason: "the stock reservation expired" }];
      },
    );
  }

  private async reserve(s: OrderState): Promise<StepOutcome> {
    const placed = s.placed!;
    const now = Date.now();
    const lines = placed.lines.map((l) => ({ sku: l.sku, quantity: l.quantity }));
    let refused: string | undefined;
    try {
      return await this.writer.write(
        s,
        async (tx) => {
          const r = await this.inventory.reserve(tx, s.id, this.options.location, lines, now + this.options.reservationTtlMs, now);
          if (!r.ok) throw new ReserveRefused(r.reason);
          return [{ type: "StockReserved", location: this.options.location, reservations: r.reservations }];
        },
        this.next,
        now,
      );
    } catch (err) {
      if (!(err instanceof ReserveRefused)) throw err;
      refused = err.message;
    }
    const reason = refused;
    return this.writer.write(s, () => [{ type: "CheckoutFailed", step: "reserve", reason }], this.next);
  }

  /** A provider call: success appends `done`; unavailable defers (wait); refused fails the checkout. */
  private async pay<T>(
    s: OrderState,
    step: "authorize" | "capture",
    call: () => Promise<T>,
    done: (result: T, tx: Transaction<CommerceTables>) => Promise<OrderEvent[]>,
  ): Promise<StepOutcome> {
    let result: T;
    try {
      result = await call();
    } catch (err) {
      if (err instanceof PaymentsUnavailable) return this.defer(s, step, err.message);
      if (err instanceof PaymentRefused)
        return this.writer.write(s, () => [{ type: "CheckoutFailed", step, reason: err.message }], this.next);
      throw err;
    }
    return this.writer.write(s, (tx) => done(result, tx), this.next);
  }

  private async defer(s: OrderState, step: "authorize" | "capture" | "void" | "refund", reason: string): Promise<StepOutcome> {
    const attempt = s.deferrals + 1;
    if (attempt > this.options.maxDeferrals && !s.failure && step === "authorize") {
      return this.writer.write(
        s,
        () => [{ type: "CheckoutFailed", step, reason: `gave up after ${s.deferrals} attempts: ${reason}` }],
        this.next,
      );
    }
    const delay = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** Math.min(attempt - 1, 16));
    const nextRunAt = Date.now() + delay;
    // The stock stays promised while the order waits for the provider.
    await this.inventory.extend(s.id, nextRunAt + this.options.reservationTtlMs);
    await this.writer.write(
      s,
      () => [{ type: "PaymentDeferred", step, reason, attempt }],
      () => ({ status: "waiting", nextRunAt, attempts: attempt }),
    );
    return "wait";
  }

  /** True when refunded, false when the provider refuses (not captured), "unavailable" to retry later. */
  private async refundInstead(orderId: string, auth: string): Promise<boolean | "unavailable"> {
    try {
      await this.payments.refund(`${orderId}:refund`, auth);
      return true;
    } catch (err) {
      if (err instanceof PaymentsUnavailable) return "unavailable";
      if (err instanceof PaymentRefused) return false;
      throw err;
    }
  }

  /** Compensations in reverse order of the steps that happened, then the cancellation. */
  private async compensate(s: OrderState): Promise<StepOutcome> {
    const reason = s.failure ?? "checkout failed";
    if (s.devicesRequested && !s.compensated.has("devices")) {
      return this.writer.write(
        s,
        () => [{ type: "Compensated", step: "devices", detail: "provisioned device identities revoked" }],
        this.next,
      );
    }
    if (s.authorizationId && !s.compensated.has("payment")) {
      const auth = s.authorizationId;
      const op = s.captured ? "refund" : "void";
      let done: string = op === "refund" ? "refunded" : "voided";
      try {
        if (op === "refund") await this.payments.refund(`${s.id}:refund`, auth);
        else await this.payments.void(`${s.id}:void`, auth);
      } catch (err) {
        if (err instanceof PaymentsUnavailable) return this.defer(s, op, err.message);
        if (!(err instanceof PaymentRefused)) throw err;
        // A void refused (409): the provider may have captured it for a capture whose record was
        // lost (the runner crashed or lost a race after the call). Refund it, by the same key as
        // any refund of this order; a refund refused too means nothing is left to undo.
        const refunded = op === "void" ? await this.refundInstead(s.id, auth) : false;
        if (refunded === "unavailable") return this.defer(s, "refund", "payments unavailable");
        if (refunded) done = "refunded (it had been captured)";
        else this.logger.warn({ orderId: s.id, err: err.message }, `${op} refused during compensation: nothing left to undo`);
      }
      return this.writer.write(s, () => [{ type: "Compensated", step: "payment", detail: `authorization ${auth} ${done}` }], this.next);
    }
    if (s.reserved && !s.compensated.has("stock")) {
      return this.writer.write(
        s,
        async (tx) => {
          const units = await this.inventory.release(tx, s.id, Date.now());
          return [{ type: "Compensated", step: "stock", detail: `${units} unit(s) back in stock` }];
        },
        this.next,
      );
    }
    return this.writer.write(s, () => [{ type: "OrderCancelled", reason }], this.next);
  }
}

class ReserveRefused extends Error {}
