/**
 * Relational data on PostgreSQL (DESIGN.md §5): the same Kysely migrations and repositories as
 * SQLite, through `pg`. bigint columns (ms timestamps) come back as numbers, as they do from
 * SQLite; every value we store is far below 2^53.
 */
import { BvError } from "@bitvelocity/common";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { type Database, migrate } from "./database.js";
import type { MigrationSet } from "./module-migrations.js";

const INT8_OID = 20;

export interface PostgresOptions {
  /** postgres://user@host:port/db */
  readonly url: string;
  /** Schema to create (if missing) and use as search_path; default `public`. */
  readonly schema?: string | undefined;
  readonly poolSize?: number;
}

/** Where a URL points, without its password (for logs and errors). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable url)";
  }
}

export async function openPostgres(options: PostgresOptions, modules: readonly MigrationSet[]): Promise<Database> {
  const schema = options.schema ?? "public";
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new BvError("DB_OPEN_FAILED", "fatal", `schema ${JSON.stringify(schema)} must be a lower-case SQL identifier`);
  }
  const where = `${redactUrl(options.url)} (schema ${schema})`;
  const types = {
    getTypeParser: (oid: number, format?: "text" | "binary") =>
      oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? "text"),
  };
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    types: types as unknown as pg.CustomTypesConfig,
    options: `-c search_path=${schema}`,
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on("error", () => undefined);
  try {
    const client = await pool.connect();
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new BvError("DB_OPEN_FAILED", "fatal", `cannot connect to PostgreSQL at ${where}: ${(err as Error).message}`, { cause: err });
  }
  const db: Database = new Kysely({ dialect: new PostgresDialect({ pool }) });
  return migrate(db, modules, where);
}
