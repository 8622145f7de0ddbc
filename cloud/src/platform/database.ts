/**
 * cloud.db: relational data (users, sessions, devices, commands) through Kysely on SQLite (WAL)
 * by default, or on PostgreSQL (postgres.ts) with the same migrations and queries.
 * Each domain declares its own tables and narrows the handle with `db.withTables<T>()`.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { BvError } from "@bitvelocity/common";
import SqliteDatabase from "better-sqlite3";
import { Kysely, type Migration, type MigrationProvider, Migrator, SqliteDialect, sql } from "kysely";
import { migrations } from "./migrations.js";

// biome-ignore lint/complexity/noBannedTypes: the base handle knows no tables; domains add theirs with withTables<T>().
export type Database = Kysely<{}>;

class InCodeMigrations implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

export async function openDatabase(dataDir: string, fileName = "cloud.db"): Promise<Database> {
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
  const db: Database = new Kysely({ dialect: new SqliteDialect({ database: native }) });
  return migrate(db, file);
}

/** Runs every migration not yet applied; on failure closes the handle and throws DB_MIGRATION_FAILED. */
export async function migrate(db: Database, where: string): Promise<Database> {
  const migrator = new Migrator({ db, provider: new InCodeMigrations() });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    await db.destroy();
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new BvError("DB_MIGRATION_FAILED", "fatal", `migration ${failed} failed on ${where}: ${(error as Error).message}`, {
      cause: error,
    });
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
