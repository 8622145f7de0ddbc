/**
 * Upgrading: a cloud.db made by 0.1.0 (every migration recorded in Kysely's one table, fixture
 * made by that release) opens under the module layout with nothing re-run and no row lost; a new
 * module's migrations apply beside it; the same runner on PostgreSQL records per module.
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Kysely, sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { cloudModules } from "./main.js";
import { type Database, openDatabase } from "./platform/database.js";
import { migrateModules, migrationTable } from "./platform/module-migrations.js";
import { openPostgres } from "./platform/postgres.js";

const FIXTURE = new URL("./platform/fixtures/cloud-0.1.0.db", import.meta.url);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: the test reads any table.
async function rows(db: Kysely<any>, table: string): Promise<unknown[]> {
  return db.selectFrom(table).selectAll().execute();
}

const newModule = {
  name: "example",
  migrations: {
    "0001_notes": {
      // biome-ignore lint/suspicious/noExplicitAny: schema builder only.
      async up(db: Kysely<any>) {
        await db.schema
          .createTable("example_notes")
          .addColumn("id", "integer", (c) => c.primaryKey())
          .execute();
      },
    },
  },
};

describe("module migrations", () => {
  it("upgrades a 0.1.0 database without re-running or losing anything", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bv-upgrade-"));
    dirs.push(dir);
    copyFileSync(FIXTURE, join(dir, "cloud.db"));
    const db = await openDatabase(dir, [...cloudModules().modules, newModule]);
    try {
      expect(await rows(db, "users")).toHaveLength(2);
      expect(await rows(db, "sessions")).toHaveLength(1);
      expect(await rows(db, "devices")).toEqual([expect.objectContaining({ id: "env-0001", edge_id: "edge-1", name: "Env 1" })]);
      expect(await rows(db, "commands")).toEqual([expect.objectContaining({ id: "cmd-1", status: "succeeded" })]);
      expect(await rows(db, "edge_state")).toHaveLength(1);
      expect(await rows(db, "event_outbox")).toHaveLength(1);
      // Each module recorded its own migrations, adopted with their original timestamps.
      const fleet = (await rows(db, migrationTable("fleet"))) as { name: string }[];
      expect(fleet.map((r) => r.name)).toEqual(["0002_fleet", "0003_provisioned_devices", "0012_device_owners", "0014_edge_configs"]); // 0002 adopted, the rest new since 0.1.0
      // Devices the 0.1.0 registry knew keep their edge as owner (fleet/device-owners.ts).
      expect(await rows(db, "device_owners")).toEqual([expect.objectContaining({ device_id: "env-0001", edge_id: "edge-1" })]);
      const identity = (await rows(db, migrationTable("identity"))) as { name: string }[];
      expect(identity.map((r) => r.name).sort()).toEqual(["0001_identity", "0010_api_tokens_audit", "0013_users_disabled"]);
      expect(await rows(db, "example_notes")).toEqual([]);
    } finally {
      await db.destroy();
    }
    // Opening again changes nothing.
    const again = await openDatabase(dir, [...cloudModules().modules, newModule]);
    expect(await rows(again, "users")).toHaveLength(2);
    await again.destroy();
  });

  it("refuses a module name used twice", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bv-upgrade-"));
    dirs.push(dir);
    await expect(openDatabase(dir, [newModule, newModule])).rejects.toMatchObject({ code: "DB_MIGRATION_FAILED" });
  });

  it("records per module on PostgreSQL", async (ctx) => {
    const url = process.env.BV_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
    const schema = `bv_modmig_${process.pid}`;
    let db: Database;
    try {
      db = await openPostgres({ url, schema, poolSize: 2 }, [...cloudModules().modules, newModule]);
    } catch (err) {
      if (process.env.BV_REQUIRE_SERVICES === "1") throw err;
      ctx.skip(`PostgreSQL is not available: ${(err as Error).message}`);
      return;
    }
    try {
      const fleet = (await rows(db, migrationTable("fleet"))) as { name: string }[];
      expect(fleet.map((r) => r.name)).toEqual(["0002_fleet", "0003_provisioned_devices", "0012_device_owners", "0014_edge_configs"]); // 0002 adopted, the rest new since 0.1.0
      await migrateModules(db, [newModule], "again");
      expect(await rows(db, "example_notes")).toEqual([]);
    } finally {
      await sql.raw(`DROP SCHEMA ${schema} CASCADE`).execute(db);
      await db.destroy();
    }
  });
});
