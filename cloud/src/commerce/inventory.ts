/**
 * Stock per SKU and location, and reservations against it. The one rule: stock never goes
 * negative, under any concurrency. Every change is a single conditional UPDATE that only
 * succeeds when the stock is there (`on_hand - reserved >= quantity`), so two checkouts racing for
 * the last unit cannot both win on either engine (SQLite serialises writers; PostgreSQL's row
 * lock makes the second UPDATE re-check the condition on the committed row). The table's CHECK
 * constraint is the second guard. Callers pass the transaction the saga's event is written in, so
 * a reservation exists if and only if its StockReserved event does.
 */
import { randomUUID } from "node:crypto";
import type { StockLevel } from "@bitvelocity/api";
import { BvError } from "@bitvelocity/common";
import { type Kysely, sql, type Transaction } from "kysely";
import { ValidationError } from "../platform/errors.js";
import { Precompiled, PrecompiledInsert } from "../platform/precompiled.js";
import type { CommerceTables } from "./tables.js";

type Db = Kysely<CommerceTables> | Transaction<CommerceTables>;

export interface ReservationLine {
  readonly sku: string;
  readonly quantity: number;
}

export interface Reservation {
  readonly id: string;
  readonly sku: string;
  readonly quantity: number;
}

export type ReserveResult = { ok: true; reservations: Reservation[] } | { ok: false; reason: string; sku: string };

/** An adjustment that would leave fewer units on hand than are reserved (or fewer than none). */
export class StockWouldGoNegative extends BvError {
  constructor(
    readonly level: StockLevel,
    readonly delta: number,
  ) {
    super(
      "STOCK_WOULD_GO_NEGATIVE",
      "protocol",
      `cannot remove ${-delta} unit(s) of ${level.sku} at ${level.location}: ${level.onHand} on hand, ${level.reserved} reserved, ` +
        `${level.available} can be removed`,
    );
  }
}

/** The stock changes every checkout makes, written out: see platform/precompiled.ts. */
const RESERVE = new Precompiled(
  'update "commerce_stock" set "reserved" = "reserved" + ?, "updated_at" = ? where "sku" = ? and "location" = ? and "on_hand" - "reserved" >= ?',
);
const HOLD = new PrecompiledInsert(
  'insert into "commerce_reservations" ("id", "order_id", "sku", "location", "quantity", "state", "expires_at", "created_at")',
  8,
);
const RESERVATIONS_OF = new Precompiled<CommerceTables["commerce_reservations"]>(
  'select "id", "order_id", "sku", "location", "quantity", "state", "expires_at", "created_at" from "commerce_reservations" where "order_id" = ?',
);
const TAKE_HELD = new Precompiled('update "commerce_reservations" set "state" = \'committed\' where "id" = ? and "state" = \'held\'');
const SELL = new Precompiled(
  'update "commerce_stock" set "on_hand" = "on_hand" - ?, "reserved" = "reserved" - ?, "updated_at" = ? where "sku" = ? and "location" = ?',
);

export class Inventory {
  constructor(private readonly db: Kysely<CommerceTables>) {}

  async levels(): Promise<StockLevel[]> {
    const rows = await this.db.selectFrom("commerce_stock").selectAll().orderBy("sku").orderBy("location").execute();
    return rows.map((r) => ({
      sku: r.sku,
      location: r.location,
      onHand: r.on_hand,
      reserved: r.reserved,
      available: r.on_hand - r.reserved,
    }));
  }

  async level(sku: string, location: string, db: Db = this.db): Promise<StockLevel> {
    const r = await db.selectFrom("commerce_stock").selectAll().where("sku", "=", sku).where("location", "=", location).executeTakeFirst();
    return r
      ? { sku, location, onHand: r.on_hand, reserved: r.reserved, available: r.on_hand - r.reserved }
      : { sku, location, onHand: 0, reserved: 0, available: 0 };
  }

  /** Available units per SKU at one location. */
  async availableAt(location: string): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom("commerce_stock")
      .select(["sku", "on_hand", "reserved"])
      .where("location", "=", location)
      .execute();
    return new Map(rows.map((r) => [r.sku, r.on_hand - r.reserved]));
  }

  /** Sets the on-hand count; refused below what is reserved there (that stock is promised). */
  async setOnHand(sku: string, location: string, onHand: number, now = Date.now()): Promise<StockLevel> {
    return this.db.transaction().execute(async (tx) => {
      await tx
        .insertInto("commerce_stock")
        .values({ sku, location, on_hand: 0, reserved: 0, updated_at: now })
        .onConflict((oc) => oc.columns(["sku", "location"]).doNothing())
        .execute();
      // Conditional, like every stock change: a reservation committed meanwhile is never overwritten.
      const updated = await tx
        .updateTable("commerce_stock")
        .set({ on_hand: onHand, updated_at: now })
        .where("sku", "=", sku)
        .where("location", "=", location)
        .where("reserved", "<=", onHand)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) {
        const current = await this.level(sku, location, tx);
        throw new ValidationError("stock below what is reserved", [
          { path: "onHand", message: `${current.reserved} units are reserved at ${location}; on hand cannot go below that` },
        ]);
      }
      return this.level(sku, location, tx);
    });
  }

  /**
   * Adds `delta` units (negative: removes them) in one conditional UPDATE, like every stock change:
   * it only applies while `on_hand + delta >= reserved`, so it can neither make stock negative nor
   * take units a checkout holds, however many adjustments and checkouts race. Refused with
   * StockWouldGoNegative (nothing changed).
   */
  async adjust(sku: string, location: string, delta: number, now = Date.now()): Promise<StockLevel> {
    return this.db.transaction().execute(async (tx) => {
      await tx
        .insertInto("commerce_stock")
        .values({ sku, location, on_hand: 0, reserved: 0, updated_at: now })
        .onConflict((oc) => oc.columns(["sku", "location"]).doNothing())
        .execute();
      const updated = await tx
        .updateTable("commerce_stock")
        .set({ on_hand: sql`on_hand + ${delta}`, updated_at: now })
        .where("sku", "=", sku)
        .where("location", "=", location)
        .where(sql<boolean>`on_hand + ${delta} >= reserved`)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) {
        // Thrown inside the transaction: the row inserted above (if any) rolls back with it.
        throw new StockWouldGoNegative(await this.level(sku, location, tx), delta);
      }
      return this.level(sku, location, tx);
    });
  }

  /** Every location that holds (or held) stock of any SKU. */
  async locations(): Promise<string[]> {
    const rows = await this.db.selectFrom("commerce_stock").select("location").distinct().orderBy("location").execute();
    return rows.map((r) => r.location);
  }

  /** Adds stock if the SKU has none at the location yet (seeding). */
  async seed(sku: string, location: string, onHand: number, now = Date.now()): Promise<void> {
    await this.db
      .insertInto("commerce_stock")
      .values({ sku, location, on_hand: onHand, reserved: 0, updated_at: now })
      .onConflict((oc) => oc.columns(["sku", "location"]).doNothing())
      .execute();
  }

  /**
   * Reserves every line or none (the caller's transaction rolls back a partial reservation: it
   * must throw or not commit when `ok` is false — see `ReserveRefused`).
   */
  async reserve(
    tx: Transaction<CommerceTables>,
    orderId: string,
    location: string,
    lines: readonly ReservationLine[],
    expiresAt: number,
    now: number,
  ): Promise<ReserveResult> {
    const reservations: Reservation[] = [];
    // Lines in SKU order: two orders locking the same rows lock them in the same order (no deadlock on PostgreSQL).
    const sorted = [...lines].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
    for (const line of sorted) {
      const updated = await RESERVE.changes(tx, [line.quantity, now, line.sku, location, line.quantity]);
      if (updated !== 1) {
        const level = await this.level(line.sku, location, tx);
        return {
          ok: false,
          sku: line.sku,
          reason: `out of stock: ${line.sku} has ${level.available} available at ${location}, ${line.quantity} asked`,
        };
      }
      const id = `res_${randomUUID()}`;
      await HOLD.insert(tx, [[id, orderId, line.sku, location, line.quantity, "held", expiresAt, now]]);
      reservations.push({ id, sku: line.sku, quantity: line.quantity });
    }
    return { ok: true, reservations };
  }

  /** Pushes the expiry of an order's held reservations (the saga is still working on it). */
  async extend(orderId: string, expiresAt: number): Promise<void> {
    await this.db
      .updateTable("commerce_reservations")
      .set({ expires_at: expiresAt })
      .where("order_id", "=", orderId)
      .where("state", "=", "held")
      .execute();
  }

  /** Turns the order's held reservations into sold stock; false (and nothing changed) if any is no longer held. */
  async commit(tx: Transaction<CommerceTables>, orderId: string, now: number): Promise<boolean> {
    const held = await RESERVATIONS_OF.rows(tx, [orderId]);
    if (held.length === 0 || held.some((r) => r.state !== "held")) return false;
    for (const r of held) {
      if ((await TAKE_HELD.changes(tx, [r.id])) !== 1) return false;
      await SELL.changes(tx, [r.quantity, r.quantity, now, r.sku, r.location]);
    }
    return true;
  }

  /** Compensation: releases held reservations and puts committed stock back. Idempotent. Returns units moved. */
  async release(tx: Transaction<CommerceTables>, orderId: string, now: number): Promise<number> {
    const rows = await tx.selectFrom("commerce_reservations").selectAll().where("order_id", "=", orderId).execute();
    let units = 0;
    for (const r of rows) {
      if (r.state !== "held" && r.state !== "committed") continue;
      const moved = await tx
        .updateTable("commerce_reservations")
        .set({ state: r.state === "held" ? "released" : "returned" })
        .where("id", "=", r.id)
        .where("state", "=", r.state)
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) continue;
      const change =
        r.state === "held" ? { reserved: sql<number>`reserved - ${r.quantity}` } : { on_hand: sql<number>`on_hand + ${r.quantity}` };
      await tx
        .updateTable("commerce_stock")
        .set({ ...change, updated_at: now })
        .where("sku", "=", r.sku)
        .where("location", "=", r.location)
        .execute();
      units += r.quantity;
    }
    return units;
  }

  /** Orders with a held reservation that expired (the sweeper releases them through their saga). */
  async expiredOrders(now: number, limit = 100): Promise<string[]> {
    const rows = await this.db
      .selectFrom("commerce_reservations")
      .select("order_id")
      .distinct()
      .where("state", "=", "held")
      .where("expires_at", "<", now)
      .limit(limit)
      .execute();
    return rows.map((r) => r.order_id);
  }
}
