/**
 * The order writer on SQLite and PostgreSQL: a conflict or a refused step in one order fails that
 * order's write only — its events, read-model rows and stock changes are gone — while the other
 * orders' writes of the same turn commit. On SQLite those writes share one transaction (group
 * commit, each in its own savepoint); on PostgreSQL each has its own.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { postgres } from "@bitvelocity/common/test-services";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../platform/database.js";
import { openPostgres } from "../platform/postgres.js";
import { ConcurrencyError, EventStore } from "./event-store.js";
import { Inventory } from "./inventory.js";
import { commerceMigrations } from "./migrations.js";
import { emptyOrder, type OrderState } from "./order.js";
import { OrderWriter } from "./order-writer.js";
import { Projections } from "./projections.js";
import type { CommerceTables } from "./tables.js";

const MODULES = [{ name: "commerce", migrations: commerceMigrations }];
const pgService = await postgres();

const engines: { name: string; skip: boolean; open: () => Promise<{ db: Database; cleanup: () => Promise<void> }> }[] = [
  {
    name: "sqlite",
    skip: false,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), "bv-commerce-writer-"));
      return { db: await openDatabase(dir, MODULES), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: "postgres",
    skip: !pgService.available,
    async open() {
      const url = pgService.available ? pgService.url : "";
      const schema = `bv_commerce_ow_${randomBytes(5).toString("hex")}`;
      return {
        db: await openPostgres({ url, schema, poolSize: 8 }, MODULES),
        async cleanup() {
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await client.end();
        },
      };
    },
  },
];

function place(writer: OrderWriter, id: string): Promise<OrderState> {
  return writer.write(
    emptyOrder(id),
    () => [
      {
        type: "OrderPlaced",
        orderId: id,
        siteId: "site-1",
        placedBy: "olga",
        lines: [
          {
            sku: "SKU-1",
            name: "Filter",
            kind: "consumable",
            deviceType: null,
            quantity: 1,
            unitPriceMinor: 100,
            taxRateBp: 0,
            lineTotalMinor: 100,
          },
        ],
        subtotalMinor: 100,
        taxMinor: 0,
        totalMinor: 100,
        currency: "EUR",
      },
    ],
    () => ({ status: "active", nextRunAt: Date.now() + 60_000 }),
  );
}

for (const engine of engines) {
  describe.skipIf(engine.skip)(`order writer on ${engine.name}${engine.skip ? " (skipped: PostgreSQL not available)" : ""}`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ db, cleanup } = await engine.open());
    });
    afterAll(async () => {
      await db?.destroy();
      await cleanup?.();
    });

    it("commits the other orders of a turn when one order's write conflicts or fails", async () => {
      const k = db.withTables<CommerceTables>();
      const store = new EventStore(k);
      const projections = new Projections(k, store);
      const inventory = new Inventory(k);
      let kicks = 0;
      const writer = new OrderWriter(k, store, projections, { kick: () => kicks++ });
      await inventory.setOnHand("SKU-1", "wh", 10);

      // Placed in one turn: one group.
      const placed = await Promise.all(["o-a", "o-b", "o-c", "o-d"].map((id) => place(writer, id)));
      expect(placed.map((s) => s.version)).toEqual([1, 1, 1, 1]);
      const [a, b, c, d] = placed as [OrderState, OrderState, OrderState, OrderState];
      const now = Date.now();
      const reserve = (s: OrderState, fail: boolean) =>
        writer.write(
          s,
          async (tx) => {
            const r = await inventory.reserve(tx, s.id, "wh", [{ sku: "SKU-1", quantity: 1 }], now + 60_000, now);
            if (!r.ok) throw new Error(r.reason);
            // A step that fails after it wrote: its reservation must roll back with it.
            if (fail) throw new Error("refused after reserving");
            return [{ type: "StockReserved", location: "wh", reservations: r.reservations }];
          },
          () => ({ status: "active", nextRunAt: now + 60_000 }),
          now,
        );
      // One turn: b reserves, a stale write on a (another runner's version) conflicts, c fails
      // after reserving, d reserves.
      const outcomes = await Promise.allSettled([
        reserve(b, false),
        reserve(emptyOrder("o-a"), false),
        reserve(c, true),
        reserve(d, false),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "rejected", "fulfilled"]);
      expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
      expect((outcomes[2] as PromiseRejectedResult).reason).toMatchObject({ message: "refused after reserving" });

      const versions = async (id: string) => (await store.load<{ type: string }>(id)).map((e) => e.data.type);
      expect(await versions("o-a")).toEqual(["OrderPlaced"]);
      expect(await versions("o-b")).toEqual(["OrderPlaced", "StockReserved"]);
      expect(await versions("o-c")).toEqual(["OrderPlaced"]);
      expect(await versions("o-d")).toEqual(["OrderPlaced", "StockReserved"]);
      // Only b's and d's reservations stand; the read model follows the committed events.
      expect(await inventory.level("SKU-1", "wh")).toMatchObject({ onHand: 10, reserved: 2 });
      expect((await projections.order("o-c")).version).toBe(1);
      expect((await projections.order("o-d")).version).toBe(2);
      expect(a.version).toBe(1);
      expect(kicks).toBeGreaterThan(0);
    });
  });
}
