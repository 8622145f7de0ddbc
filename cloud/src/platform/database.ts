/**
 * cloud.db: relational data (users, sessions, devices, commands) through Kysely on SQLite (WAL)
 * by default, or on PostgreSQL (postgres.ts) with the same migrations and queries.
 * Each domain declares its own tables and narrows the handle with `db.withTables<T>()`.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { BvError } from "@bitvelocity/common";
import SqliteDatabase from "better-sqlite3";
import { Kysely, SqliteDialect, sql } from "kysely";
import { platformMigrations } from "./migrations.js";
import { type MigrationSet, migrateModules } from "./module-migrations.js";
import { cachingStatements } from "./statement-cache.js";

// biome-ignore lint/complexity/noBannedTypes: the base handle knows no tables; domains add theirs with withTables<T>().
export type Database = Kysely<{}>;

/** The platform's own tables (the event outbox); always applied first. */
export const PLATFORM_MIGRATIONS: MigrationSet = { name: "platform", migrations: platformMigrations };

/**
 * Opens (creating if needed) {dataDir}/cloud.db and applies the platform's migrations and then
 * each given module's (main.ts passes its module list; a domain's tests pass their own module).
 */
export async function openDatabase(dataDir: string, modules: readonly MigrationSet[], fileName = "cloud.db"): Promise<Database> {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, fileName);
  let native: SqliteDatabase.Database;
  try {
    native = new SqliteDatabase(file);
    native.pragma("journal_mode = WAL");
    // NORMAL: in WAL mode a commit survives a crash of the process, not of the host. FULL here costs
    // an fsync per fleet update and tripled live latency (bench/RESULTS.md); the telemetry store,
    // whose commits the edges' outboxes are deleted on, runs FULL. Gap records and dead letters
    // acknowledged from here could be lost with the host's power: on PostgreSQL they are not.
    native.pragma("synchronous = NORMAL");
    native.pragma("foreign_keys = ON");
    native.pragma("busy_timeout = 5000");
  } catch (err) {
    throw new BvError("DB_OPEN_FAILED", "fatal", `cannot open ${file}: ${(err as Error).message}`, { cause: err });
  }
  const db: Database = new Kysely({ dialect: new SqliteDialect({ database: cachingStatements(native) }) });
  return migrate(db, modules, file);
}

/** Applies the platform's and the modules' migrations; on failure closes the handle and throws DB_MIGRATION_FAILED. */
export async function migrate(db: Database, modules: readonly MigrationSet[], where: string): Promise<Database> {
  try {
    await migrateModules(db, [PLATFORM_MIGRATIONS, ...modules.filter((m) => m.name !== PLATFORM_MIGRATIONS.name)], where);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return db;
}

export async function checkDatabase(db: Database): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
