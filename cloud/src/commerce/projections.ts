/**
 * CQRS read models of the order streams: the order list (per site), each order's timeline, and
 * sales per day. They are written in the same transaction as the events they come from (so the
 * API reads what was committed), from event data only (event times, never the clock), so
 * `rebuild` — which empties them and replays every stream — gives the same rows as live updates.
 */
import type { Order, OrderStatus, SalesDay, TimelineEntry } from "@bitvelocity/api";
import { type Kysely, sql, type Transaction } from "kysely";
import { NotFoundError } from "../platform/errors.js";
import { PrecompiledInsert } from "../platform/precompiled.js";
import type { EventStore, StoredEvent } from "./event-store.js";
import { applyEvent, emptyOrder, fold, type OrderEvent, type OrderState, timelineOf } from "./order.js";
import type { CommerceTables } from "./tables.js";

/** One status an order took, with the event version and time that gave it. */
export interface OrderStatusChange {
  readonly orderId: string;
  readonly status: OrderStatus;
  /** Why it was cancelled or waits (payments unavailable); null otherwise. */
  readonly reason: string | null;
  readonly version: number;
  readonly at: number;
}

type Db = Kysely<CommerceTables> | Transaction<CommerceTables>;
type ViewRow = CommerceTables["commerce_order_view"];

export const PROJECTION_TABLES = ["commerce_order_view", "commerce_order_timeline", "commerce_sales_daily"] as const;

function orderOf(r: ViewRow): Order {
  return {
    id: r.order_id,
    siteId: r.site_id,
    placedBy: r.placed_by,
    status: r.status as Order["status"],
    subtotalMinor: Number(r.subtotal_minor),
    taxMinor: Number(r.tax_minor),
    totalMinor: Number(r.total_minor),
    currency: r.currency,
    lines: JSON.parse(r.lines_json) as Order["lines"],
    reason: r.reason,
    placedAt: Number(r.placed_at),
    updatedAt: Number(r.updated_at),
    version: r.version,
    shipping: { status: r.label_status as Order["shipping"]["status"], trackingNumber: r.tracking_number },
  };
}

/** The two writes every order event makes, written out: see platform/precompiled.ts. */
const VIEW_COLUMNS = [
  "order_id",
  "site_id",
  "placed_by",
  "status",
  "subtotal_minor",
  "tax_minor",
  "total_minor",
  "currency",
  "lines_json",
  "reason",
  "placed_at",
  "updated_at",
  "version",
  "label_status",
  "tracking_number",
] as const satisfies readonly (keyof ViewRow)[];
const VIEW_UPSERT = new PrecompiledInsert(
  `insert into "commerce_order_view" (${VIEW_COLUMNS.map((c) => `"${c}"`).join(", ")})`,
  VIEW_COLUMNS.length,
  ` on conflict ("order_id") do update set ${VIEW_COLUMNS.slice(1)
    .map((c) => `"${c}" = excluded."${c}"`)
    .join(", ")}`,
);
const TIMELINE_INSERT = new PrecompiledInsert(
  'insert into "commerce_order_timeline" ("order_id", "version", "type", "at", "step", "status", "detail")',
  7,
);

export class Projections {
  constructor(
    private readonly db: Kysely<CommerceTables>,
    private readonly events: EventStore,
  ) {}

  /** Applies newly appended events; `state` is the order folded through the last of them. */
  async apply(tx: Db, state: OrderState, added: readonly StoredEvent<OrderEvent>[]): Promise<void> {
    const placed = state.placed;
    if (!placed || added.length === 0) return;
    await VIEW_UPSERT.insert(tx, [
      [
        state.id,
        placed.siteId,
        placed.placedBy,
        state.status,
        placed.subtotalMinor,
        placed.taxMinor,
        placed.totalMinor,
        placed.currency,
        JSON.stringify(placed.lines),
        state.reason,
        state.placedAt,
        state.updatedAt,
        state.version,
        state.label.status,
        state.label.trackingNumber,
      ],
    ]);
    await TIMELINE_INSERT.insert(
      tx,
      added.map((e) => {
        const t = timelineOf(e.data);
        return [state.id, e.version, e.type, e.at, t.step, t.status, t.detail];
      }),
    );
    for (const e of added) {
      if (e.data.type !== "OrderConfirmed") continue;
      const day = new Date(e.at).toISOString().slice(0, 10);
      for (const line of placed.lines) {
        await tx
          .insertInto("commerce_sales_daily")
          .values({ day, currency: placed.currency, sku: line.sku, quantity: line.quantity, total_minor: line.lineTotalMinor })
          .onConflict((oc) =>
            oc.columns(["day", "currency", "sku"]).doUpdateSet({
              quantity: sql`commerce_sales_daily.quantity + ${line.quantity}`,
              total_minor: sql`commerce_sales_daily.total_minor + ${line.lineTotalMinor}`,
            }),
          )
          .execute();
      }
    }
  }

  /** Empties the read models and replays every stream; returns what it read. */
  async rebuild(): Promise<{ streams: number; events: number }> {
    const streams = await this.events.streams();
    let events = 0;
    await this.db.transaction().execute(async (tx) => {
      for (const t of PROJECTION_TABLES) await tx.deleteFrom(t).execute();
      for (const id of streams) {
        const stream = await this.events.load<OrderEvent>(id, tx);
        events += stream.length;
        await this.apply(tx, fold(id, stream), stream);
      }
    });
    return { streams: streams.length, events };
  }

  async orders(q: { siteId?: string | undefined; status?: string | undefined; limit: number }): Promise<Order[]> {
    let query = this.db.selectFrom("commerce_order_view").selectAll().orderBy("placed_at", "desc").orderBy("order_id").limit(q.limit);
    if (q.siteId) query = query.where("site_id", "=", q.siteId);
    if (q.status) query = query.where("status", "=", q.status);
    return (await query.execute()).map(orderOf);
  }

  async order(id: string): Promise<Order> {
    const row = await this.db.selectFrom("commerce_order_view").selectAll().where("order_id", "=", id).executeTakeFirst();
    if (!row) throw new NotFoundError("order", id);
    return orderOf(row);
  }

  async timeline(id: string): Promise<TimelineEntry[]> {
    const rows = await this.db.selectFrom("commerce_order_timeline").selectAll().where("order_id", "=", id).orderBy("version").execute();
    return rows.map((r) => ({ version: r.version, type: r.type, step: r.step, status: r.status, detail: r.detail, at: Number(r.at) }));
  }

  /** The timelines of many orders in one query (GraphQL's batched loading), in the order of `ids`. */
  async timelines(ids: readonly string[]): Promise<TimelineEntry[][]> {
    const byOrder = new Map<string, TimelineEntry[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom("commerce_order_timeline")
      .selectAll()
      .where("order_id", "in", [...new Set(ids)])
      .orderBy("order_id")
      .orderBy("version")
      .execute();
    for (const r of rows) {
      byOrder
        .get(r.order_id)
        ?.push({ version: r.version, type: r.type, step: r.step, status: r.status, detail: r.detail, at: Number(r.at) });
    }
    return ids.map((id) => byOrder.get(id) ?? []);
  }

  /**
   * Each status the order has had, oldest first, folded from its event stream (the source of
   * truth, so no status is skipped however fast the saga ran). Throws NOT_FOUND for no such order.
   */
  async statusHistory(id: string): Promise<OrderStatusChange[]> {
    const stream = await this.events.load<OrderEvent>(id);
    if (stream.length === 0) throw new NotFoundError("order", id);
    const changes: OrderStatusChange[] = [];
    let state = emptyOrder(id);
    for (const e of stream) {
      const before = state.status;
      state = applyEvent(state, e.data, e.version, e.at);
      if (changes.length === 0 || state.status !== before) {
        changes.push({ orderId: id, status: state.status, reason: state.reason, version: e.version, at: e.at });
      }
    }
    return changes;
  }

  async sales(): Promise<SalesDay[]> {
    const rows = await this.db.selectFrom("commerce_sales_daily").selectAll().orderBy("day", "desc").orderBy("sku").execute();
    return rows.map((r) => ({ day: r.day, currency: r.currency, sku: r.sku, quantity: r.quantity, totalMinor: Number(r.total_minor) }));
  }
}
