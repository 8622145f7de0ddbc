/**
 * The order event store's contract on SQLite and PostgreSQL: append-only streams with versions,
 * optimistic concurrency (of two writers at one version exactly one wins, the other gets
 * CONFLICT and nothing of its write stays), and a reservation that cannot oversell.
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
import type { CommerceTables } from "./tables.js";

const MODULES = [{ name: "commerce", migrations: commerceMigrations }];
const pgService = await postgres();

const engines: { name: string; skip: boolean; open: () => Promise<{ db: Database; cleanup: () => Promise<void> }> }[] = [
  {
    name: "sqlite",
    skip: false,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), "bv-commerce-"));
      return { db: await openDatabase(dir, MODULES), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: "postgres",
    skip: !pgService.available,
    async open() {
      const url = pgService.available ? pgService.url : "";
      const schema = `bv_commerce_es_${randomBytes(5).toString("hex")}`;
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

for (const engine of engines) {
  describe.skipIf(engine.skip)(`commerce store on ${engine.name}${engine.skip ? " (skipped: PostgreSQL not available)" : ""}`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ db, cleanup } = await engine.open());
    });
    afterAll(async () => {
      await db?.destroy();
      await cleanup?.();
    });

    it("appends with versions; of concurrent writers at one version exactly one wins", async () => {
      const k = db.withTables<CommerceTables>();
      const store = new EventStore(k);
      await k.transaction().execute((tx) => store.append(tx, "s1", 0, [{ type: "A" }], 1));
      const outcomes = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          k.transaction().execute((tx) =>
            store.append(
              tx,
              "s1",
              1,
              [
                { type: "B", i },
                { type: "C", i },
              ],
              2,
            ),
          ),
        ),
      );
      const won = outcomes.filter((o) => o.status === "fulfilled");
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(7);
      for (const l of lost) expect(l.reason).toBeInstanceOf(ConcurrencyError);
      const events = await store.load<{ type: string; i?: number }>("s1");
      expect(events.map((e) => [e.version, e.type])).toEqual([
        [1, "A"],
        [2, "B"],
        [3, "C"],
      ]);
      expect(events[1]?.data.i).toBe(events[2]?.data.i);
    });

    it("reserves under concurrency without ever going negative", async () => {
      const k = db.withTables<CommerceTables>();
      const inventory = new Inventory(k);
      await inventory.setOnHand("SKU-1", "wh", 10);
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          k
            .transaction()
            .execute(async (tx) => {
              const r = await inventory.reserve(tx, `o${i}`, "wh", [{ sku: "SKU-1", quantity: 1 }], Date.now() + 60_000, Date.now());
              if (!r.ok) throw new Error(r.reason);
              return r;
            })
            .then(
              () => true,
              () => false,
            ),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(10);
      expect(await inventory.level("SKU-1", "wh")).toMatchObject({ onHand: 10, reserved: 10, available: 0 });
      await expect(inventory.setOnHand("SKU-1", "wh", 5)).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
      // Release one winning order twice (idempotent compensation), commit another.
      const released = results.indexOf(true);
      await k.transaction().execute((tx) => inventory.release(tx, `o${released}`, Date.now()));
      await k.transaction().execute((tx) => inventory.release(tx, `o${released}`, Date.now()));
      const winner = results.findIndex((ok, i) => ok && i > released);
      expect(await k.transaction().execute((tx) => inventory.commit(tx, `o${winner}`, Date.now()))).toBe(true);
      const level = await inventory.level("SKU-1", "wh");
      expect(level.onHand - level.reserved).toBeGreaterThanOrEqual(0);
      expect(level).toMatchObject({ onHand: 9, reserved: 8 });
    });
  });
}
