/**
 * Writes to an order stream: the events, the read models they feed, the public events they
 * announce (through the transactional outbox) and the saga's schedule — all in one transaction,
 * so a crash leaves either all of them or none. Optimistic concurrency comes from the event store.
 */
import { type Kysely, PostgresAdapter, type Transaction } from "kysely";
import type { OutboxRelay } from "../platform/event-outbox.js";
import { appendEvent } from "../platform/event-outbox.js";
import { GroupCommit } from "../platform/group-commit.js";
import { PrecompiledInsert } from "../platform/precompiled.js";
import type { EventStore, StoredEvent } from "./event-store.js";
import { applyEvent, type OrderEvent, type OrderState, timelineOf } from "./order.js";
import type { Projections } from "./projections.js";
import { needsLabel } from "./shipping.js";
import type { CommerceTables } from "./tables.js";

/** The saga's schedule, written with every order event: see platform/precompiled.ts. */
const SAGA_UPSERT = new PrecompiledInsert(
  'insert into "commerce_sagas" ("order_id", "status", "attempts", "next_run_at", "updated_at")',
  5,
  ' on conflict ("order_id") do update set "status" = excluded."status", "attempts" = excluded."attempts", ' +
    '"next_run_at" = excluded."next_run_at", "updated_at" = excluded."updated_at"',
);

export type SagaSchedule = { status: "active" | "waiting" | "done"; nextRunAt: number; attempts?: number };

/** Who runs label requests (label-requester.ts): told when an order owes a label. */
export interface LabelQueue {
  due(orderId: string): void;
}

export class OrderWriter {
  /** Set when a carrier is configured: a confirmed order with physical goods then owes a label. */
  labels: LabelQueue | undefined;

  /** SQLite only: see the constructor. */
  private readonly group: GroupCommit<CommerceTables> | undefined;

  constructor(
    private readonly db: Kysely<CommerceTables>,
    private readonly store: EventStore,
    private readonly projections: Projections,
    private readonly relay: Pick<OutboxRelay, "kick">,
  ) {
    // On SQLite the writes of one event-loop turn (the saga steps of concurrent orders) share a
    // commit, each in its own savepoint: a conflict in one order fails that order's write only
    // (group-commit.ts). On PostgreSQL each write keeps its own transaction: there a group holds
    // the hot stock row's lock until its commit and serialises the pool behind it, which measured
    // slower than a transaction per write (bench/RESULTS.md).
    this.group = db.getExecutor().adapter instanceof PostgresAdapter ? undefined : new GroupCommit(db, { concurrency: 1 });
  }

  private transaction<T>(work: (tx: Transaction<CommerceTables>) => Promise<T>): Promise<T> {
    return this.group ? this.group.run(work) : this.db.transaction().execute(work);
  }

  /**
   * Appends the events `build` returns after `state` (which must be the stream's latest fold),
   * with whatever else `build` wrote in the same transaction. Throws ConcurrencyError if another
   * writer got there first (the write rolls back, `build`'s writes included). On SQLite the
   * transaction may carry other orders' writes of the same turn (group commit); each is rolled
   * back on its own.
   */
  async write(
    state: OrderState,
    build: (tx: Transaction<CommerceTables>) => Promise<OrderEvent[]> | OrderEvent[],
    schedule: (next: OrderState) => SagaSchedule,
    now = Date.now(),
  ): Promise<OrderState> {
    const labels = this.labels;
    let owesLabel = false;
    const next = await this.transaction(async (tx) => {
      const events = await build(tx);
      const stored = await this.store.append(tx, state.id, state.version, events, now);
      const after = stored.reduce((s, e) => applyEvent(s, e.data, e.version, e.at), state);
      await this.projections.apply(tx, after, stored);
      for (const e of stored) await this.announce(tx, after, e);
      // The label is owed in the confirmation's transaction: a confirmed order never misses its label.
      owesLabel = labels !== undefined && stored.some((e) => e.data.type === "OrderConfirmed") && needsLabel(after.placed?.lines ?? []);
      if (owesLabel)
        await tx
          .insertInto("commerce_labels")
          .values({ order_id: state.id, status: "pending", attempts: 0, next_run_at: now, updated_at: now })
          .onConflict((oc) => oc.column("order_id").doNothing())
          .execute();
      const plan = schedule(after);
      await SAGA_UPSERT.insert(tx, [[state.id, plan.status, plan.attempts ?? 0, plan.nextRunAt, now]]);
      return after;
    });
    this.relay.kick();
    if (owesLabel) labels?.due(state.id);
    return next;
  }

  /** The public events (events-commerce.ts) an order event stands for. */
  private async announce(tx: Transaction<CommerceTables>, s: OrderState, e: StoredEvent<OrderEvent>): Promise<void> {
    const placed = s.placed;
    if (!placed) return;
    const base = { orderId: s.id, siteId: placed.siteId };
    const d = e.data;
    switch (d.type) {
      case "OrderPlaced":
        await appendEvent(tx, "orderPlaced", {
          ...base,
          placedBy: d.placedBy,
          lines: d.lines.map((l) => ({
            sku: l.sku,
            kind: l.kind,
            deviceType: l.deviceType,
            quantity: l.quantity,
            unitPriceMinor: l.unitPriceMinor,
          })),
          totalMinor: d.totalMinor,
          currency: d.currency,
          at: e.at,
        });
        return;
      case "OrderConfirmed":
        await appendEvent(tx, "orderConfirmed", { ...base, totalMinor: placed.totalMinor, currency: placed.currency, at: e.at });
        return;
      case "OrderCancelled":
        await appendEvent(tx, "orderCancelled", { ...base, reason: d.reason, at: e.at });
        return;
      case "DevicesRequested":
        await appendEvent(tx, "devicesPurchased", { ...base, devices: d.devices });
        break;
      case "Compensated":
        if (d.step === "devices") await appendEvent(tx, "provisionedDevicesRevoked", base);
        break;
      default:
        break;
    }
    const t = timelineOf(d);
    const status =
      t.status === "retrying" || t.status === "failed" || t.status === "compensated" || t.status === "started" ? t.status : "succeeded";
    await appendEvent(tx, "orderProgressed", { ...base, step: t.step, status, detail: t.detail, at: e.at });
  }
}
